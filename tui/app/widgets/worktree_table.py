"""Worktrees and lock files of one repository, as tables with a detail line."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from tui.app.text import clean, display_path, duration, short
from tui.app.widgets.vtable import Column, Palette, VirtualTable
from tui.core.model import LockFile, Worktree

WORKTREE_COLUMNS = [
    Column("marker", "", width=1, min_width=1, sortable=False),
    Column("id", "id", sortable=False, min_width=6, max_width=16, overflow="middle"),
    Column("path", "path", flex=True, min_width=20, sortable=False, overflow="middle"),
    Column("head", "HEAD", width=12, sortable=False, give_way=1),
    Column("branch", "branch", sortable=False, min_width=8),
    Column("locked", "locked", sortable=False, min_width=6, max_width=24),
    Column("prunable", "prunable", sortable=False, min_width=8, max_width=24),
    Column("notes", "notes", sortable=False, min_width=5, max_width=24),
]


def worktree_cells(worktree: Worktree, palette: Palette) -> list[Text]:
    if worktree.current:
        marker = Text("▶", style=palette.ok)
    elif worktree.missing:
        marker = Text("✖", style=palette.error)
    else:
        marker = Text(" ")
    ident = Text("(main)" if worktree.main else clean(worktree.id), style=palette.dim if worktree.main else palette.bold)
    path = Text(display_path(worktree.path) or "(unknown)", style=palette.error if worktree.missing else "")
    if worktree.branch:
        branch = Text(clean(worktree.branch.removeprefix("refs/heads/")))
    elif worktree.bare:
        branch = Text("(bare)", style=palette.dim)
    else:
        branch = Text("(detached)", style=palette.dim)
    if worktree.locked:
        locked = Text("yes" + (f": {clean(worktree.lock_reason)}" if worktree.lock_reason else ""), style=palette.info)
    else:
        locked = Text("no", style=palette.dim)
    if worktree.prunable:
        prunable = Text(f"▲ {clean(worktree.prunable_reason) or 'yes'}", style=palette.warning)
    else:
        prunable = Text("no", style=palette.dim)
    notes: list[str] = []
    if worktree.current:
        notes.append("current (served)")
    if worktree.missing:
        notes.append("directory missing")
    if not worktree.listed:
        notes.append("not listed by git")
    if worktree.problems and not notes:
        notes.append(f"{len(worktree.problems)} problem{'s' if len(worktree.problems) != 1 else ''}")
    note_style = palette.error if worktree.missing and not worktree.locked else (palette.ok if worktree.current else "")
    return [
        marker,
        ident,
        path,
        Text(short(worktree.head), style=palette.accent if worktree.head else palette.dim),
        branch,
        locked,
        prunable,
        Text(", ".join(notes), style=note_style),
    ]


WORKTREE_FILTER_FIELDS = ("id", "branch", "locked", "prunable", "head")
LOCK_FILTER_FIELDS = ("code", "state", "kind", "worktree")


def describe_worktree(worktree: Worktree) -> tuple[str, str, dict]:
    """What ``/`` sees: the path is the name (a regex matches it); id:, branch:, locked:, prunable:."""
    path = display_path(worktree.path)
    ident = "(main)" if worktree.main else worktree.id
    branch = (worktree.branch or "").removeprefix("refs/heads/")
    locked = ("yes " + (worktree.lock_reason or "")).strip() if worktree.locked else "no"
    prunable = ("yes " + (worktree.prunable_reason or "")).strip() if worktree.prunable else "no"
    haystack = f"{path} {ident} {branch} {worktree.lock_reason or ''} {worktree.prunable_reason or ''}"
    return path, haystack, {"id": ident, "branch": branch, "locked": locked, "prunable": prunable, "head": worktree.head or ""}


def describe_lock(lock: LockFile) -> tuple[str, str, dict]:
    """The lock file's path is the name; code:stale-lock (the problem it raises), state:, kind:."""
    state = "stale" if lock.stale else "fresh"
    fields = {"code": "stale-lock" if lock.stale else "", "state": state, "kind": lock.kind, "worktree": lock.worktree or ""}
    return lock.path, f"{lock.path} {state} {lock.kind} {lock.worktree or ''}", fields


