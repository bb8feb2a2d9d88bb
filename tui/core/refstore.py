"""Refs by storage source: loose files and packed-refs combined, with shadow verdicts.

The file layer is ours (pygit2/libgit2 cannot tell loose from packed); pygit2 is used only
to read objects and ancestry, and only for refs that are both loose and packed with
different values.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Iterator

from tui.core import libgit2
from tui.core.loose import LooseRef, read_loose_file, start_loose_walk_in_child, walk_loose_refs
from tui.core.model import Ref, RefCounts, Source, Verdict
from tui.core.packed import PackedRefs, bytes_key, read_packed_refs
from tui.core.snapshot import RefSnapshot

HEX_WIDTH = {"sha1": 40, "sha256": 64}

# Called with packed-refs as read and its hex width, before the loose refs are walked.
OnPacked = Callable[[PackedRefs, int], None]


class RefsUnavailable(Exception):
    """The repository keeps its refs in a storage gitward does not read (reftable)."""


def reftable_in_use(git_dir: str, ref_storage: str) -> bool:
    if ref_storage != "files":
        return True
    # Older reftable repos (and git's own safety stub) make refs/heads a regular file.
    try:
        return stat.S_ISREG(os.lstat(f"{git_dir}/refs/heads").st_mode)
    except OSError:
        return False


def load_snapshot(
    git_dir: str, *, may_fork: bool = False, shadowed_only: bool = False, on_packed: OnPacked | None = None
) -> RefSnapshot:
    """Read a repository's ref files as its config says (no verdicts yet).

    ``shadowed_only``: the caller lists only refs that are both loose and packed
    (``iter_refs(shadowed_only=True)``): the snapshot may then hold only those loose refs.
    ``on_packed``: see ``read_snapshot``.
    Raises RefsUnavailable for reftable: nothing is misread.
    """
    # lazy (import cost): core.gitconfig loads on first use, not with this module
    from tui.core.gitconfig import read_config, repo_settings

    settings = repo_settings(read_config(f"{git_dir}/config")[0])
    if reftable_in_use(git_dir, settings.ref_storage):
        raise RefsUnavailable(
            "this repository uses the reftable ref storage; gitward reads only loose files and "
            "packed-refs. Use 'git for-each-ref'."
        )
    if shadowed_only:
        # lazy (import cost): loaded on first use, not with this module
        from tui.core.packed_lookup import read_shadowed

        snapshot = read_shadowed(git_dir, HEX_WIDTH.get(settings.object_format, 40), may_fork=may_fork)
        if snapshot is not None:
            return snapshot
    return read_snapshot(git_dir, settings.object_format, may_fork=may_fork, on_packed=on_packed)


# Below this size a packed-refs parses faster than a child process starts and reports back.
FORK_WALK_MIN_PACKED_BYTES = 1 << 20


def read_snapshot(
    git_dir: str, object_format: str = "sha1", *, may_fork: bool = False, on_packed: OnPacked | None = None
) -> RefSnapshot:
    """Read packed-refs, the loose refs and HEAD.

    ``may_fork``: a single-threaded caller (the CLI) allows the loose walk to run in a child
    process while a large packed-refs is parsed here.
    ``on_packed(packed, hex_width)``: called once packed-refs is parsed, before the loose walk
    (the console shows ``leading_refs`` from there while the walk goes on).
    """
    hex_width = HEX_WIDTH.get(object_format, 40)
    forked_walk = None  # waits for the child's LooseWalk, when one was started

    def start_loose_walk(packed_size: int) -> None:
        # Called once packed-refs' bytes are read and before they are parsed. The loose refs
        # must be read after packed-refs: a concurrent 'git pack-refs' writes packed-refs
        # before deleting loose files, so this order never misses a ref that was being moved.
        nonlocal forked_walk
        if may_fork and packed_size >= FORK_WALK_MIN_PACKED_BYTES and threading.active_count() == 1:
            forked_walk = start_loose_walk_in_child(git_dir, "refs", hex_width)

    packed = read_packed_refs(git_dir, hex_width, after_read=start_loose_walk)
    if on_packed is not None:
        on_packed(packed, hex_width)
    loose = forked_walk() if forked_walk else walk_loose_refs(git_dir, "refs", hex_width)
    head = read_loose_file(f"{git_dir}/HEAD", hex_width, missing_ok=True)
    return RefSnapshot(git_dir=git_dir, packed=packed, loose=loose, head=head, hex_width=hex_width)


def count_refs(snapshot: RefSnapshot, shadow_names: list[str] | None = None) -> RefCounts:
    """``shadow_names``: ``snapshot.shadow_names()`` when the caller has it already."""
    packed = snapshot.packed
    loose = snapshot.loose.refs
    both = len(snapshot.shadow_names() if shadow_names is None else shadow_names)
    shadows: dict[str, int] = {}
    for verdict in snapshot.verdicts.values():
        shadows[verdict.value] = shadows.get(verdict.value, 0) + 1
    return RefCounts(
        total=len(packed) + len(loose) - both,
        loose=len(loose) - both,
        packed=len(packed) - both,
        both=both,
        broken=sum(1 for ref in loose.values() if ref.broken_reason),
        symbolic=sum(1 for ref in loose.values() if ref.symbolic_target),
        shadows=shadows,
    )


class ObjectReader:
    """Lazy pygit2 access: opened only when a verdict needs the object store."""

    def __init__(self, git_dir: str) -> None:
        self.git_dir = git_dir
        self._repo = None
        self.error: str | None = None

    @property
    def shallow(self) -> bool:
        return os.path.exists(f"{self.git_dir}/shallow")

    def _open(self):
        if self._repo is None and self.error is None:
            try:
                # The object database alone: no config, no refdb, nothing executed.
                self._repo = libgit2.open_objects(self.git_dir)
            except Exception as exc:  # libgit2 raises several types; all mean "cannot read"
                self.error = f"cannot open object store: {exc}"
        return self._repo

    def _repo_or_raise(self):
        repo = self._open()
        if repo is None:
            raise LookupError(self.error)
        return repo

    def kind(self, oid: str) -> str | None:
        """'commit', 'tag', 'tree', 'blob', or None when the object is missing."""
        repo = self._repo_or_raise()
        try:
            obj = libgit2.lookup(repo, oid)
        except Exception:
            return None
        if obj is None:
            return None
        return obj.type_str

    def commit_time(self, oid: str) -> float | None:
        """Commit time (epoch seconds) of the commit ``oid`` peels to; None when it is missing.

        Raises TypeError when the object does not peel to a commit (a blob or a tree).
        """
        repo = self._repo_or_raise()
        try:
            obj = libgit2.lookup(repo, oid)
        except Exception:
            return None
        if obj is None:
            return None
        try:
            commit = obj.peel(libgit2.load().Commit)
        except Exception as exc:
            raise TypeError(f"{oid} is not a commit") from exc
        return float(commit.commit_time)

    def merge_base(self, one: str, other: str) -> str | None:
        """Best common ancestor of two commits (None: unrelated histories)."""
        repo = self._repo_or_raise()
        oid = libgit2.load().Oid
        base = repo.merge_base(oid(hex=one), oid(hex=other))
        return str(base) if base is not None else None

    def descends_from(self, descendant: str, ancestor: str) -> bool:
        repo = self._repo_or_raise()
        oid = libgit2.load().Oid
        return bool(repo.descendant_of(oid(hex=descendant), oid(hex=ancestor)))


def judge_shadow(loose: LooseRef, packed_value: str, objects: ObjectReader) -> Verdict:
    """The verdict for one ref that is both loose and packed."""
    if loose.broken_reason:
        return Verdict.BROKEN_LOOSE
    if loose.symbolic_target:
        # A symbolic loose ref over a packed value: neither is an update of the other.
        return Verdict.UNDECIDABLE
    loose_value = loose.value
    if loose_value == packed_value:
        return Verdict.IDENTICAL
    # Common case first: two commits, one descending from the other. One merge-base
    # answers both directions, and no object types are looked up.
    try:
        base = objects.merge_base(loose_value, packed_value)
    except LookupError:
        raise
    except Exception:
        base = None  # a missing object or a non-commit: find out which below
    if base == packed_value:
        return Verdict.DEAD_PACKED
    if base == loose_value:
        return Verdict.STALE_LOOSE
    if base is not None:
        return Verdict.DIVERGED  # two commits with a common ancestor that is neither
    loose_kind = objects.kind(loose_value)
    packed_kind = objects.kind(packed_value)
    if loose_kind is None or packed_kind is None:
        return Verdict.MISSING_OBJECT
    if loose_kind != "commit" or packed_kind != "commit":
        return Verdict.UNDECIDABLE
    try:
        if objects.descends_from(loose_value, packed_value):
            return Verdict.DEAD_PACKED
        if objects.descends_from(packed_value, loose_value):
            return Verdict.STALE_LOOSE
    except Exception:
        # Shallow boundaries or unreadable history: we cannot tell, so we do not guess.
        return Verdict.UNDECIDABLE
    if objects.shallow:
        return Verdict.UNDECIDABLE  # "unrelated" may only mean the history is cut off
    return Verdict.DIVERGED


def judge_shadows(
    snapshot: RefSnapshot, objects: ObjectReader | None = None, shadow_names: list[str] | None = None
) -> None:
    """Fill ``snapshot.verdicts`` for every ref that is both loose and packed (``shadow_names``:
    ``snapshot.shadow_names()`` when the caller has it already)."""
    names = snapshot.shadow_names() if shadow_names is None else shadow_names
    if not names:
        return
    objects = objects or ObjectReader(snapshot.git_dir)
    packed = snapshot.packed
    loose = snapshot.loose.refs
    for name in names:
        try:
            snapshot.verdicts[name] = judge_shadow(loose[name], packed.get(name), objects)
        except LookupError as exc:
            snapshot.verdict_errors.append(str(exc))
            snapshot.verdicts[name] = Verdict.UNDECIDABLE


def iter_refs(
    snapshot: RefSnapshot,
    *,
    prefix: str = "",
    shadowed_only: bool = False,
    include_head: bool = True,
) -> Iterator[Ref]:
    """Every ref in git's byte-wise order, with its source and (for shadows) verdict."""
    # Shadows only: bisection per name, so the packed-refs dict of a Gerrit repo is never built.
    # Every ref: the dict first (a lookup per name), then ref_names takes its names from it.
    packed = snapshot.packed if shadowed_only else snapshot.packed.values
    names = ref_names(snapshot, prefix=prefix, shadowed_only=shadowed_only)
    if include_head and not shadowed_only and snapshot.head is not None and "HEAD".startswith(prefix):
        yield ref_for(snapshot, "HEAD")
    for name in names:
        yield ref_for(snapshot, name, packed.get(name))


