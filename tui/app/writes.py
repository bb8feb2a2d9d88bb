"""The console's write actions as plain functions, run in thread workers by the screens.

No Textual import: a screen's ``@work(thread=True)`` worker calls one of these and posts what
it returns (a plan to preview, or an ``Outcome`` to notify). Every function reads the files
afresh; the core compares the plan with the files again under git's locks when it applies
(compare-and-swap) and refuses if anything moved.

Errors become one-line ``Outcome`` values (``failure``): a ``RefusedError`` means nothing was
changed; an ``ApplyError`` names the journal entry whose undo restores the rest.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tui.app.text import clean, plural
from tui.core.write.gate import WriteGate
from tui.core.write.journal import Journal, JournalEntry
from tui.core.write.locking import ApplyError, RefusedError, StateChangedError, WriteError
from tui.core.model import Layout, LockFile, RepoReport, Worktree

BULK_REFS = 10  # more changed refs than this (or auto on the whole repository): type the name

# Problems that make a prunable worktree look like a moved or blinking volume, not a deleted one.
MOVED_CODES = ("worktree-path-mismatch", "current-worktree-prunable")
NOT_EXISTING = "gitdir file points to non-existent location"  # git's prunable reason


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one action did, as the one line the operator reads (already cleaned)."""

    ok: bool
    message: str
    entry_id: str | None = None
    refused: bool = False  # True: nothing was changed
    moved: bool = False  # True: the files moved on since the plan (compare-and-swap)

    @property
    def severity(self) -> str:
        if self.ok:
            return "information"
        return "warning" if self.refused and not self.moved else "error"

    @property
    def title(self) -> str:
        if self.ok:
            return "done"
        if self.moved:
            return "refused: changed since the preview"
        return "refused" if self.refused else "failed"


def one_line(text: object) -> str:
    return clean(str(text)).strip()


def failure(exc: BaseException, what: str) -> Outcome:
    """An exception from planning or applying, as an Outcome."""
    if isinstance(exc, StateChangedError):
        return Outcome(False, f"{what}: {one_line(exc)} (rescanned)", refused=True, moved=True)
    if isinstance(exc, RefusedError):
        return Outcome(False, f"{what}: {one_line(exc)}", refused=True)
    if isinstance(exc, ApplyError):
        undo = f"; journal entry {exc.entry_id} (J, then u, restores the rest)" if exc.entry_id else ""
        return Outcome(False, f"{what} stopped half-way: {one_line(exc)}{undo}", entry_id=exc.entry_id)
    if isinstance(exc, WriteError):
        return Outcome(False, f"{what}: {one_line(exc)}")
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return Outcome(False, f"{what}: {one_line(where)}{one_line(exc.strerror or exc)}; nothing was changed", refused=True)
    return Outcome(False, f"{what}: {type(exc).__name__}: {one_line(exc)}")


def attempt(what: str, job: Callable[[], Outcome]) -> Outcome:
    """Run ``job``; any write error becomes a failed Outcome (never an exception in a worker)."""
    try:
        return job()
    except (WriteError, OSError) as exc:
        return failure(exc, what)


def journal_for(gate: WriteGate | bool) -> Journal:
    """The journal in the state dir, holding the console's write gate (``host.gate``): the core
    refuses every change a closed gate forbids. A bool is read-only or not (the journal screen)."""
    return Journal(gate=gate if isinstance(gate, WriteGate) else WriteGate(gate))


def repo_label(report: RepoReport) -> str:
    return clean(report.name)


def confirm_name(report: RepoReport) -> str:
    """What a bulk action asks the operator to type (as ``gitward shadows prune`` asks)."""
    return os.path.basename(os.path.normpath(report.path))


# --------------------------------------------------------------------------- worktrees


def worktree_repo(report: RepoReport):
    from tui.core.write.worktree_edit import WorktreeRepo

    return WorktreeRepo.from_candidate(report)


def worktree_arg(wt: Worktree) -> str:
    """How the core finds this worktree: its path when git lists it, else its admin id."""
    if wt.listed and wt.path:
        return wt.path
    return f"worktrees/{wt.id}"


def worktree_label(wt: Worktree) -> str:
    return f"worktrees/{clean(wt.id)}" if wt.id else "(main)"


