#!/usr/bin/env python3
"""The pure-Python floor: what ``floor.c`` does, with ``os.scandir`` and one ``os.read`` per file.

    python benchmarks/pyfloor.py host ROOT...   |   python benchmarks/pyfloor.py repo GIT_DIR

It reads the files gitward reads and parses nothing: the cost of the walk in Python, start-up
included, which no amount of parsing cleverness in gitward can get under.
"""

from __future__ import annotations

import os
import stat
import sys

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
counts = [0, 0, 0]  # repos, files, bytes
_CHUNK = 1 << 16  # as floor.c; packed-refs of a big repo in several reads


def read_file(path: str) -> None:
    try:
        fd = os.open(path, _FLAGS)
    except OSError:
        return
    try:
        while data := os.read(fd, _CHUNK):
            counts[2] += len(data)
        counts[1] += 1
    finally:
        os.close(fd)


def read_tree(path: str) -> None:
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            read_tree(entry.path)
        else:
            read_file(entry.path)


def read_repo(git_dir: str) -> None:
    counts[0] += 1
    for name in ("HEAD", "config", "packed-refs"):
        read_file(f"{git_dir}/{name}")
    read_tree(f"{git_dir}/refs")
    try:
        admins = [e.path for e in os.scandir(f"{git_dir}/worktrees") if not e.name.startswith(".")]
    except OSError:
        return
    for admin in admins:
        try:
            for entry in os.scandir(admin):
                if entry.is_file(follow_symlinks=False):
                    read_file(entry.path)
        except OSError:
            pass


def _lexists(path: str) -> bool:
    try:
        os.lstat(path)
    except OSError:
        return False
    return True


def is_git_dir(path: str) -> bool:
    try:
        os.lstat(f"{path}/HEAD")
        objects = os.stat(f"{path}/objects")
    except OSError:
        return False
    return stat.S_ISDIR(objects.st_mode) and _lexists(f"{path}/refs")


def walk(path: str, depth: int) -> None:
    dot_git = f"{path}/.git"
    try:
        st = os.lstat(dot_git)
    except OSError:
        st = None
    if st is not None:
        if stat.S_ISDIR(st.st_mode) and is_git_dir(dot_git):
            read_repo(dot_git)
            return
        if stat.S_ISREG(st.st_mode):
            with open(dot_git, "rb") as handle:
                text = handle.read(4096).decode(errors="replace")
            if text.startswith("gitdir: "):
                target = text[8:].strip()
                if not _lexists(f"{target}/commondir") and is_git_dir(target):
                    read_repo(target)
                return
    elif is_git_dir(path):
        if not _lexists(f"{path}/commondir"):
            read_repo(path)
        return
    if depth >= 8:
        return
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") or entry.name == "objects":
            continue
        if entry.is_dir():
            walk(entry.path, depth + 1)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("host", "repo"):
        print("usage: pyfloor.py host ROOT... | pyfloor.py repo GIT_DIR", file=sys.stderr)
        return 2
    for path in argv[1:]:
        if argv[0] == "repo":
            read_repo(path)
        else:
            walk(os.path.abspath(path), 0)
    print(f"{counts[0]} repos {counts[1]} files {counts[2]} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