def ref_names(snapshot: RefSnapshot, *, prefix: str = "", shadowed_only: bool = False) -> list[str]:
    """The names ``iter_refs`` lists (HEAD aside), each once, in git's byte-wise order: the one
    merge of loose and packed names (the console's RefIndex sorts nothing of its own)."""
    loose = snapshot.loose.refs
    packed = snapshot.packed
    ordered = None if shadowed_only else packed.ordered_names()
    if shadowed_only:
        names = [n for n in loose if n.startswith(prefix) and n in packed]
    elif ordered is not None:
        # A canonical packed-refs is sorted already: its names, then the loose-only ones,
        # merged by one sort of two sorted runs; no dict of 200,000 values is built.
        names = [n for n in ordered if n.startswith(prefix)] if prefix else ordered
        names.extend(sorted(n for n in loose if n.startswith(prefix) and n not in packed))
    else:
        values = packed.values
        names = [n for n in loose if n.startswith(prefix) and n not in values]
        names.extend(n for n in values if n.startswith(prefix))
    names.sort(key=_sort_key(names))
    return names


def leading_refs(git_dir: str, packed: PackedRefs, hex_width: int, count: int) -> list[Ref] | None:
    """The first refs that ``iter_refs`` lists (HEAD, then every name up to the ``count``-th
    packed one), known before the loose refs are walked in full: packed-refs is sorted, and
    only the loose files that sort among those names are read (``walk_loose_refs(between=)``),
    plus the loose targets of their symbolic refs. The same ``Ref`` values as the full read.

    None when this cannot be known early: packed-refs is not canonical (it is read into a
    dict, in no order), or holds fewer than ``count`` refs (the full read is as quick).
    """
    first = packed.ordered_names(count)
    if first is None or len(first) < count:
        return None
    cutoff = first[-1]
    loose = walk_loose_refs(git_dir, "refs", hex_width, between=("", cutoff))
    head = read_loose_file(f"{git_dir}/HEAD", hex_width, missing_ok=True)
    snapshot = RefSnapshot(git_dir=git_dir, packed=packed, loose=loose, head=head, hex_width=hex_width)
    names = [n for n in loose.refs if n not in packed]
    names.extend(first)
    names.sort(key=_sort_key(names))
    # A symbolic ref resolves through its target's loose file: read those beyond the cutoff
    # (HEAD's branch, usually) as the full walk would have read them.
    cutoff_key = bytes_key(cutoff)
    pending = [ref.symbolic_target for ref in (head, *loose.refs.values()) if ref is not None and ref.symbolic_target]
    looked_up: set[str] = set()
    while pending:
        target = pending.pop()
        if target in looked_up or bytes_key(target) <= cutoff_key:
            continue
        looked_up.add(target)
        found = walk_loose_refs(git_dir, "refs", hex_width, between=(target, target)).refs.get(target)
        if found is not None:
            loose.refs[target] = found
            if found.symbolic_target:
                pending.append(found.symbolic_target)
    refs = [ref_for(snapshot, "HEAD")] if head is not None else []
    refs.extend(ref_for(snapshot, name) for name in names)
    return refs