def lock_worktree(report: RepoReport, wt: Worktree, reason: str | None, journal: Journal) -> Outcome:
    from tui.core.write import worktree_edit

    def job() -> Outcome:
        plan = worktree_edit.plan_lock(worktree_repo(report), worktree_arg(wt), reason or None)
        entry = worktree_edit.apply(plan, journal)
        why = f" ({one_line(reason)})" if reason else ""
        return Outcome(True, f"locked {worktree_label(wt)}{why}; journal entry {entry.id}", entry.id)

    return attempt(f"lock {worktree_label(wt)}", job)


def lock_worktrees(report: RepoReport, worktrees: Iterable[Worktree], reason: str | None, journal: Journal) -> Outcome:
    """Lock several worktrees (the prune dialog's "lock instead"); stops at the first failure."""
    done: list[str] = []
    for wt in worktrees:
        outcome = lock_worktree(report, wt, reason, journal)
        if not outcome.ok:
            if done:
                return Outcome(False, f"{outcome.message} (already locked: {', '.join(done)})", refused=outcome.refused, moved=outcome.moved)
            return outcome
        done.append(f"{worktree_label(wt)} ({outcome.entry_id})")
    if not done:
        return Outcome(False, "nothing to lock", refused=True)
    why = f" ({one_line(reason)})" if reason else ""
    return Outcome(True, f"locked {', '.join(done)}{why}; prune keeps locked worktrees")


def unlock_worktree(report: RepoReport, wt: Worktree, journal: Journal) -> Outcome:
    from tui.core.write import worktree_edit

    def job() -> Outcome:
        plan = worktree_edit.plan_unlock(worktree_repo(report), worktree_arg(wt))
        entry = worktree_edit.apply(plan, journal)
        return Outcome(True, f"unlocked {worktree_label(wt)}; journal entry {entry.id}", entry.id)

    return attempt(f"unlock {worktree_label(wt)}", job)


@dataclass(frozen=True, slots=True)
class Caution:
    """Why pruning this worktree may destroy something that is only away for a while."""

    worktree_id: str
    message: str
    suggest: str  # "lock" or "repair"
    path: str | None = None  # repair: where the worktree seems to be now


@dataclass
class PrunePreview:
    plan: object  # worktree_edit.PrunePlan
    cautions: list[Caution] = field(default_factory=list)

    @property
    def suggests_lock(self) -> bool:
        return any(c.suggest == "lock" for c in self.cautions)

    @property
    def suggests_repair(self) -> bool:
        return any(c.suggest == "repair" for c in self.cautions)


def plan_prune(report: RepoReport) -> PrunePreview:
    """The prune plan (git's rules, gitward's extra care) and the reasons to lock or repair instead."""
    from tui.core.write import worktree_edit

    plan = worktree_edit.plan_prune(worktree_repo(report))
    return PrunePreview(plan, prune_cautions(report, plan))


def prune_cautions(report: RepoReport, plan) -> list[Caution]:
    """Prunable worktrees whose directory looks moved or on a volume that may be away.

    Reads the file system (a few stats): call it from a worker.
    """
    ids = {item.id: item for item in plan.items}
    by_id = {wt.id: wt for wt in report.worktrees if wt.id}
    cautions: dict[str, Caution] = {}
    problems = list(report.problems) + [p for wt in report.worktrees for p in wt.problems]
    for problem in problems:
        if problem.subject in ids and problem.code in MOVED_CODES and problem.subject not in cautions:
            suggest = "repair" if problem.code == "worktree-path-mismatch" else "lock"
            cautions[problem.subject] = Caution(problem.subject, one_line(problem.message), suggest, _found_at(report, problem.subject))
    common = _device(report.git_dir)
    for item_id, item in ids.items():
        if item_id in cautions or item.reason != NOT_EXISTING or not item.path:
            continue
        wt = by_id.get(item_id)
        caution = _volume_caution(report, item_id, item.path, common, wt)
        if caution is not None:
            cautions[item_id] = caution
    return [cautions[i] for i in ids if i in cautions]


