"""Resolve packed-refs shadows and clear stale locks, with git's own write protocol.

A *plan* is pure: made from a snapshot, it says for every ref that is both loose and packed
what it would do (``keep-packed``: unlink the loose file so the packed value shows;
``keep-loose``: drop the shadowed entry from ``packed-refs``, the visible value stays), the
value before and after, and why. It can be shown as a preview. ``apply(plan, journal)`` then
follows ``refs/files-backend.c`` (``files_transaction_prepare``/``_finish``) and
``refs/packed-backend.c`` (``packed_refs_lock``, ``write_with_updates``):

0. journal the intent, naming the lock files about to be created (so even a process killed
   while holding only its locks leaves nothing unexplained);
1. take ``<ref>.lock`` for every ref (sorted, O_CREAT|O_EXCL, retried for
   core.filesRefLockTimeout), then ``packed-refs.lock`` (retried for core.packedRefsTimeout, 1 s).
   packed-refs stays locked even when it is not rewritten, as git does for deletions ("so that
   somebody else doesn't pack a reference that we are trying to delete");
2. re-read every loose file and packed-refs *under the locks* and compare with the plan
   (compare-and-swap): anything that moved refuses the whole action, nothing is written and
   the journal entry is discarded;
3. journal the before-image (exact loose file bytes, the packed-refs lines), fsync;
4. rewrite packed-refs first: ``packed-refs.new`` (O_EXCL, same owner/group/mode), fsync,
   rename over ``packed-refs``; only then unlink loose files (with a reflog entry when the
   repository logs that ref), so no reader ever sees a value that is neither old nor new;
5. unlock, mark the journal entry done.

``undo_entry`` restores the before-image with the same locks and compare-and-swap.
"""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import time
from dataclasses import dataclass, field
from enum import StrEnum

from tui.core.fsutil import fsync_dir, read_bytes
from tui.core.gitconfig import GitConfig, RepoSettings, read_config, repo_settings
from tui.core.write.journal import Journal, JournalEntry, recover_interrupted, run_journaled
from tui.core.write.locking import (
    FILES_REF_LOCK_TIMEOUT_MS,
    PACKED_REFS_TIMEOUT_MS,
    ApplyError,
    HeldLock,
    LockSet,
    RefusedError,
    StateChangedError,
    UnsupportedError,
    WriteError,
    clear_lock_command,
    error_text,
    fault_point,
    link_no_replace,
    make_marker,
    new_nonce,
    staging_lock_path,
    timeout_from_config,
    unlink_if_exists,
    write_all,
    write_durably,
)
from tui.core.loose import LooseRef, parse_loose_contents
from tui.core.model import Verdict
from tui.core.write.ownership import Meta, check_owned, copy_metadata, owner_hint
from tui.core.packed import PackedRefs, bytes_key, invalid_refname, parse_packed_refs
from tui.core.refstore import HEX_WIDTH, ObjectReader, RefSnapshot, judge_shadows, read_snapshot

# Re-exported: the TUI imports its errors from here.
__all__ = [
    "Action",
    "ApplyError",
    "Keep",
    "LockClearPlan",
    "RefusedError",
    "ShadowItem",
    "ShadowPlan",
    "StateChangedError",
    "UnsupportedError",
    "WriteError",
    "apply",
    "plan_lock_clear",
    "plan_shadow_prune",
    "undo_entry",
]

ZERO_OID = {40: "0" * 40, 64: "0" * 64}
GIT_PACKED_HEADER = b"# pack-refs with: peeled fully-peeled sorted \n"  # packed-backend.c
_LOOSE_READ = 4096  # as loose.py: a loose ref is one line


class Keep(StrEnum):
    AUTO = "auto"
    PACKED = "packed"
    LOOSE = "loose"


class Action(StrEnum):
    KEEP_PACKED = "keep-packed"  # unlink the loose file; the packed value shows
    KEEP_LOOSE = "keep-loose"  # drop the packed entry; the loose value stays visible
    SKIP = "skip"  # untouched (a human decides, or it would lose a newer value)


# --keep auto: what each verdict means (DESIGN.md, "Objects").
AUTO_ACTIONS = {
    Verdict.STALE_LOOSE: Action.KEEP_PACKED,  # the migration incident: packed is newer
    Verdict.DEAD_PACKED: Action.KEEP_LOOSE,  # a normal update: loose is newer
    Verdict.IDENTICAL: Action.KEEP_LOOSE,  # same value: drop the redundant packed entry
}

_UNDECIDED_WHY = {
    Verdict.DIVERGED: "loose and packed are on unrelated histories; decide by hand",
    Verdict.UNDECIDABLE: "the values are not both commits (or history is unreadable); decide by hand",
    Verdict.MISSING_OBJECT: "one of the values is not in the object store; run 'git fsck' first",
    Verdict.BROKEN_LOOSE: "the loose file is unparseable; check the packed value, then --keep packed --ref NAME",
}

# Forced modes never throw a newer value away unless the operator names the ref with --ref.
_SAFE_FOR = {
    Keep.PACKED: {Verdict.STALE_LOOSE, Verdict.IDENTICAL},
    Keep.LOOSE: {Verdict.DEAD_PACKED, Verdict.IDENTICAL},
}


# --------------------------------------------------------------------------- repository context


@dataclass
class RepoContext:
    git_dir: str
    config: GitConfig
    settings: RepoSettings
    hex_width: int
    packed_timeout_ms: int
    ref_timeout_ms: int


