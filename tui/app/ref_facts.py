"""What an operator needs to decide a shadowed ref by hand: both values' commit and who reaches them.

``--keep auto`` leaves ``diverged``, ``undecidable`` and ``broken-loose`` refs to a human. To
choose between the loose and the packed value, the shadows preview shows for each value its
commit subject, author and author date, and which other refs reach it (point at it or at a
descendant): a value no branch or tag reaches is usually the stale one.

No Textual import: the preview calls ``ref_facts`` from a thread worker. Objects are read with
pygit2 through ``libgit2.open_objects`` (the object database only: nothing from the repository
runs). Reachability is bounded (``REACH_REFS`` refs, ``REACH_SECONDS``), branches and tags first,
and says how many refs it checked, so 200,000 refs cost a second, not minutes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tui.app.commit_dates import OBJECT_STORE_LOCK
from tui.core import libgit2
from tui.core.refstore import RefSnapshot, load_snapshot

REACH_REFS = 5_000  # other refs checked for "reached by", at most
REACH_SECONDS = 1.5  # and for at most this long
REACH_SHOWN = 4  # names listed; the rest are counted


@dataclass(frozen=True, slots=True)
class ValueFacts:
    """One value of a shadowed ref (its loose or its packed value)."""

    oid: str | None  # None: no value (a broken loose file)
    kind: str | None = None  # commit, tag, tree, blob; None: not in the object store
    subject: str = ""
    author: str = ""
    author_time: float | None = None
    reached_by: list[str] = field(default_factory=list)  # other refs that point at it or at a descendant
    reached_more: int = 0  # further such refs not listed


@dataclass(frozen=True, slots=True)
class RefFacts:
    name: str
    loose: ValueFacts
    packed: ValueFacts
    checked: int = 0  # other refs checked for reachability
    total: int = 0  # other refs in the repository
    error: str | None = None  # why facts are missing (the object store could not be read)


def ref_facts(git_dir: str, name: str, loose_value: str | None, packed_value: str | None, *, snapshot: RefSnapshot | None = None) -> RefFacts:
    """Facts about both values of ``name``. ``snapshot``: the repository's refs, if already read."""
    if snapshot is None:
        snapshot = load_snapshot(git_dir)
    others = _other_refs(snapshot, name)
    with OBJECT_STORE_LOCK:
        try:
            repo = libgit2.open_objects(git_dir)
        except Exception as exc:  # libgit2 raises several types; all mean "cannot read"
            return RefFacts(name, ValueFacts(loose_value), ValueFacts(packed_value), 0, len(others), f"cannot open object store: {exc}")
        loose = _value_facts(repo, loose_value)
        packed = _value_facts(repo, packed_value)
        loose, packed, checked = _reach(repo, others, loose, packed)
    return RefFacts(name, loose, packed, checked, len(others))


def _other_refs(snapshot: RefSnapshot, name: str) -> list[tuple[str, str]]:
    """(name, value) of every other ref, branches and tags first (they say the most)."""
    names = set(snapshot.packed.values) | set(snapshot.loose.refs)
    names.discard(name)
    found = []
    for other in names:
        value = snapshot.resolve(other)
        if value:
            found.append((other, value))
    rank = {"refs/heads/": 0, "refs/tags/": 1}
    found.sort(key=lambda item: (next((r for p, r in rank.items() if item[0].startswith(p)), 2), item[0]))
    return found


def _value_facts(repo, oid: str | None) -> ValueFacts:
    if not oid:
        return ValueFacts(None)
    try:
        obj = libgit2.lookup(repo, oid)
    except Exception:
        obj = None
    if obj is None:
        return ValueFacts(oid)
    kind = obj.type_str
    try:
        commit = obj.peel(libgit2.load().Commit)
    except Exception:
        return ValueFacts(oid, kind)
    subject = (commit.message or "").strip().splitlines()[0] if (commit.message or "").strip() else ""
    author = commit.author
    return ValueFacts(oid, kind, subject, author.name, float(author.time))


def _reach(repo, others: list[tuple[str, str]], *values: ValueFacts) -> tuple:
    """Which of ``others`` reach each value; returns the values with ``reached_by`` and the count checked."""
    commit_of: dict[str, str | None] = {}
    targets = [_commit_of(repo, v.oid, commit_of) if v.oid and v.kind is not None else None for v in values]
    reached: list[list[str]] = [[] for _ in values]
    oid = libgit2.load().Oid
    deadline = time.monotonic() + REACH_SECONDS
    checked = 0
    for other, value in others:
        if checked >= REACH_REFS or time.monotonic() > deadline:
            break
        checked += 1
        tip = _commit_of(repo, value, commit_of)
        for index, target in enumerate(targets):
            if target is None or tip is None:
                if target is not None and value == values[index].oid:
                    reached[index].append(other)  # the same object (a tree or blob): it points at it
                continue
            try:
                if tip == target or repo.descendant_of(oid(hex=tip), oid(hex=target)):
                    reached[index].append(other)
            except Exception:
                pass  # unreadable history: not counted as reaching
    result = [
        ValueFacts(f.oid, f.kind, f.subject, f.author, f.author_time, names[:REACH_SHOWN], max(0, len(names) - REACH_SHOWN))
        for f, names in zip(values, reached)
    ]
    return (*result, checked)


def _commit_of(repo, oid: str, cache: dict[str, str | None]) -> str | None:
    """The commit ``oid`` peels to (annotated tags peeled), cached; None: not a commit, or missing."""
    if oid not in cache:
        try:
            obj = libgit2.lookup(repo, oid)
            cache[oid] = None if obj is None else str(obj.peel(libgit2.load().Commit).id)
        except Exception:
            cache[oid] = None
    return cache[oid]
