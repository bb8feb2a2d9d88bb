"""Handing something to the world outside the console: ``y`` copies, ``!`` opens a shell.

``y`` copies through OSC 52 (Textual's ``App.copy_to_clipboard``): the terminal that shows
the console puts the text on the operator's own clipboard, so it works over SSH and in tmux
(with ``set -g set-clipboard on``). What is copied is always real: the path on disk, a ref
name, a command with the repository's path in it (never the placeholder REPO).

``!`` suspends the console, runs ``$SHELL`` (default /bin/sh) in the directory, and resumes
when the shell exits, as k9s and lazygit do. The shell is the operator's own: gitward adds
``GITWARD_REPO`` to its environment and nothing else.
"""

from __future__ import annotations

import os
import subprocess

from textual.app import App, SuspendNotSupported

from tui.app.text import clean, display_path

__all__ = ["copy", "open_shell"]


def copy(app: App, text: str | None, what: str) -> bool:
    """Copy ``text`` (``what`` names it in the notification); False when there is nothing."""
    if not text:
        app.notify(f"nothing to copy: no {what} here", title="copy", severity="warning", timeout=3, markup=False)
        return False
    app.copy_to_clipboard(text)
    shown = clean(text)
    if len(shown) > 60:
        shown = shown[:28] + "…" + shown[-28:]
    app.notify(f"copied {what}: {shown}", title="copy", timeout=3, markup=False)
    return True


def open_shell(app: App, directory: str, repo: str) -> int | None:
    """``$SHELL`` in ``directory`` with the console suspended; the shell's exit status, or
    None when it could not run (the notification says why)."""
    if not os.path.isdir(directory):
        app.notify(f"{display_path(directory)} is not a directory here", title="shell", severity="error", markup=False)
        return None
    shell = os.environ.get("SHELL") or "/bin/sh"
    env = dict(os.environ, GITWARD_REPO=repo)
    try:
        with app.suspend():
            print(f"gitward: {shell} in {directory}; exit the shell to return to the console", flush=True)
            status = subprocess.call([shell], cwd=directory, env=env)
    except SuspendNotSupported:
        app.notify(f"this terminal cannot hand over to a shell; run: cd {directory}", title="shell", severity="warning", markup=False)
        return None
    except OSError as exc:
        app.notify(f"{shell}: {exc.strerror or exc}", title="shell", severity="error", markup=False)
        return None
    return status
