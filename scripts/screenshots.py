#!/usr/bin/env python3
"""Render the README screenshots from the demo host: SVG (Textual) and PNG (rsvg-convert).

    python scripts/screenshots.py [--out screenshots] [--size 140x40]

The demo host is built in a temporary directory with a fixed clock, and HOME points at that
directory, so paths show as ``~/demo/host/...`` and every age is the same on every run.
PNG files need ``rsvg-convert`` (Debian/Ubuntu: ``apt-get install librsvg2-bin``); without it
only the SVG files are written.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tui.demo import FIXED_EPOCH, build_demo  # noqa: E402

NOW = FIXED_EPOCH + 7 * 86400  # a week after the demo's history: ages read "a week ago"

async def _open(pilot, name: str, tab: str | None = None, *keys: str) -> None:
    from tui.app.testing import settle

    app = pilot.app
    assert app.run_command(f"repo {name}"), name
    await settle(pilot)
    if tab:
        assert app.run_command(tab), tab
    await settle(pilot)
    if keys:
        await pilot.press(*keys)
        await settle(pilot)


SHOTS: list[tuple] = [  # (name, title, steps[, size]): the size when not the --size
    ("main", "the host: every repository, worst problem first in colour and symbol", lambda p: _sort_by_worst(p)),
    ("repo-overview", "a repository with stale loose refs: banner, facts, problems", lambda p: _open(p, "gerrit/project-alpha.git")),
    ("repo-worktrees", "a git-sync root: current, locked, prunable and missing worktrees", lambda p: _open(p, "sync/webapp", "worktrees", "down", "down")),
    ("repo-refs", "refs by source with shadow verdicts, namespaces on the left", lambda p: _open(p, "gerrit/project-alpha.git", "refs")),
    ("repo-locks", "stale lock files", lambda p: _open(p, "gitlab/locked-repo.git", "locks")),
    ("repo-shadows-preview", "resolving stale loose refs: the preview, Cancel focused", lambda p: _open(p, "gerrit/project-alpha.git", "refs", "s", "P")),
    ("compare", "a migration rehearsal: the replica compared with its source, worst first", lambda p: _compare(p)),
    ("compare-refs", "one repository side by side: every class, both values and their storage", lambda p: _compare(p, "project-epsilon.git")),
    # Last: it points the demo mirror at a slow upstream (the sync is cancelled when the app ends).
    ("sync-confirm", "S asks first: the git command, the remote and what it deletes; Cancel focused", lambda p: _sync_confirm(p)),
    ("sync-log", "a sync in progress: the Log pane streams git's output as it comes", lambda p: _sync_in_progress(p)),
    ("host-80x24", "an 80x24 SSH window: the host list, faults first", lambda p: _sort_by_worst(p), (80, 24)),
    ("shadows-80x24", "the shadows preview at 80x24: buttons pinned, the body scrolls", lambda p: _open(p, "gerrit/project-alpha.git", "refs", "s", "P"), (80, 24)),
    ("refs-80x24", "the Refs tab at 80 columns: name, source and verdict first", lambda p: _open(p, "gerrit/project-alpha.git", "refs"), (80, 24)),
]


# The demo mirror's upload-pack for the sync-log shot: says what it is, then holds the fetch
# open (until the app ends and the sync is cancelled), so the shot is the same on every run.
SLOW_UPLOAD_PACK = """#!/bin/sh
echo "demo upstream: this upload-pack answers slowly, so that the screenshot shows a sync in progress" >&2
echo "demo upstream: a real fetch prints its progress here (Enumerating, Counting, Receiving objects)" >&2
echo "demo upstream: waiting…" >&2
while :; do sleep 1; done
"""


async def _sync_in_progress(pilot) -> None:
    from tui.app.testing import settle
    from tui.app.widgets.log_view import SyncLog

    app = pilot.app
    root = app.host.roots[0]
    mirror = os.path.join(root, "mirrors", "upstream-lib.git")
    wrapper = os.path.join(os.path.dirname(root), "slow-upload-pack.sh")
    with open(wrapper, "w", encoding="utf-8") as handle:
        handle.write(SLOW_UPLOAD_PACK)
    os.chmod(wrapper, 0o755)
    subprocess.run(["git", "-C", mirror, "config", "remote.origin.uploadpack", wrapper], check=True)
    await _sync_confirm(pilot)
    await pilot.click("#choice-sync")
    await settle(pilot)
    log = app.screen.query_one(SyncLog)
    shown = await app.syncs.wait_for(lambda: any("waiting…" in text for text in log.text_lines()), 20)
    assert shown, "the slow upstream did not answer"
    await settle(pilot)


async def _sync_confirm(pilot) -> None:
    from tui.app.testing import settle

    await _open(pilot, "mirrors/upstream-lib.git")
    await pilot.press("S")
    await settle(pilot)  # the preflight worker, then the dialog


async def _compare(pilot, repo: str | None = None) -> None:
    from tui.app.testing import settle

    app = pilot.app
    demo = os.path.dirname(app.host.roots[0])
    app.open_compare(os.path.join(demo, "compare", "source"), os.path.join(demo, "compare", "replica"))
    await settle(pilot)
    if repo is not None:
        table = app.screen.table
        table.move_cursor([r.name for r in table.rows].index(repo))
        await pilot.press("enter")
        await settle(pilot)


async def _sort_by_worst(pilot) -> None:
    from tui.app.testing import settle

    pilot.app.host_screen.sort_by("worst")
    await settle(pilot)


async def render(root: str, out: Path, size: tuple[int, int]) -> list[tuple[Path, str]]:
    from tui.app.app import create_app
    from tui.app.testing import settle, wait_for_scan

    written = []
    for name, title, steps, *own_size in SHOTS:
        app = create_app([root], jobs=1, config=None, now=NOW)
        async with app.run_test(size=own_size[0] if own_size else size) as pilot:
            await wait_for_scan(pilot)
            await steps(pilot)
            await settle(pilot)
            path = out / f"{name}.svg"
            svg = app.export_screenshot(title=f"gitward · {name}")
            path.write_text(svg, encoding="utf-8")
            written.append((path, title))
    return written


def to_png(svg: Path) -> Path | None:
    converter = shutil.which("rsvg-convert")
    if converter is None:
        return None
    text = svg.read_text(encoding="utf-8")
    # Keep runs of spaces: without this, librsvg trims the padding that aligns table columns.
    text = re.sub(r"<svg ", '<svg xml:space="preserve" ', text, count=1)
    # librsvg ignores textLength, so every glyph must come from one monospaced font; Fira Code
    # (the SVG's web font) lacks some symbols gitward uses (✖), DejaVu Sans Mono has them all.
    text = text.replace("font-family: Fira Code, monospace", "font-family: DejaVu Sans Mono, monospace")
    # Rich lays cells out 12.2 px wide (0.61 em at 20 px); DejaVu Sans Mono advances 0.602 em.
    # At 20 px a long run of text drifts a cell short of what is placed after it (a dialog's
    # right border); at 20.26 px its glyphs are exactly one cell wide.
    text = text.replace("font-size: 20px;", "font-size: 20.26px;", 1)
    png = svg.with_suffix(".png")
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False, encoding="utf-8") as handle:
        handle.write(text)
        tmp = handle.name
    try:
        subprocess.run([converter, "--zoom", "1", "-o", str(png), tmp], check=True)
    finally:
        os.unlink(tmp)
    return png


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO_ROOT / "screenshots"))
    parser.add_argument("--size", default="140x40", help="terminal size, COLUMNSxLINES")
    args = parser.parse_args()
    columns, lines = (int(n) for n in args.size.split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gitward-shots-") as tmp:
        home = os.path.realpath(tmp)
        os.environ["HOME"] = home  # paths show as ~/demo/host/...
        root = build_demo(os.path.join(home, "demo"), now=NOW)
        svgs = asyncio.run(render(root, out, (columns, lines)))
    for svg, title in svgs:
        png = to_png(svg)
        print(f"{svg.name:<22} {title}" + ("" if png else "  (no rsvg-convert: PNG skipped)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