def _volume_caution(report: RepoReport, item_id: str, path: str, common_device: int | None, wt: Worktree | None) -> Caution | None:
    label = f"worktrees/{clean(item_id)}"
    if os.path.isdir(path):
        return Caution(
            item_id,
            f"{label}: {clean(path)} exists but its .git file is gone or wrong: it looks moved or damaged, not deleted",
            "repair",
            path,
        )
    parent, missing_levels = _nearest_existing(path)
    if parent is None:
        return Caution(item_id, f"{label}: cannot tell whether {clean(path)} exists (unknown is not gone)", "lock")
    if missing_levels > 1:
        gone = os.path.dirname(path)
        return Caution(
            item_id,
            f"{label}: its parent {clean(gone)} is missing too: an unmounted or moved volume looks like this",
            "lock",
        )
    device = _device(parent)
    if device is not None and common_device is not None and device != common_device:
        return Caution(
            item_id,
            f"{label}: {clean(path)} was on another file system than the repository "
            f"(mounted at {clean(_mount_point(parent))}): a blinking volume looks like this",
            "lock",
        )
    if report.layout is Layout.GIT_SYNC:
        return Caution(
            item_id,
            f"{label}: a git-sync worktree; when its (NFS) volume blinks it looks exactly like this. "
            "Prune only if that commit is retired.",
            "lock",
        )
    return None


def _found_at(report: RepoReport, worktree_id: str) -> str | None:
    """Where a git-sync worktree is found on this mount (``<root>/.worktrees/<id>``)."""
    candidate = os.path.join(report.path, ".worktrees", worktree_id)
    return candidate if os.path.isdir(candidate) else None


def _nearest_existing(path: str) -> tuple[str | None, int]:
    """The closest existing ancestor of ``path`` and how many levels are missing; None: unknown."""
    levels = 0
    current = path
    while True:
        try:
            os.stat(current)
            return current, levels
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                return None, levels
        parent = os.path.dirname(current)
        if parent == current:
            return None, levels
        current = parent
        levels += 1


def _device(path: str) -> int | None:
    try:
        return os.stat(path).st_dev
    except OSError:
        return None


