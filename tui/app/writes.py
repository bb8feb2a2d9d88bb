"""The console's write actions as plain functions, run in thread workers by the screens.

No Textual import: a screen's ``@work(thread=True)`` worker calls one of these and posts what
it returns (a plan to preview, or an ``Outcome`` to notify). Every function reads the files
afresh; the core compares the plan with the files again under git's locks when it applies
(compare-and-swap) and refuses if anything moved.

Errors become one-line ``Outcome`` values (``failure``): a ``RefusedError`` means nothing was
changed; an ``ApplyError`` names the journal entry whose undo restores the rest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from tui.app.text import clean, plural
from tui.core.write.gate import WriteGate
from tui.core.write.journal import Journal, JournalEntry
from tui.core.write.errors import ApplyError, RefusedError, StateChangedError, WriteError
from tui.core.model import LockFile, RepoReport, Worktree
# Re-exported for the screens: the cautions are the core's (the CLI shows the same ones).
from tui.core.write.prune_cautions import NOT_EXISTING, Caution, PrunePreview, preview_prune, prune_cautions  # noqa: F401

BULK_REFS = 10  # more changed refs than this (or auto on the whole repository): type the name


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
    # lazy: the write side loads with the first write (read-only runs never load it)
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
    # lazy: the write side loads with the first write (read-only runs never load it)
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
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write import worktree_edit

    def job() -> Outcome:
        plan = worktree_edit.plan_unlock(worktree_repo(report), worktree_arg(wt))
        entry = worktree_edit.apply(plan, journal)
        return Outcome(True, f"unlocked {worktree_label(wt)}; journal entry {entry.id}", entry.id)

    return attempt(f"unlock {worktree_label(wt)}", job)


def plan_prune(report: RepoReport) -> PrunePreview:
    """The prune plan and the core's cautions (moved, or on a volume that may be away), with
    their messages made safe to show (they hold paths from the repository)."""
    preview = preview_prune(report)
    preview.cautions = [replace(c, message=one_line(c.message)) for c in preview.cautions]
    return preview


def apply_prune(report: RepoReport, plan, journal: Journal) -> Outcome:
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write import worktree_edit

    def job() -> Outcome:
        entry = worktree_edit.apply(plan, journal)
        if entry is None:
            return Outcome(False, "nothing to prune", refused=True)
        ids = ", ".join(clean(item.id) for item in plan.items)
        return Outcome(True, f"pruned {plural(len(plan.items), 'worktree')}: {ids}; journal entry {entry.id}", entry.id)

    return attempt("prune worktrees", job)


def plan_repair(report: RepoReport, path: str | None):
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write import worktree_edit

    return worktree_edit.plan_repair(worktree_repo(report), [path] if path else [], cwd=report.path)


def apply_repair(report: RepoReport, plan, journal: Journal) -> Outcome:
    # lazy: the write side loads with the first write (read-only runs never load it)
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
    # lazy: the write side loads with the first write (read-only runs never load it)
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
    # lazy (import cost): loaded on first use, not with this module
    from dataclasses import replace

    # lazy: the write side loads with the first write (read-only runs never load it)
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
    # lazy: the write side loads with the first write (read-only runs never load it)
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
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write import lock_clear

    return lock_clear.plan_lock_clear(report.git_dir, lock.path, journal=journal, now=now)


def apply_lock_clear(report: RepoReport, plan, journal: Journal) -> Outcome:
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write import lock_clear

    def job() -> Outcome:
        result = lock_clear.apply(plan, journal)
        return Outcome(True, f"removed {clean(plan.relpath)}; journal entry {result.entry_id}", result.entry_id)

    return attempt(f"clear {clean(plan.relpath)}", job)


# --------------------------------------------------------------------------- journal


def journal_entries(journal: Journal) -> list[JournalEntry]:
    """Newest first, as ``gitward journal`` lists them (journal_words.newest_first)."""
    # lazy: the write side loads with the first write (read-only runs never load it)
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
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write.undo import undo as core_undo

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
    # lazy (import cost): loaded on first use, not with this module
    from tui.core.discovery import classify
    from tui.core.scan import scan_repo

    candidate = classify(report.path, report.root)
    return None if candidate is None else scan_repo(candidate, now)