def open_repo_context(git_dir: str) -> RepoContext:
    """Read the repository's config; refuse a repository whose config git itself rejects."""
    config, error = read_config(os.path.join(git_dir, "config"))
    if error:
        raise UnsupportedError(f"{error}; gitward does not write to a repository it cannot fully read")
    if config.errors:
        raise UnsupportedError(
            f"config {config.errors[0]}: git fails on this config, so gitward does not write here"
        )
    settings = repo_settings(config)
    if settings.object_format not in HEX_WIDTH:
        raise UnsupportedError(f"unknown object format {settings.object_format!r}")
    return RepoContext(
        git_dir=git_dir,
        config=config,
        settings=settings,
        hex_width=HEX_WIDTH[settings.object_format],
        packed_timeout_ms=timeout_from_config(config, "packedrefstimeout", PACKED_REFS_TIMEOUT_MS),
        ref_timeout_ms=timeout_from_config(config, "filesreflocktimeout", FILES_REF_LOCK_TIMEOUT_MS),
    )


def reftable_blocker(ctx: RepoContext) -> str | None:
    # local by habit only: importing this module already loads it (could move to the top)
    from tui.core.refstore import reftable_in_use

    if reftable_in_use(ctx.git_dir, ctx.settings.ref_storage):
        return (
            "this repository stores refs in reftable; gitward writes only the files backend "
            "(loose refs + packed-refs)"
        )
    return None


def repo_blockers(ctx: RepoContext, packed: PackedRefs | None = None, *, locked: bool = False) -> list[str]:
    """Why gitward must not write to this repository's refs at all ([] = fine).

    ``locked``: the caller holds packed-refs.lock, so a packed-refs.new is certainly left
    behind. Without the lock, a packed-refs.new is normal while a git process holds the lock
    (git creates the lock, then .new, renames .new, then removes the lock).
    """
    reftable = reftable_blocker(ctx)
    if reftable:
        return [reftable]
    blockers = []
    new = os.path.join(ctx.git_dir, "packed-refs.new")
    if _left_behind(new, locked):
        blockers.append(
            f"{new} is left behind (an interrupted 'git pack-refs'?); git refuses to write "
            f"packed-refs while it exists ('unable to create file {new}: File exists'). Make sure "
            f"no git process runs, then remove it ('{clear_lock_command(ctx.git_dir, new)}'); if "
            "an interrupted gitward left it, 'gitward undo ID' of that journal entry cleans up"
        )
    if packed is not None:
        blockers.extend(f"packed-refs {a}: gitward does not rewrite a file it does not fully understand" for a in blocking_anomalies(packed))
    return blockers


def _left_behind(new: str, locked: bool) -> bool:
    if locked:
        return os.path.lexists(new)
    lock = new[: -len(".new")] + ".lock"
    # .new, then no lock, then still .new: not a git process between its lock and its rename.
    return os.path.lexists(new) and not os.path.lexists(lock) and os.path.lexists(new)


def blocking_anomalies(packed: PackedRefs) -> list:
    # A missing header is understood (old git wrote none; git sorts such a file in memory and
    # gitward keeps it as it is). Everything else means git reads the file differently or not
    # at all: unknown traits, garbage, CRLF, a false 'sorted' claim, duplicates, symlinks.
    return [a for a in packed.anomalies if not a.message.startswith("missing header")]


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True, slots=True)
class ShadowItem:
    """One ref that is both loose and packed, and what the plan does with it."""

    name: str
    verdict: Verdict | None
    action: Action
    loose: LooseRef
    packed_value: str
    before: str | None  # the value git shows now (None: broken)
    after: str | None  # the value git shows afterwards
    note: str = ""  # why (for skips: why untouched; for forced changes: the warning)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "verdict": self.verdict.value if self.verdict else None,
            "action": self.action.value,
            "before": self.before,
            "after": self.after,
            "loose_value": self.loose.value,
            "symbolic_target": self.loose.symbolic_target,
            "broken_reason": self.loose.broken_reason,
            "packed_value": self.packed_value,
            "note": self.note,
        }


@dataclass
class ShadowPlan:
    git_dir: str
    keep: Keep
    items: list[ShadowItem] = field(default_factory=list)
    # Typed refusals (UnsupportedError, OwnershipError, ...); non-empty: apply() raises the first.
    refusals: list[RefusedError] = field(default_factory=list)
    hex_width: int = 40

    @property
    def changes(self) -> list[ShadowItem]:
        return [item for item in self.items if item.action is not Action.SKIP]

    @property
    def skipped(self) -> list[ShadowItem]:
        return [item for item in self.items if item.action is Action.SKIP]

    def summary(self) -> str:
        packed = sum(1 for i in self.changes if i.action is Action.KEEP_PACKED)
        loose = sum(1 for i in self.changes if i.action is Action.KEEP_LOOSE)
        return (
            f"shadows prune --keep {self.keep.value} in {self.git_dir}: keep packed {packed}, "
            f"keep loose {loose}, untouched {len(self.skipped)}"
        )

    def to_json(self) -> dict:
        return {
            "repo": self.git_dir,
            "keep": self.keep.value,
            "refusals": [str(r) for r in self.refusals],
            "changes": [i.to_json() for i in self.changes],
            "untouched": [i.to_json() for i in self.skipped],
        }


def plan_shadow_prune(
    git_dir: str,
    keep: Keep | str = Keep.AUTO,
    refs: list[str] | None = None,
    *,
    snapshot: RefSnapshot | None = None,
) -> ShadowPlan:
    """What ``shadows prune`` would do. Pure: reads, never writes.

    ``refs``: only these names; naming a ref also allows a change that throws a newer value
    away (``--keep packed`` on a ``dead-packed`` ref), with a warning in the item's note.
    """
    keep = Keep(keep)
    ctx = open_repo_context(git_dir)
    plan = ShadowPlan(git_dir=git_dir, keep=keep, hex_width=ctx.hex_width)
    reftable = reftable_blocker(ctx)
    if reftable:
        plan.refusals.append(UnsupportedError(reftable))
        return plan
    if snapshot is None:
        snapshot = read_snapshot(git_dir, ctx.settings.object_format)
    plan.refusals.extend(UnsupportedError(b) for b in repo_blockers(ctx, snapshot.packed))
    names = snapshot.shadow_names()
    if names and not snapshot.verdicts:
        judge_shadows(snapshot)
    chosen = _chosen_names(names, refs, plan)
    objects = ObjectReader(git_dir)
    for name in sorted(chosen, key=bytes_key):
        plan.items.append(_plan_item(snapshot, name, keep, refs is not None, objects))
    if plan.changes:
        plan.refusals.extend(_ownership_refusals(git_dir, plan.changes))
    return plan