_UNKNOWN = object()


def ref_for(snapshot: RefSnapshot, name: str, packed_value=_UNKNOWN) -> Ref:
    """The ``Ref`` for one name (``HEAD`` included), as ``iter_refs`` lists it.

    ``packed_value``: the packed value when the caller already looked it up (None: not packed).
    """
    loose = snapshot.head if name == "HEAD" else snapshot.loose.refs.get(name)
    if packed_value is _UNKNOWN:
        packed_value = None if name == "HEAD" else snapshot.packed.get(name)
    if loose is None:
        return Ref(
            name=name,
            source=Source.PACKED,
            value=packed_value,
            packed_value=packed_value,
            peeled=snapshot.packed.peeled.get(name),
        )
    value = loose.value if not loose.symbolic_target else snapshot.resolve(loose.symbolic_target, 1)
    ref = Ref(
        name=name,
        source=Source.LOOSE,
        value=None if loose.broken_reason else value,
        loose_value=loose.value,
        symbolic_target=loose.symbolic_target,
        broken_reason=loose.broken_reason,
    )
    if packed_value is not None:
        ref.source = Source.BOTH
        ref.packed_value = packed_value
        ref.verdict = snapshot.verdicts.get(name)
        # git ignores a packed peeled value once the loose file wins.
        if ref.loose_value == packed_value:
            ref.peeled = snapshot.packed.peeled.get(name)
    return ref


def _sort_key(names: list[str]):
    # Code-point order equals UTF-8 byte order except for surrogate-escaped bytes.
    if all(map(str.isascii, names)):  # map: no Python frame per name (200,000 of them)
        return None
    return bytes_key
