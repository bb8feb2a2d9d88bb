"""What ``git pack-refs --all`` (so ``git gc``, JGit gc, GitLab housekeeping) would throw away.

Rules, from git's ``refs/files-backend.c`` (``files_pack_refs`` / ``should_pack_ref``):
a loose ref is folded into packed-refs when it is not symbolic, not broken and names an existing
object; its packed entry, if any, is then replaced by the loose value. So every ref that is both
loose and packed with different values, whose loose file is packable, loses its packed value.
Broken, symbolic and missing-object loose files are left alone by git, and so are their packed
values.

The commits then at risk are those reachable from the thrown-away packed values and from nothing
git keeps. Which rule: ``git prune`` (run by ``git gc`` for objects older than gc.pruneExpire,
two weeks by default) keeps everything reachable from refs, HEAD, the worktrees' HEADs and the
reflogs. So two lists:

- ``unreachable``: reachable from no ref, no HEAD and no reflog entry: what
  ``git rev-list PACKED... --not --all --reflog`` lists; ``git prune`` deletes them;
- ``reflog_only``: kept today only by a reflog entry: ``git gc`` first runs ``git reflog expire``,
  which drops entries unreachable from their ref's tip after gc.reflogExpireUnreachable (30 days
  by default); these commits are lost then.

Never runs git; never writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from tui.core.problems import list_names
from tui.core.fsutil import read_bytes
from tui.core.model import Verdict
from tui.core.compare.objectstore import ObjectStore
from tui.core.refstore import judge_shadows, load_snapshot

LIST_LIMIT = 1000  # commits listed per kind; the counts are always complete


@dataclass(frozen=True, slots=True)
class LostRef:
    name: str
    loose_value: str  # what pack-refs keeps
    packed_value: str  # what it throws away
    verdict: Verdict | None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "loose_value": self.loose_value,
            "packed_value": self.packed_value,
            "verdict": self.verdict.value if self.verdict else None,
        }


@dataclass(slots=True)
class GcPreview:
    git_dir: str
    lost_refs: list[LostRef] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)  # commits git prune deletes
    reflog_only: list[str] = field(default_factory=list)  # kept only until reflog expire drops them
    unreachable_count: int = 0
    reflog_only_count: int = 0
    complete: bool = True  # False: the object walk could not be done (counts unknown)
    note: str = ""

    @property
    def harmful(self) -> bool:
        return bool(self.unreachable_count or self.reflog_only_count or any(
            r.verdict in (Verdict.STALE_LOOSE, Verdict.DIVERGED) for r in self.lost_refs))

    def to_json(self) -> dict:
        return {
            "git_dir": self.git_dir,
            "lost_refs": [r.to_json() for r in self.lost_refs],
            "unreachable_count": self.unreachable_count,
            "unreachable": self.unreachable,
            "reflog_only_count": self.reflog_only_count,
            "reflog_only": self.reflog_only,
            "complete": self.complete,
            "note": self.note,
        }


def gc_preview(git_dir: str, limit: int = LIST_LIMIT) -> GcPreview:
    """Raises ``refstore.RefsUnavailable`` for reftable repositories."""
    snapshot = load_snapshot(git_dir)
    objects = ObjectStore(git_dir)
    judge_shadows(snapshot, objects)
    preview = GcPreview(git_dir=git_dir)
    loose = snapshot.loose.refs
    for name in sorted(snapshot.shadow_names()):
        ref = loose[name]
        packed_value = snapshot.packed.get(name)
        if ref.broken_reason or ref.symbolic_target or ref.value == packed_value:
            continue
        if not objects.has(ref.value):
            continue  # git does not pack a loose ref whose object is missing
        preview.lost_refs.append(LostRef(name, ref.value, packed_value, snapshot.verdicts.get(name)))
    if not preview.lost_refs:
        return preview
    if not objects.readable:
        preview.complete = False
        preview.note = objects.error or "the object store cannot be read"
        return preview
    tips = [r.packed_value for r in preview.lost_refs]
    kept = _ref_values(snapshot) + _worktree_heads(git_dir)
    reflogs = _reflog_values(git_dir)
    without_reflogs = objects.unreachable_commits(tips, kept)
    with_reflogs = objects.unreachable_commits(tips, kept + reflogs)
    if without_reflogs is None or with_reflogs is None:
        preview.complete = False
        preview.note = "the commits behind the packed values could not be walked"
        return preview
    gone = set(with_reflogs)
    reflog_only = [c for c in without_reflogs if c not in gone]
    preview.unreachable_count = len(with_reflogs)
    preview.unreachable = with_reflogs[:limit]
    preview.reflog_only_count = len(reflog_only)
    preview.reflog_only = reflog_only[:limit]
    return preview


def _ref_values(snapshot) -> list[str]:
    """Every value git's ``--all`` starts from: HEAD and the resolved refs (loose wins)."""
    values = []
    head = snapshot.resolve("HEAD")
    if head:
        values.append(head)
    loose = snapshot.loose.refs
    for name, ref in loose.items():
        value = snapshot.resolve(name)
        if value:
            values.append(value)
    values.extend(value for name, value in snapshot.packed.values.items() if name not in loose)
    return values


def _worktree_heads(git_dir: str) -> list[str]:
    # local by habit only: importing this module already loads it (could move to the top)
    from tui.core.loose import read_loose_file

    heads = []
    admin = os.path.join(git_dir, "worktrees")
    for worktree_id in list_names(admin) or []:
        ref = read_loose_file(os.path.join(admin, worktree_id, "HEAD"), missing_ok=True)
        if ref is not None and ref.value:
            heads.append(ref.value)
    return heads


def _reflog_values(git_dir: str) -> list[str]:
    """Old and new values of every reflog entry (``logs/HEAD``, ``logs/refs/**``, worktree HEADs)."""
    files = [os.path.join(git_dir, "logs", "HEAD")]
    for top, _dirs, names in os.walk(os.path.join(git_dir, "logs", "refs")):
        files.extend(os.path.join(top, n) for n in names)
    admin = os.path.join(git_dir, "worktrees")
    files.extend(os.path.join(admin, w, "logs", "HEAD") for w in list_names(admin) or [])
    values: set[str] = set()
    for path in files:
        try:
            data = read_bytes(path, limit=256 << 20)
        except OSError:
            continue
        for line in data.split(b"\n"):
            parts = line.split(b" ", 2)
            if len(parts) < 3:
                continue
            for oid in parts[:2]:
                text = oid.decode("ascii", "replace")
                if text.strip("0"):
                    values.add(text)
    return sorted(values)