def _chosen_names(names: list[str], refs: list[str] | None, plan: ShadowPlan) -> list[str]:
    if refs is None:
        return names
    shadows = set(names)
    for name in refs:
        if invalid_refname(name) or not name.startswith("refs/"):
            plan.refusals.append(RefusedError(f"{name!r} is not a valid ref name under refs/"))
        elif name not in shadows:
            plan.refusals.append(RefusedError(f"{name} is not both loose and packed: there is no shadow to prune"))
    return [n for n in dict.fromkeys(refs) if n in shadows]


def _plan_item(snapshot: RefSnapshot, name: str, keep: Keep, named: bool, objects: ObjectReader) -> ShadowItem:
    loose = snapshot.loose.refs[name]
    packed_value = snapshot.packed.values[name]
    verdict = snapshot.verdicts.get(name)
    before = None if loose.broken_reason else snapshot.resolve(name)
    action, note = _decide(keep, verdict, named)
    if action is Action.KEEP_PACKED:
        after = packed_value
    elif action is Action.KEEP_LOOSE:
        after = before
    else:
        after = before
    if action is not Action.SKIP:
        action, note = _check_kept_value(action, note, loose, packed_value, objects)
        action, note = _check_loose_file(action, note, snapshot.git_dir, name)
        if action is Action.SKIP:
            after = before
    return ShadowItem(name, verdict, action, loose, packed_value, before, after, note)


def _decide(keep: Keep, verdict: Verdict | None, named: bool) -> tuple[Action, str]:
    if verdict is None:
        return Action.SKIP, "no verdict"
    if keep is Keep.AUTO:
        action = AUTO_ACTIONS.get(verdict)
        if action is None:
            return Action.SKIP, f"left for a human decision: {_UNDECIDED_WHY[verdict]}"
        return action, f"{verdict.value}: {_auto_reason(action)}"
    action = Action.KEEP_PACKED if keep is Keep.PACKED else Action.KEEP_LOOSE
    if keep is Keep.LOOSE and verdict is Verdict.BROKEN_LOOSE:
        return Action.SKIP, "the loose file is unparseable: dropping the packed value would leave the ref broken"
    if verdict in _SAFE_FOR[keep]:
        return action, f"{verdict.value}: {_auto_reason(action)}"
    loses = _what_is_lost(keep, verdict)
    if not named:
        return Action.SKIP, f"{verdict.value}: {loses}; name it with --ref to do this anyway"
    return action, f"WARNING {verdict.value}: {loses} (forced with --ref)"


def _auto_reason(action: Action) -> str:
    if action is Action.KEEP_PACKED:
        return "unlink the loose file, the packed value shows"
    return "drop the packed entry, the visible value does not change"


def _what_is_lost(keep: Keep, verdict: Verdict) -> str:
    if keep is Keep.PACKED and verdict is Verdict.DEAD_PACKED:
        return "keeping packed reverts the ref to its older packed value"
    if keep is Keep.LOOSE and verdict is Verdict.STALE_LOOSE:
        return "keeping loose throws away the newer packed value"
    return f"gitward cannot tell which value is right ({_UNDECIDED_WHY.get(verdict, verdict.value)})"


def _check_kept_value(action: Action, note: str, loose: LooseRef, packed_value: str, objects: ObjectReader) -> tuple[Action, str]:
    kept = packed_value if action is Action.KEEP_PACKED else loose.value
    if kept is None:
        return action, note  # a symbolic loose ref kept as it is
    try:
        kind = objects.kind(kept)
    except LookupError:
        kind = "unknown"  # object store unreadable: the verdict already said undecidable
    if kind is None:
        return Action.SKIP, f"the value it would keep ({kept[:12]}) is not in the object store"
    return action, note


def _check_loose_file(action: Action, note: str, git_dir: str, name: str) -> tuple[Action, str]:
    try:
        st = os.lstat(os.path.join(git_dir, name))
    except OSError as exc:
        return Action.SKIP, f"cannot read the loose file: {exc.strerror}"
    if stat.S_ISLNK(st.st_mode):
        return Action.SKIP, "the loose ref is a symlink (an old-style symbolic ref); not changed"
    return action, note


def _ownership_refusals(git_dir: str, items: list[ShadowItem]) -> list[RefusedError]:
    try:
        check_owned(_files_touched(git_dir, items), what="change these refs")
    except RefusedError as exc:
        return [exc]
    return []


def _files_touched(git_dir: str, items) -> list[str]:
    paths = [git_dir, os.path.join(git_dir, "packed-refs")]
    for item in items:
        name = item.name if isinstance(item, ShadowItem) else item["ref"]
        loose = os.path.join(git_dir, name)
        paths.extend([loose, os.path.dirname(loose)])
    return list(dict.fromkeys(paths))


# --------------------------------------------------------------------------- apply


@dataclass
class ApplyResult:
    entry_id: str | None  # None: nothing to do, nothing journaled
    changed: list[str] = field(default_factory=list)
    recovered_locks: list[str] = field(default_factory=list)


@dataclass
class _LooseNow:
    data: bytes | None  # None: no loose file
    ref: LooseRef | None
    meta: Meta | None


@dataclass
class _RefState:
    """Loose files and packed-refs as read under the locks."""

    packed_data: bytes
    packed: PackedRefs
    packed_meta: Meta | None
    loose: dict[str, _LooseNow]


