"""Resolve packed-refs shadows (``gitward shadows prune``), with git's own write protocol.

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

``undo_entry`` restores the before-image with the same locks and compare-and-swap. The files
backend steps (locks, reading under them, replacing packed-refs, reflogs) are
``files_backend.py``'s; the byte edits of packed-refs are ``packed.py``'s.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from enum import StrEnum

from tui.core.fsutil import fsync_dir
from tui.core.loose import LooseRef, parse_loose_contents
from tui.core.model import Verdict
from tui.core.packed import (
    GIT_PACKED_HEADER,
    bytes_key,
    drop_packed_records,
    header_line,
    insert_packed_records,
    invalid_refname,
    packed_records,
)
from tui.core.refstore import ObjectReader, RefSnapshot, judge_shadows, read_snapshot
from tui.core.write.errors import RefusedError, StateChangedError, UnsupportedError
from tui.core.write.files_backend import (
    ZERO_OID,
    RepoContext,
    RefState,
    describe_loose,
    ident_if_needed,
    lock_refs,
    open_repo_context,
    planned_locks,
    read_state,
    refuse_blockers,
    remove_empty_parents,
    replace_packed_refs,
    repo_blockers,
    reftable_blocker,
    short_id,
    write_reflog,
)
from tui.core.write.journal import ApplyResult, Journal, JournalEntry, b64, run_journaled, unb64
from tui.core.write.locking import HeldLock, LockSet, fault_point, make_marker, new_nonce
from tui.core.write.ownership import Meta, check_owned
from tui.core.write.recovery import recover_interrupted

__all__ = ["Action", "Keep", "ShadowItem", "ShadowPlan", "apply", "plan_shadow_prune", "undo_entry"]


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


def apply(plan: ShadowPlan, journal: Journal) -> ApplyResult:
    """Carry out a shadows prune plan (see the module doc for the steps)."""
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
    refuse_blockers([b for b in [reftable_blocker(ctx)] if b])  # the rest under the lock
    names = [item.name for item in changes]
    ident = ident_if_needed(ctx, [i.name for i in changes if i.action is Action.KEEP_PACKED])
    nonce = new_nonce()
    marker = make_marker(nonce)
    intent = [{"ref": i.name, "action": i.action.value, "before": i.before, "after": i.after} for i in changes]
    entry = journal.begin(
        "shadows-prune", plan.git_dir, plan.summary(), intent, locks=planned_locks(ctx, names, marker), nonce=nonce
    )
    with LockSet(marker, repo=ctx.git_dir) as locks:
        with journal.preparing(entry, locks.release_all):
            lock_refs(locks, ctx, names)
            state = read_state(ctx, names)
            refuse_blockers(repo_blockers(ctx, state.packed, locked=True))
            _compare_and_swap(changes, state)
            records = packed_records(state.packed_data, set(names), ctx.hex_width)
            items = [_journal_item(item, state, records) for item in changes]
            journal.record_before(entry, items, locks=locks.records())
        _run_journaled(entry, journal, locks, lambda: _carry_out(ctx, changes, state, entry, ident))
    for item in changes:
        if item.action is Action.KEEP_PACKED:
            # After unlocking, as git's files_transaction_finish() does (the lock file
            # itself keeps the directory non-empty until then).
            remove_empty_parents(ctx.git_dir, item.name)
    return ApplyResult(entry.id, [item.name for item in changes], recovered)


def _compare_and_swap(changes: list[ShadowItem], state: RefState) -> None:
    for item in changes:
        now = state.loose[item.name]
        if now.ref != item.loose:
            raise StateChangedError(
                f"{item.name} moved since the plan: its loose file said {describe_loose(item.loose)}, "
                f"now {describe_loose(now.ref)}; nothing was changed. Rescan and plan again"
            )
        packed_now = state.packed.values.get(item.name)
        if packed_now != item.packed_value:
            raise StateChangedError(
                f"{item.name} moved since the plan: packed-refs said {short_id(item.packed_value)}, "
                f"now {short_id(packed_now)}; nothing was changed. Rescan and plan again"
            )


def _journal_item(item: ShadowItem, state: RefState, records: dict[str, list[bytes]]) -> dict:
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
        "loose_b64": b64(now.data or b""),
        "loose_meta": list(now.meta) if now.meta else None,
        "packed_lines_b64": [b64(line) for line in records.get(item.name, [])],
        "packed_header_b64": b64(header_line(state.packed_data)),
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


def _carry_out(ctx: RepoContext, changes: list[ShadowItem], state: RefState, entry: JournalEntry, ident: str) -> None:
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


# --------------------------------------------------------------------------- undo


def undo_entry(entry: JournalEntry, journal: Journal) -> JournalEntry:
    """Restore the before-image of a ``shadows-prune`` entry."""
    ctx = open_repo_context(entry.repo)
    check_owned(_files_touched(ctx.git_dir, entry.items), what="undo this change")
    recover_interrupted(journal, ctx.git_dir)
    refuse_blockers([b for b in [reftable_blocker(ctx)] if b])  # the rest under the lock
    names = [item["ref"] for item in entry.items]
    ident = ident_if_needed(ctx, [i["ref"] for i in entry.items if i["action"] == Action.KEEP_PACKED.value])
    nonce = new_nonce()
    marker = make_marker(nonce)
    summary = f"undo {entry.id}: restore the refs it changed in {ctx.git_dir}"
    intent = [{"ref": item["ref"], "restores": item["action"]} for item in entry.items]
    undo = journal.begin(entry.kind, ctx.git_dir, summary, intent, locks=planned_locks(ctx, names, marker), nonce=nonce, undo_of=entry.id)
    with LockSet(marker, repo=ctx.git_dir) as locks:
        with journal.preparing(undo, locks.release_all):
            for item in entry.items:
                if item["action"] == Action.KEEP_PACKED.value:
                    # The loose file's directory may be gone (git removes empty parents).
                    os.makedirs(os.path.dirname(os.path.join(ctx.git_dir, item["ref"])), exist_ok=True)
            lock_refs(locks, ctx, names)
            state = read_state(ctx, names)
            refuse_blockers(repo_blockers(ctx, state.packed, locked=True))
            to_restore = [item for item in entry.items if _undo_state(item, state, entry) == "after"]
            inverse = [_inverse_item(item, state) for item in to_restore]
            journal.record_before(undo, inverse, locks=_lock_records_with_plans(locks, ctx.git_dir, to_restore))
        held = {lock.target: lock for lock in locks.held}
        _run_journaled(undo, journal, locks, lambda: _restore(ctx, to_restore, state, held, undo, ident), "undo")
    journal.mark_undone(entry, undo)
    return undo


def _undo_state(item: dict, state: RefState, entry: JournalEntry) -> str:
    """'after' (the entry's change is there: restore), 'before' (never happened: skip)."""
    name = item["ref"]
    now = state.loose[name]
    loose_before = unb64(item["loose_b64"])
    packed_now = state.packed.values.get(name)
    if item["action"] == Action.KEEP_PACKED.value:
        if now.data is None and packed_now == item["packed_value"]:
            return "after"
        if now.data == loose_before and packed_now == item["packed_value"]:
            return "before"
        was = f"no loose file, packed {short_id(item['packed_value'])}"
    else:
        if now.data == loose_before and packed_now is None:
            return "after"
        if now.data == loose_before and packed_now == item["packed_value"]:
            return "before"
        was = f"loose {describe_loose(parse_loose_contents(loose_before))}, not packed"
    shown = f"loose {describe_loose(now.ref)}, packed {short_id(packed_now)}"
    raise StateChangedError(
        f"cannot undo {entry.id}: {name} moved on since (it was left as {was}; now {shown}); "
        "nothing was changed"
    )


def _inverse_item(item: dict, state: RefState) -> dict:
    now = state.loose[item["ref"]]
    inverse = dict(item)
    inverse["before"], inverse["after"] = item["after"], item["before"]
    inverse["restores"] = "loose file" if item["action"] == Action.KEEP_PACKED.value else "packed-refs lines"
    inverse["current_loose_b64"] = b64(now.data or b"")
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


def _restore(ctx: RepoContext, items: list[dict], state: RefState, held: dict[str, HeldLock], undo: JournalEntry, ident: str) -> None:
    readd = {item["ref"]: [unb64(line) for line in item["packed_lines_b64"]] for item in items if item["action"] == Action.KEEP_LOOSE.value}
    if readd:
        header = next((unb64(i["packed_header_b64"]) for i in items if i.get("packed_header_b64")), GIT_PACKED_HEADER)
        data = insert_packed_records(state.packed_data, readd, ctx.hex_width, header)
        replace_packed_refs(ctx.git_dir, data, state.packed_meta, step="undo")
    message = f"gitward undo {undo.undo_of}: restore the loose value"
    for item in sorted(items, key=lambda i: bytes_key(i["ref"])):
        if item["action"] != Action.KEEP_PACKED.value:
            continue
        path = os.path.join(ctx.git_dir, item["ref"])
        meta = Meta(*item["loose_meta"]) if item.get("loose_meta") else None
        value = parse_loose_contents(unb64(item["loose_b64"]), ctx.hex_width)
        new = value.value or ZERO_OID[ctx.hex_width]
        write_reflog(ctx, item["ref"], item["packed_value"], new, message, ident)
        held[path].commit(unb64(item["loose_b64"]), meta, on_written=lambda: fault_point("undo:loose-written"))
        fault_point("undo:loose-restored")