def _mount_point(path: str) -> str:
    current = os.path.abspath(path)
    while not os.path.ismount(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def apply_prune(report: RepoReport, plan, journal: Journal) -> Outcome:
    from tui.core.write import worktree_edit

    def job() -> Outcome:
        entry = worktree_edit.apply(plan, journal)
        if entry is None:
            return Outcome(False, "nothing to prune", refused=True)
        ids = ", ".join(clean(item.id) for item in plan.items)
        return Outcome(True, f"pruned {plural(len(plan.items), 'worktree')}: {ids}; journal entry {entry.id}", entry.id)

    return attempt("prune worktrees", job)


def plan_repair(report: RepoReport, path: str | None):
    from tui.core.write import worktree_edit

    return worktree_edit.plan_repair(worktree_repo(report), [path] if path else [], cwd=report.path)


def apply_repair(report: RepoReport, plan, journal: Journal) -> Outcome:
    from tui.core.write import worktree_edit

    def job() -> Outcome:
        entry = worktree_edit.apply(plan, journal)
        if entry is None:
            return Outcome(False, "nothing to repair", refused=True)
        return Outcome(True, f"repaired {plural(len(plan.items), 'file')}; journal entry {entry.id}", entry.id)

    return attempt("repair worktrees", job)


# --------------------------------------------------------------------------- shadows


def plan_shadows(report: RepoReport, refs: list[str] | None):
    """``shadows prune --keep auto`` for the marked refs (None: every shadow of the repository)."""
    from tui.core.write import shadows as refedit

    return refedit.plan_shadow_prune(report.git_dir, refedit.Keep.AUTO, refs)


def plan_shadow_decisions(report: RepoReport, previewed, decisions: dict):
    """The previewed plan with the operator's per-ref decisions in place of ``--keep auto``.

    ``decisions``: ref name -> ``Keep.PACKED`` or ``Keep.LOOSE``. Each side is planned by the
    core as ``shadows prune --keep packed|loose --ref NAME...`` (naming a ref is what allows a
    change auto would not make, with its warning), and its items replace the previewed ones:
    one plan, applied under one set of locks and journaled as one entry (one undo). A decided
    ref whose files differ from what the preview showed is refused: the operator decided on
    values they saw. Reads the files: call it from a worker.
    """
    from dataclasses import replace

    from tui.core.write import shadows as refedit

    shown = {item.name: item for item in previewed.items}
    merged = dict(shown)
    refusals = list(previewed.refusals)
    for keep in (refedit.Keep.PACKED, refedit.Keep.LOOSE):
        names = sorted(name for name, chosen in decisions.items() if chosen is keep)
        if not names:
            continue
        side = refedit.plan_shadow_prune(report.git_dir, keep, names)
        refusals.extend(r for r in side.refusals if str(r) not in {str(x) for x in refusals})
        for item in side.items:
            seen = shown.get(item.name)
            if seen is None or seen.loose != item.loose or seen.packed_value != item.packed_value:
                raise StateChangedError(
                    f"{item.name} moved since the preview; nothing was changed. Rescan and preview again"
                )
            if item.action is refedit.Action.SKIP:
                raise RefusedError(f"keep {keep.value} for {item.name}: {item.note}; nothing was changed")
            merged[item.name] = item
    return replace(previewed, items=[merged[name] for name in shown], refusals=refusals)


def is_bulk(plan, refs: list[str] | None) -> bool:
    return refs is None or len(plan.changes) > BULK_REFS


def apply_shadows(report: RepoReport, plan, journal: Journal) -> Outcome:
    from tui.core.write import shadows as refedit

    def job() -> Outcome:
        result = refedit.apply(plan, journal)
        if result.entry_id is None:
            return Outcome(False, "nothing to change", refused=True)
        recovered = f"; removed {plural(len(result.recovered_locks), 'lock')} an interrupted gitward left" if result.recovered_locks else ""
        return Outcome(
            True,
            f"resolved {plural(len(result.changed), 'shadowed ref')} in {repo_label(report)}{recovered}; journal entry {result.entry_id}",
            result.entry_id,
        )

    return attempt("prune shadows", job)


# --------------------------------------------------------------------------- locks


def plan_lock_clear(report: RepoReport, lock: LockFile, journal: Journal, now: float | None = None):
    """``now``: the console's clock (None: the real time), so the dialog agrees with the table."""
    from tui.core.write import shadows as refedit

    return refedit.plan_lock_clear(report.git_dir, lock.path, journal=journal, now=now)


def apply_lock_clear(report: RepoReport, plan, journal: Journal) -> Outcome:
    from tui.core.write import shadows as refedit

    def job() -> Outcome:
        result = refedit.apply(plan, journal)
        return Outcome(True, f"removed {clean(plan.relpath)}; journal entry {result.entry_id}", result.entry_id)

    return attempt(f"clear {clean(plan.relpath)}", job)


# --------------------------------------------------------------------------- journal


def journal_entries(journal: Journal) -> list[JournalEntry]:
    """Newest first, as ``gitward journal`` lists them (journal_words.newest_first)."""
    from tui.core.write.journal_words import newest_first

    return newest_first(journal.entries())


def undo_reason(entry: JournalEntry) -> str | None:
    """Why this entry cannot be undone (None: it can)."""
    if entry.undo_of:
        return f"it is the undo of {entry.undo_of}; to redo, run the action again"
    if entry.undone_by:
        return f"already undone by {entry.undone_by}"
    if entry.status in ("running", "unfinished"):
        return "still in progress"
    if entry.undo_expired:
        return entry.undo_expired
    return None


def undo(journal: Journal, entry_id: str) -> Outcome:
    from tui.core.write.journal import undo as core_undo

    def job() -> Outcome:
        undo_entry = core_undo(journal, entry_id)
        return Outcome(True, f"{one_line(undo_entry.summary)}; journal entry {undo_entry.id}", undo_entry.id)

    return attempt(f"undo {clean(entry_id)}", job)


def same_repo(git_dir: str, report: RepoReport) -> bool:
    """Does a journal entry's repository (its git common dir) name this report's repository?"""
    try:
        return os.path.realpath(git_dir) == os.path.realpath(report.git_dir)
    except OSError:
        return False


def rescan(report: RepoReport, now: float) -> RepoReport | None:
    """Read one repository again (None: it is no longer a repository)."""
    from tui.core.discovery import classify
    from tui.core.scan import scan_repo

    candidate = classify(report.path, report.root)
    return None if candidate is None else scan_repo(candidate, now)