def apply(plan, journal: Journal):
    """Carry out a plan made by this module (``ShadowPlan`` or ``LockClearPlan``)."""
    if isinstance(plan, ShadowPlan):
        return apply_shadow_plan(plan, journal)
    if isinstance(plan, LockClearPlan):
        return apply_lock_clear(plan, journal)
    raise TypeError(f"not a refedit plan: {type(plan).__name__}")


def apply_shadow_plan(plan: ShadowPlan, journal: Journal) -> ApplyResult:
    journal.check_writable()
    if plan.refusals:
        raise plan.refusals[0]
    changes = plan.changes
    if not changes:
        return ApplyResult(entry_id=None)
    ctx = open_repo_context(plan.git_dir)
    check_owned(_files_touched(plan.git_dir, changes), what="change these refs")
    # First remove what an interrupted gitward left (its packed-refs.new would block us).
    recovered = recover_interrupted(journal, plan.git_dir)
    _refuse_blockers([b for b in [reftable_blocker(ctx)] if b])  # the rest under the lock
    names = [item.name for item in changes]
    ident = _ident_if_needed(ctx, [i.name for i in changes if i.action is Action.KEEP_PACKED])
    nonce = new_nonce()
    marker = make_marker(nonce)
    intent = [{"ref": i.name, "action": i.action.value, "before": i.before, "after": i.after} for i in changes]
    entry = journal.begin(
        "shadows-prune", plan.git_dir, plan.summary(), intent, locks=_planned_locks(ctx, names, marker), nonce=nonce
    )
    with LockSet(marker, repo=ctx.git_dir) as locks:
        with journal.preparing(entry, locks.release_all):
            _lock_refs(locks, ctx, names)
            state = _read_state(ctx, names)
            _refuse_blockers(repo_blockers(ctx, state.packed, locked=True))
            _compare_and_swap(changes, state)
            records = _packed_records(state.packed_data, set(names), ctx.hex_width)
            items = [_journal_item(item, state, records) for item in changes]
            journal.record_before(entry, items, locks=locks.records())
        _run_journaled(entry, journal, locks, lambda: _carry_out(ctx, changes, state, entry, ident))
    for item in changes:
        if item.action is Action.KEEP_PACKED:
            # After unlocking, as git's files_transaction_finish() does (the lock file
            # itself keeps the directory non-empty until then).
            remove_empty_parents(ctx.git_dir, item.name)
    return ApplyResult(entry.id, [item.name for item in changes], recovered)


def _planned_locks(ctx: RepoContext, names: list[str], marker: bytes) -> list[dict]:
    """The lock files _lock_refs() will create, for the journal's intent."""
    paths = [os.path.join(ctx.git_dir, name) + ".lock" for name in sorted(set(names), key=bytes_key)]
    paths.append(os.path.join(ctx.git_dir, "packed-refs.lock"))
    return [{"path": path, "marker": marker.decode()} for path in paths]


def _refuse_blockers(blockers: list[str]) -> None:
    if blockers:
        raise UnsupportedError(blockers[0])


def _lock_refs(locks: LockSet, ctx: RepoContext, names: list[str]) -> None:
    """git's order: every ref lock (sorted by name), then packed-refs.lock."""
    for name in sorted(set(names), key=bytes_key):
        path = os.path.join(ctx.git_dir, name)
        try:
            locks.acquire(path, timeout_ms=ctx.ref_timeout_ms, owner_hint=owner_hint(os.path.dirname(path)))
        except (FileNotFoundError, NotADirectoryError):
            raise StateChangedError(
                f"{name} moved since the plan (its directory is gone); nothing was changed. Rescan and plan again"
            ) from None
    fault_point("shadows:refs-locked")
    packed = os.path.join(ctx.git_dir, "packed-refs")
    locks.acquire(packed, timeout_ms=ctx.packed_timeout_ms, owner_hint=owner_hint(ctx.git_dir))
    fault_point("shadows:packed-refs-locked")


def _read_state(ctx: RepoContext, names: list[str]) -> _RefState:
    path = os.path.join(ctx.git_dir, "packed-refs")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        data, meta, packed = b"", None, PackedRefs()
    else:
        if stat.S_ISLNK(st.st_mode):
            raise UnsupportedError("packed-refs is a symlink: gitward does not replace it")
        data = read_bytes(path, limit=1 << 40)
        meta = Meta(st.st_mode, st.st_uid, st.st_gid)
        packed = parse_packed_refs(data, ctx.hex_width)
    loose = {name: _read_loose_now(os.path.join(ctx.git_dir, name), ctx.hex_width) for name in names}
    return _RefState(data, packed, meta, loose)


def _read_loose_now(path: str, hex_width: int) -> _LooseNow:
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return _LooseNow(None, None, None)
    if stat.S_ISDIR(st.st_mode):
        return _LooseNow(None, None, None)  # git falls back to packed-refs here too
    if stat.S_ISLNK(st.st_mode):
        raise UnsupportedError(f"{path} became a symlink; gitward does not change old-style symbolic refs")
    data = read_bytes(path, limit=_LOOSE_READ)
    return _LooseNow(data, parse_loose_contents(data, hex_width), Meta(st.st_mode, st.st_uid, st.st_gid))


def _compare_and_swap(changes: list[ShadowItem], state: _RefState) -> None:
    for item in changes:
        now = state.loose[item.name]
        if now.ref != item.loose:
            raise StateChangedError(
                f"{item.name} moved since the plan: its loose file said {_describe_loose(item.loose)}, "
                f"now {_describe_loose(now.ref)}; nothing was changed. Rescan and plan again"
            )
        packed_now = state.packed.values.get(item.name)
        if packed_now != item.packed_value:
            raise StateChangedError(
                f"{item.name} moved since the plan: packed-refs said {_short(item.packed_value)}, "
                f"now {_short(packed_now)}; nothing was changed. Rescan and plan again"
            )