class WorktreeTable(VirtualTable):
    # Write actions run on the screen (read-only hides them there, see mutations.py).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "screen.lock_worktree", "Lock", id="worktrees.lock", tooltip="Lock it (asks why); prune keeps it"),
        Binding("u", "screen.unlock_worktree", "Unlock", id="worktrees.unlock", tooltip="Remove this worktree's lock"),
        Binding("p", "screen.prune_worktrees", "Prune", id="worktrees.prune", tooltip="Prune prunable worktrees (confirm)"),
        Binding("R", "screen.repair_worktrees", "Repair", id="worktrees.repair", tooltip="Repair moved worktrees (preview)"),
    ]

    def __init__(self, *, rows: list[Worktree] | None = None, id: str | None = None) -> None:
        super().__init__(
            WORKTREE_COLUMNS,
            worktree_cells,
            empty_text="no worktrees",
            describe=describe_worktree,
            filter_fields=WORKTREE_FILTER_FIELDS,
            pin=2,  # the marker and the id stay when scrolling right
            id=id,
        )
        self._initial = rows or []

    def on_mount(self) -> None:
        self.set_rows(self._initial, measure=True)


LOCK_COLUMNS = [
    Column("state", "state", width=8, sortable=False),
    Column("path", "file", flex=True, grow=False, min_width=16, sortable=False, overflow="middle"),
    Column("kind", "kind", sortable=False, min_width=4),
    Column("age", "age", sortable=False, min_width=3),
    Column("grace", "grace period", sortable=False, min_width=5),
    Column("worktree", "worktree", sortable=False, min_width=8),
]


def lock_cells(lock: LockFile, palette: Palette) -> list[Text]:
    state = Text("✖ stale", style=palette.error) if lock.stale else Text("● fresh", style=palette.info)
    return [
        state,
        Text(clean(lock.path), style=palette.bold if lock.stale else ""),
        Text(clean(lock.kind)),
        Text(duration(lock.age_seconds)),
        Text(duration(lock.grace_seconds), style=palette.dim),
        Text(clean(lock.worktree) if lock.worktree else "-", style="" if lock.worktree else palette.dim),
    ]


class LockTable(VirtualTable):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "screen.clear_lock", "Clear lock", id="locks.clear", tooltip="Remove this stale lock (confirm)"),
    ]

    def __init__(self, *, rows: list[LockFile] | None = None, id: str | None = None) -> None:
        super().__init__(
            LOCK_COLUMNS,
            lock_cells,
            empty_text="no lock or leftover files: nothing holds this repository",
            describe=describe_lock,
            filter_fields=LOCK_FILTER_FIELDS,
            pin=2,  # the state and the file stay when scrolling right
            id=id,
        )
        self._initial = rows or []

    def on_mount(self) -> None:
        self.set_rows(self._initial, measure=True)


def worktree_detail(worktree: Worktree | None, shorten: Callable[[str], str]) -> list:
    """Content parts describing one worktree in full (reasons are long)."""
    if worktree is None:
        return [("no worktree selected", "$text-muted")]
    parts: list = [("worktree ", "bold"), ("(main)" if worktree.main else clean(worktree.id), "bold $text-accent"), "  ", display_path(worktree.path)]
    if worktree.head:
        parts += ["\nHEAD ", worktree.head]
    if worktree.locked:
        parts += ["\n", ("locked", "bold $text-primary"), f": {clean(worktree.lock_reason) or '(no reason given)'}"]
    if worktree.prunable:
        parts += ["\n", ("prunable", "bold $text-warning"), f": {clean(worktree.prunable_reason)}"]
    for problem in worktree.problems:
        parts += ["\n", (f"{problem.severity.symbol} {clean(problem.code)}", "bold"), "  ", shorten(problem.message)]
    return parts
