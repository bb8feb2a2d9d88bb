"""Ask the real git CLI about worktrees and parse its answers (``worktree list --porcelain``,
``worktree prune --dry-run``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from gitrepo import git, run_git

ZERO_OID = "0" * 40


_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def c_unquote(text: str) -> str:
    """Undo git's quote_c_style (used for lock reasons in porcelain output)."""
    if not (len(text) >= 2 and text.startswith('"') and text.endswith('"')):
        return text
    raw = text[1:-1].encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte != 0x5C:  # backslash
            out.append(byte)
            i += 1
            continue
        nxt = chr(raw[i + 1])
        if nxt in _C_ESCAPES:
            out.append(_C_ESCAPES[nxt])
            i += 2
        else:
            out.append(int(raw[i + 1 : i + 4], 8))
            i += 4
    return out.decode("utf-8", "surrogateescape")


@dataclass
class PorcelainEntry:
    path: str
    head: str | None = None  # None: bare, or git printed the zero id
    branch: str | None = None
    detached: bool = False
    bare: bool = False
    locked: bool = False
    lock_reason: str | None = None
    prunable_reason: str | None = None
    extra: list[str] = field(default_factory=list)


def parse_worktree_porcelain(text: str) -> list[PorcelainEntry]:
    entries: list[PorcelainEntry] = []
    for block in text.split("\n\n"):
        if not block.strip("\n"):
            continue
        lines = block.strip("\n").split("\n")
        assert lines[0].startswith("worktree "), block
        entry = PorcelainEntry(path=lines[0][len("worktree ") :])
        for line in lines[1:]:
            key, _, value = line.partition(" ")
            if key == "HEAD":
                entry.head = None if value == ZERO_OID else value
            elif key == "branch":
                entry.branch = value
            elif key == "detached":
                entry.detached = True
            elif key == "bare":
                entry.bare = True
            elif key == "locked":
                entry.locked = True
                entry.lock_reason = c_unquote(value) if value else None
            elif key == "prunable":
                entry.prunable_reason = value
            else:
                entry.extra.append(line)
        entries.append(entry)
    return entries


def worktree_list(repo: str | os.PathLike, *extra: str) -> list[PorcelainEntry]:
    return parse_worktree_porcelain(git(repo, "worktree", "list", "--porcelain", *extra))


_REMOVING = re.compile(r"^Removing worktrees/(.*?): (.*)$")


def prune_dry_run(repo: str | os.PathLike, *extra: str) -> dict[str, str]:
    """{admin id: reason} that `git worktree prune` would remove (it reports on stderr)."""
    result = run_git(repo, "worktree", "prune", "--dry-run", *extra)
    assert result.returncode == 0, result.stderr
    found = {}
    for line in result.stderr.decode("utf-8", "surrogateescape").splitlines():
        match = _REMOVING.match(line)
        assert match, line
        found[match.group(1)] = match.group(2)
    return found


def common_dir(repo: str | os.PathLike) -> Path:
    out = git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir").strip()
    return Path(out)