def _journal_item(item: ShadowItem, state: _RefState, records: dict[str, list[bytes]]) -> dict:
    now = state.loose[item.name]
    return {
        "ref": item.name,
        "action": item.action.value,
        "verdict": item.verdict.value if item.verdict else None,
        "before": item.before,
        "after": item.after,
        "loose_value": item.loose.value,
        "symbolic_target": item.loose.symbolic_target,
        "packed_value": item.packed_value,
        "loose_b64": _b64(now.data or b""),
        "loose_meta": list(now.meta) if now.meta else None,
        "packed_lines_b64": [_b64(line) for line in records.get(item.name, [])],
        "packed_header_b64": _b64(_header_line(state.packed_data)),
    }


def _run_journaled(entry: JournalEntry, journal: Journal, locks: LockSet, work, step: str = "shadows") -> None:
    """Act after the journal entry exists; on any failure mark it failed and say so."""
    run_journaled(
        entry,
        journal,
        locks,
        work,
        done_point=f"{step}:unlocked",
        advice=f". Every ref shows its old or its new value; 'gitward undo {entry.id}' restores the rest",
    )


def _ident_if_needed(ctx: RepoContext, names: list[str]) -> str:
    """The reflog identity, asked before any lock is taken (it runs ``git var``)."""
    return committer_ident(ctx.git_dir) if any(should_write_reflog(ctx, n) for n in names) else ""


def _carry_out(ctx: RepoContext, changes: list[ShadowItem], state: _RefState, entry: JournalEntry, ident: str) -> None:
    drop = {item.name for item in changes if item.action is Action.KEEP_LOOSE}
    if drop:
        new_data, _removed = drop_packed_records(state.packed_data, drop, ctx.hex_width)
        replace_packed_refs(ctx.git_dir, new_data, state.packed_meta, step="shadows")
    message = f"gitward shadows prune ({entry.id}): keep the packed value"
    for item in sorted(changes, key=lambda i: bytes_key(i.name)):
        if item.action is not Action.KEEP_PACKED:
            continue
        old = item.before or ZERO_OID[ctx.hex_width]
        write_reflog(ctx, item.name, old, item.packed_value, message, ident)
        fault_point("shadows:reflog-written")
        path = os.path.join(ctx.git_dir, item.name)
        os.unlink(path)
        fsync_dir(os.path.dirname(path))
        fault_point("shadows:loose-unlinked")


# --------------------------------------------------------------------------- packed-refs bytes


def _record_name(line: bytes, hex_width: int) -> str:
    return line[hex_width + 1 :].rstrip(b"\n").decode("utf-8", "surrogateescape")


def _packed_records(data: bytes, names: set[str], hex_width: int) -> dict[str, list[bytes]]:
    """The lines (record + its peeled line) of ``names`` in a well-formed packed-refs."""
    return drop_packed_records(data, names, hex_width)[1]


def drop_packed_records(data: bytes, names: set[str], hex_width: int) -> tuple[bytes, dict[str, list[bytes]]]:
    """``data`` without the records of ``names`` (and their ``^`` peeled lines).

    Everything else stays byte for byte: the header with its traits, the order, other peeled
    lines. Removing records keeps a sorted file sorted and a fully-peeled file fully peeled.
    """
    kept: list[bytes] = []
    removed: dict[str, list[bytes]] = {}
    dropping: str | None = None
    for line in data.splitlines(keepends=True):
        if line.startswith(b"^"):
            (removed[dropping] if dropping is not None else kept).append(line)
            continue
        dropping = None
        if line.startswith(b"#"):
            kept.append(line)
            continue
        name = _record_name(line, hex_width)
        if name in names:
            removed.setdefault(name, []).append(line)
            dropping = name
        else:
            kept.append(line)
    return b"".join(kept), removed


def insert_packed_records(data: bytes, records: dict[str, list[bytes]], hex_width: int, header: bytes) -> bytes:
    """``data`` with ``records`` put back at their byte-order position (undo of a drop).

    One merge pass (the file is sorted when git wrote it), so undoing 10,000 refs in a
    200,000-ref file stays linear.
    """
    lines = data.splitlines(keepends=True)
    head: list[bytes] = []
    if lines and lines[0].startswith(b"#"):
        head = [lines.pop(0)]
    elif not lines and header:
        head = [header]
    pending = sorted((bytes_key(name), record) for name, record in records.items())
    out: list[bytes] = []
    position = 0
    for line in lines:
        if not line.startswith(b"^"):
            key = bytes_key(_record_name(line, hex_width))
            while position < len(pending) and pending[position][0] < key:
                out.extend(pending[position][1])
                position += 1
        out.append(line)
    for _key, record in pending[position:]:
        out.extend(record)
    return b"".join(head + out)


def replace_packed_refs(git_dir: str, data: bytes, like: Meta | None, *, step: str) -> None:
    """packed-backend.c write_with_updates(): packed-refs.new (O_EXCL), fsync, rename.

    The caller holds packed-refs.lock. ``like``: the replaced file's owner, group and mode.
    """
    target = os.path.join(git_dir, "packed-refs")
    new = target + ".new"
    try:
        fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except FileExistsError:
        # git's own words (refs/packed-backend.c).
        raise UnsupportedError(f"unable to create file {new}: File exists") from None
    try:
        try:
            write_durably(fd, data, like)
        finally:
            os.close(fd)
        fault_point(f"{step}:packed-new-written")
        os.rename(new, target)
    except BaseException:
        unlink_if_exists(new)
        raise
    fsync_dir(git_dir)
    fault_point(f"{step}:packed-refs-renamed")


