"""Turning untrusted values into safe, short, human text for the console.

No Textual import here: these are plain functions (tested without an app). Everything that
comes from disk (ref names, paths, lock reasons, problem messages that quote them) goes
through :func:`clean` and ends up in a ``rich.text.Text`` built with the ``Text(...)``
constructor, which never parses markup.
"""

from __future__ import annotations

import os

from tui.core.redact import sanitize_terminal
from tui.core.units import plural, short, size  # noqa: F401  (one helper for the console and the CLI: "691 B", "1 ref")

ELLIPSIS = "…"


def clean(text: str | None, *, one_line: bool = True) -> str:
    """``text`` without escape sequences or control characters; newlines shown as ``⏎``."""
    if not text:
        return ""
    safe = sanitize_terminal(text)
    if one_line:
        safe = safe.replace("\r", "").replace("\n", "⏎").replace("\t", " ")
    return safe


def home_dir() -> str:
    home = os.path.expanduser("~")
    return "" if home in ("", "/", "~") else home.rstrip("/")


def display_path(path: str | None) -> str:
    """A path for display: the home directory shown as ``~`` (as shells do), cleaned."""
    if not path:
        return ""
    home = home_dir()
    if home and (path == home or path.startswith(home + "/")):
        path = "~" + path[len(home) :]
    return clean(path)


def shorten_paths(text: str) -> str:
    """Free text (a problem message) with home-directory paths shown as ``~/...``."""
    home = home_dir()
    if home:
        text = text.replace(home + "/", "~/")
    return clean(text, one_line=False)


def middle_truncate(text: str, width: int) -> str:
    """``text`` fitted into ``width`` cells by cutting its middle (paths keep both ends)."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width == 1:
        return ELLIPSIS
    head = (width - 1) // 2
    tail = width - 1 - head
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def age(seconds: float | None) -> str:
    """``3 days ago`` style; ``-`` when unknown."""
    if seconds is None:
        return "-"
    # deferred: humanize (and its gettext set-up) loads with the first row, not the first frame
    import humanize

    return humanize.naturaltime(max(0.0, seconds))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    # deferred: humanize (and its gettext set-up) loads with the first row, not the first frame
    import humanize

    return humanize.naturaldelta(max(0.0, seconds))