def _header_line(data: bytes) -> bytes:
    first = data.split(b"\n", 1)[0]
    return first + b"\n" if first.startswith(b"#") else b""


# --------------------------------------------------------------------------- loose files, reflogs


def remove_empty_parents(git_dir: str, name: str) -> None:
    """files-backend.c try_remove_empty_parents(): rmdir empty dirs below refs/<kind>/."""
    parts = name.split("/")
    for depth in range(len(parts) - 1, 2, -1):
        try:
            os.rmdir(os.path.join(git_dir, *parts[:depth]))
        except OSError:
            return


def should_write_reflog(ctx: RepoContext, name: str) -> bool:
    """refs.c should_autocreate_reflog(), plus: an existing reflog is always appended to."""
    if os.path.isfile(os.path.join(ctx.git_dir, "logs", name)):
        return True
    mode = ctx.settings.log_all_ref_updates
    if mode is None:
        # core.bare unset: git guesses bareness from the layout (a ".git" dir has a work tree).
        mode = "true" if os.path.basename(os.path.normpath(ctx.git_dir)) == ".git" else "false"
    if mode == "always":
        return True
    if mode == "true":
        return name.startswith(("refs/heads/", "refs/remotes/", "refs/notes/")) or name == "HEAD"
    return False


def write_reflog(ctx: RepoContext, name: str, old: str, new: str, message: str, ident: str) -> None:
    """Append "<old> <new> <ident>\\t<message>" as files-backend.c log_ref_write_fd() does."""
    if not should_write_reflog(ctx, name):
        return
    path = os.path.join(ctx.git_dir, "logs", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    line = f"{old} {new} {ident}\t{' '.join(message.split())}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        write_durably(fd, line.encode("utf-8", "surrogateescape"))
    finally:
        os.close(fd)


def committer_ident(git_dir: str) -> str:
    """git's committer identity with a timestamp ("Name <email> 1767225600 +0000").

    Asked from ``git var`` (it honours GIT_COMMITTER_*, user.name/email and the date rules
    exactly as a git writing this reflog would; it runs no hooks). Fallback: user@host, now.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
    env["GIT_DIR"] = git_dir
    try:
        result = subprocess.run(
            ["git", "var", "GIT_COMMITTER_IDENT"], env=env, capture_output=True, timeout=10, check=False
        )
        ident = result.stdout.decode("utf-8", "surrogateescape").strip()
    except (OSError, subprocess.SubprocessError):
        ident = ""
    if ident:
        return ident
    # lazy (import cost): getpass loads on first use, not with this module
    import getpass
    import socket

    user = getpass.getuser()
    offset = -time.timezone if not time.localtime().tm_isdst else -time.altzone
    tz = f"{'+' if offset >= 0 else '-'}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"
    return f"{user} <{user}@{socket.gethostname()}> {int(time.time())} {tz}"


def _describe_loose(ref: LooseRef | None) -> str:
    if ref is None:
        return "(no loose file)"
    if ref.symbolic_target:
        return f"ref: {ref.symbolic_target}"
    if ref.broken_reason:
        return f"unparseable ({ref.broken_reason})"
    return _short(ref.value)


def _short(value: str | None) -> str:
    return value[:12] if value else "(none)"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


# --------------------------------------------------------------------------- undo


def undo_entry(entry: JournalEntry, journal: Journal) -> JournalEntry:
    """Restore the before-image of a ``shadows-prune`` or ``lock-clear`` entry."""
    if entry.kind == "lock-clear":
        return _undo_lock_clear(entry, journal)
    ctx = open_repo_context(entry.repo)
    check_owned(_files_touched(ctx.git_dir, entry.items), what="undo this change")
    recover_interrupted(journal, ctx.git_dir)
    _refuse_blockers([b for b in [reftable_blocker(ctx)] if b])  # the rest under the lock
    names = [item["ref"] for item in entry.items]
    ident = _ident_if_needed(ctx, [i["ref"] for i in entry.items if i["action"] == Action.KEEP_PACKED.value])
    nonce = new_nonce()
    marker = make_marker(nonce)
    summary = f"undo {entry.id}: restore the refs it changed in {ctx.git_dir}"
    intent = [{"ref": item["ref"], "restores": item["action"]} for item in entry.items]
    undo = journal.begin(entry.kind, ctx.git_dir, summary, intent, locks=_planned_locks(ctx, names, marker), nonce=nonce, undo_of=entry.id)
    with LockSet(marker, repo=ctx.git_dir) as locks:
        with journal.preparing(undo, locks.release_all):
            for item in entry.items:
                if item["action"] == Action.KEEP_PACKED.value:
                    # The loose file's directory may be gone (git removes empty parents).
                    os.makedirs(os.path.dirname(os.path.join(ctx.git_dir, item["ref"])), exist_ok=True)
            _lock_refs(locks, ctx, names)
            state = _read_state(ctx, names)
            _refuse_blockers(repo_blockers(ctx, state.packed, locked=True))
            to_restore = [item for item in entry.items if _undo_state(item, state, entry) == "after"]
            inverse = [_inverse_item(item, state) for item in to_restore]
            journal.record_before(undo, inverse, locks=_lock_records_with_plans(locks, ctx.git_dir, to_restore))
        held = {lock.target: lock for lock in locks.held}
        _run_journaled(undo, journal, locks, lambda: _restore(ctx, to_restore, state, held, undo, ident), "undo")
    journal.mark_undone(entry, undo)
    return undo


def _undo_state(item: dict, state: _RefState, entry: JournalEntry) -> str:
    """'after' (the entry's change is there: restore), 'before' (never happened: skip)."""
    name = item["ref"]
    now = state.loose[name]
    loose_before = _unb64(item["loose_b64"])
    packed_now = state.packed.values.get(name)
    if item["action"] == Action.KEEP_PACKED.value:
        if now.data is None and packed_now == item["packed_value"]:
            return "after"
        if now.data == loose_before and packed_now == item["packed_value"]:
            return "before"
        was = f"no loose file, packed {_short(item['packed_value'])}"
    else:
        if now.data == loose_before and packed_now is None:
            return "after"
        if now.data == loose_before and packed_now == item["packed_value"]:
            return "before"
        was = f"loose {_describe_loose(parse_loose_contents(loose_before))}, not packed"
    shown = f"loose {_describe_loose(now.ref)}, packed {_short(packed_now)}"
    raise StateChangedError(
        f"cannot undo {entry.id}: {name} moved on since (it was left as {was}; now {shown}); "
        "nothing was changed"
    )


def _inverse_item(item: dict, state: _RefState) -> dict:
    now = state.loose[item["ref"]]
    inverse = dict(item)
    inverse["before"], inverse["after"] = item["after"], item["before"]
    inverse["restores"] = "loose file" if item["action"] == Action.KEEP_PACKED.value else "packed-refs lines"
    inverse["current_loose_b64"] = _b64(now.data or b"")
    return inverse


def _lock_records_with_plans(locks: LockSet, git_dir: str, to_restore: list[dict]) -> list[dict]:
    """Lock records; a ref lock that will be committed carries its planned content."""
    planned = {
        os.path.join(git_dir, item["ref"]) + ".lock": item["loose_b64"]
        for item in to_restore
        if item["action"] == Action.KEEP_PACKED.value
    }
    records = []
    for lock in locks.held:
        record = lock.record()
        if lock.path in planned:
            record["planned_b64"] = planned[lock.path]
        records.append(record)
    return records


def _restore(ctx: RepoContext, items: list[dict], state: _RefState, held: dict[str, HeldLock], undo: JournalEntry, ident: str) -> None:
    readd = {item["ref"]: [_unb64(line) for line in item["packed_lines_b64"]] for item in items if item["action"] == Action.KEEP_LOOSE.value}
    if readd:
        header = next((_unb64(i["packed_header_b64"]) for i in items if i.get("packed_header_b64")), GIT_PACKED_HEADER)
        data = insert_packed_records(state.packed_data, readd, ctx.hex_width, header)
        replace_packed_refs(ctx.git_dir, data, state.packed_meta, step="undo")
    message = f"gitward undo {undo.undo_of}: restore the loose value"
    for item in sorted(items, key=lambda i: bytes_key(i["ref"])):
        if item["action"] != Action.KEEP_PACKED.value:
            continue
        path = os.path.join(ctx.git_dir, item["ref"])
        meta = Meta(*item["loose_meta"]) if item.get("loose_meta") else None
        value = parse_loose_contents(_unb64(item["loose_b64"]), ctx.hex_width)
        new = value.value or ZERO_OID[ctx.hex_width]
        write_reflog(ctx, item["ref"], item["packed_value"], new, message, ident)
        held[path].commit(_unb64(item["loose_b64"]), meta, on_written=lambda: fault_point("undo:loose-written"))
        fault_point("undo:loose-restored")


# --------------------------------------------------------------------------- stale locks


LEFT_BY_GITWARD = "left-by-gitward"


@dataclass
class LockClearPlan:
    """Removing one lock file that is past its grace period (or proven left by gitward)."""

    git_dir: str
    path: str  # absolute
    relpath: str  # relative to the git dir, as scans show it
    kind: str  # a key of analysis.LOCK_GRACE_SECONDS, or LEFT_BY_GITWARD
    age_seconds: float
    grace_seconds: float
    size: int
    dev: int
    ino: int
    mtime_ns: int
    left_by: str | None = None  # journal entry of an interrupted gitward that created it
    refusals: list[RefusedError] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "repo": self.git_dir,
            "path": self.relpath,
            "kind": self.kind,
            "age_seconds": round(self.age_seconds, 1),
            "grace_seconds": self.grace_seconds,
            "left_by": self.left_by,
            "refusals": [str(r) for r in self.refusals],
        }


def plan_lock_clear(git_dir: str, lockfile: str, *, journal: Journal | None = None, now: float | None = None) -> LockClearPlan:
    """Check that ``lockfile`` (relative to the git dir, as scans list it) may be removed."""
    # lazy (import cost): core.problems loads on first use, not with this module
    from tui.core.problems import LOCK_GRACE_SECONDS

    now = time.time() if now is None else now
    path, relpath = _lock_path(git_dir, lockfile)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise RefusedError(f"{relpath} does not exist (its holder finished?)") from None
    if not stat.S_ISREG(st.st_mode):
        raise RefusedError(f"{relpath} is not a regular file; gitward removes only lock files")
    left_by = _left_by_gitward(journal, git_dir, path)
    # A lock proven to be an interrupted gitward's own has no grace period: nobody holds it.
    kind = LEFT_BY_GITWARD if left_by else _lock_kind(relpath)
    plan = LockClearPlan(
        git_dir=git_dir,
        path=path,
        relpath=relpath,
        kind=kind,
        age_seconds=max(0.0, now - st.st_mtime),
        grace_seconds=0.0 if left_by else LOCK_GRACE_SECONDS[kind],
        size=st.st_size,
        dev=st.st_dev,
        ino=st.st_ino,
        mtime_ns=st.st_mtime_ns,
        left_by=left_by,
    )
    if plan.age_seconds <= plan.grace_seconds and plan.left_by is None:
        plan.refusals.append(
            RefusedError(
                f"{relpath} is {_age(plan.age_seconds)} old, inside its grace period of "
                f"{_age(plan.grace_seconds)}: a git process may still hold it. Wait, or check "
                "with fuser/lsof that none runs"
            )
        )
    try:
        check_owned([path, os.path.dirname(path)], what="remove this lock")
    except RefusedError as exc:
        plan.refusals.append(exc)
    return plan


def _lock_path(git_dir: str, lockfile: str) -> tuple[str, str]:
    real_git_dir = os.path.realpath(git_dir)
    candidate = lockfile if os.path.isabs(lockfile) else os.path.join(git_dir, lockfile)
    path = os.path.join(os.path.realpath(os.path.dirname(candidate)), os.path.basename(candidate))
    relpath = os.path.relpath(path, real_git_dir)
    if relpath.startswith(".."):
        raise RefusedError(f"{lockfile} is not inside the repository {git_dir}")
    name = os.path.basename(path)
    if not (name.endswith(".lock") or name == "packed-refs.new"):
        raise RefusedError(f"{lockfile} is not a lock file (*.lock or packed-refs.new)")
    return path, relpath


def _lock_kind(relpath: str) -> str:
    # lazy (import cost): core.problems loads on first use, not with this module
    from tui.core.problems import LOCK_GRACE_SECONDS

    name = os.path.basename(relpath)
    if relpath.startswith("refs/"):
        return "ref"
    if name in LOCK_GRACE_SECONDS:
        return name
    raise RefusedError(f"{relpath}: gitward knows no grace period for this kind of lock; remove it by hand if you are sure")


def _left_by_gitward(journal: Journal | None, git_dir: str, path: str) -> str | None:
    # local by habit only: importing this module already loads it (could move to the top)
    from tui.core.write.journal import entry_left_lock

    if journal is None:
        return None
    for entry in journal.unfinished_for(git_dir):
        if entry_left_lock(entry, path):
            return entry.id
    return None


def _age(seconds: float) -> str:
    # lazy (import cost): humanize loads on first use, not with this module
    import humanize

    return humanize.naturaldelta(seconds)


def apply_lock_clear(plan: LockClearPlan, journal: Journal) -> ApplyResult:
    journal.check_writable()
    if plan.refusals:
        raise plan.refusals[0]
    check_owned([plan.path, os.path.dirname(plan.path)], what="remove this lock")
    summary = f"locks clear {plan.relpath} in {plan.git_dir} ({_age(plan.age_seconds)} old)"
    entry = journal.begin("lock-clear", plan.git_dir, summary, [{"file": plan.path, "relpath": plan.relpath}])
    with journal.preparing(entry):
        item = _lock_clear_item(plan)
        journal.record_before(entry, [item])
    try:
        os.unlink(plan.path)
        fsync_dir(os.path.dirname(plan.path))
        fault_point("locks:unlinked")
    except OSError as exc:
        journal.mark_failed(entry, error_text(exc))
        raise ApplyError(f"cannot remove {plan.relpath}: {error_text(exc)}", entry.id) from exc
    journal.mark_done(entry)
    return ApplyResult(entry.id, [plan.relpath])


def _lock_clear_item(plan: LockClearPlan) -> dict:
    """The lock file's before-image, after checking it is the very file that was judged."""
    try:
        st = os.lstat(plan.path)
        content = read_bytes(plan.path)
    except FileNotFoundError:
        raise StateChangedError(f"{plan.relpath} is gone already; nothing was changed") from None
    if (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size) != (plan.dev, plan.ino, plan.mtime_ns, plan.size):
        raise StateChangedError(f"{plan.relpath} changed since it was checked (a new lock?); nothing was changed")
    return {
        "file": plan.path,
        "relpath": plan.relpath,
        "kind": plan.kind,
        "age_seconds": round(plan.age_seconds, 1),
        "left_by": plan.left_by,
        "content_b64": _b64(content),
        "meta": [st.st_mode, st.st_uid, st.st_gid],
        "mtime_ns": st.st_mtime_ns,
    }


def _is_the_cleared_lock(path: str, item: dict) -> bool:
    try:
        st = os.lstat(path)
        return st.st_mtime_ns == item["mtime_ns"] and read_bytes(path) == _unb64(item["content_b64"])
    except OSError:
        return False


def _undo_lock_clear(entry: JournalEntry, journal: Journal) -> JournalEntry:
    (item,) = entry.items
    path = item["file"]
    check_owned([os.path.dirname(path)], what="put this lock back")
    summary = f"undo {entry.id}: put {item['relpath']} back in {entry.repo}"
    undo = journal.begin("lock-clear", entry.repo, summary, [{"file": path}], undo_of=entry.id)
    with journal.preparing(undo):
        if os.path.lexists(path):
            if not _is_the_cleared_lock(path, item):
                raise StateChangedError(
                    f"cannot undo {entry.id}: {item['relpath']} exists again (a new holder); nothing was changed"
                )
            # Interrupted before the unlink: the very same lock is still there.
            journal.record_before(undo, [])
            journal.mark_done(undo)
            journal.mark_undone(entry, undo)
            return undo
        journal.record_before(undo, [dict(item)])
    # The lock is put back whole or not at all: content, owner and mtime go to a staging file
    # named with the undo's nonce (a kill leaves only that, which recovery removes), then
    # link(2) makes it the lock, failing if a new holder took the name meanwhile.
    staging = staging_lock_path(path, undo.nonce)
    try:
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        try:
            write_all(fd, _unb64(item["content_b64"]))
            copy_metadata(fd, Meta(*item["meta"]))
        finally:
            os.close(fd)
        os.utime(staging, ns=(item["mtime_ns"], item["mtime_ns"]))
        fault_point("undo:lock-staged")
        link_no_replace(staging, path)  # removes the staging name once linked
        fault_point("undo:lock-linked")
    except OSError as exc:
        unlink_if_exists(staging)
        journal.mark_failed(undo, error_text(exc))
        raise ApplyError(f"cannot recreate {item['relpath']}: {error_text(exc)}", undo.id) from exc
    fsync_dir(os.path.dirname(path))
    journal.mark_done(undo)
    journal.mark_undone(entry, undo)
    return undo

