"""The repository screen's write actions: worktrees, shadows, stale locks.

``RepoWritesScreen`` is the base class of ``RepoScreen`` (a real ``Screen``: its handlers use
``@on``). Every action follows one path: plan in a thread worker, which posts a typed message
(``PrunePlanned``, ``ShadowsPlanned``, ... in ``tui/app/write_messages.py``); the screen shows the plan
in a dialog (Cancel focused); a thread worker applies exactly that plan (``WriteFinished``); the
screen notifies the one-line result (``markup=False``) and reads the repository again. The
bindings live on the tables they apply to (``screen.`` actions); all action names are in
``MUTATING_ACTIONS``, so the write gate (read-only) hides them and their keys say why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.content import Content
from textual.worker import Worker, WorkerState

from tui.app import writes as actions
from tui.app.backend import Host
from tui.app.dialogs import Choice, ConfirmDialog, PathDialog, ReasonDialog, ShadowChoice, ShadowPreview, TypeNameDialog
from tui.app.write_messages import (
    LockClearPlanned,
    PrunePlanned,
    RepairPlanned,
    ShadowDecisionsPlanned,
    ShadowsPlanned,
    WriteFinished,
)
from tui.app.read_only import WRITE_ACTIONS, GatedScreen
from tui.app.text import clean, display_path, duration
from tui.app.widgets.ref_browser import RefBrowser
from tui.app.writes import Outcome
from tui.core.model import LockFile, RepoReport, Source, Worktree
from tui.core.write.journal import Journal
from tui.core.write.errors import WriteError

PlanMessage = PrunePlanned | RepairPlanned | ShadowsPlanned | ShadowDecisionsPlanned | LockClearPlanned

DEFAULT_KEEP_REASON = "kept from prune by gitward: its volume may be away (moved, unmounted or blinking)"

# Why a greyed write action's key does nothing (None from write_action_state).
UNAVAILABLE = {
    "lock_worktree": "highlight a linked worktree that is not locked",
    "unlock_worktree": "highlight a locked linked worktree",
    "prune_worktrees": "no worktree here is prunable: nothing to prune",
    "repair_worktrees": "no linked worktree here: nothing to repair",
    "clear_lock": "only a stale lock (older than its grace period) can be cleared",
    "mark_shadow": "no ref here is both loose and packed: nothing to mark",
    "preview_shadows": "no ref here is both loose and packed: nothing to resolve",
}


class RepoWritesScreen(GatedScreen):
    """The write half of ``RepoScreen``: expects ``report``, ``_rescan`` and the tab widgets."""

    host: Host
    report: RepoReport
    write_busy: str | None = None  # the action in progress (one at a time)
    _write_states: tuple = ()

    def _rescan(self, path: str, root: str) -> Any:
        raise NotImplementedError  # RepoScreen reads the repository again in its worker

    # --- availability -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)  # the write gate first
        if allowed is not True or action not in WRITE_ACTIONS:
            return allowed
        return self.write_action_state(action)

    def write_action_state(self, action: str) -> bool | None:
        """True: available; None: greyed (does not apply to the row under the cursor)."""
        if action in ("lock_worktree", "unlock_worktree"):
            wt = self.current_worktree
            if wt is None or wt.main or wt.id is None:
                return None
            return (not wt.locked if action == "lock_worktree" else wt.locked) or None
        if action == "prune_worktrees":
            return any(wt.prunable or _duplicate(wt) for wt in self.report.worktrees) or None
        if action == "repair_worktrees":
            return any(not wt.main and wt.id for wt in self.report.worktrees) or None
        if action == "clear_lock":
            lock = self.current_lock
            return (lock is not None and lock.stale) or None
        if action in ("mark_shadow", "preview_shadows"):
            return bool(self.report.refs.both) or None
        return True

    def refresh_write_bindings(self) -> None:
        """Rebuild the footer only when a write action's availability changed."""
        states = tuple(self.write_action_state(action) for action in WRITE_ACTIONS)
        if states != self._write_states:
            self._write_states = states
            self.refresh_bindings()

    @property
    def current_worktree(self) -> Worktree | None:
        found = self.query("#worktree-table")
        return found.first().current if found else None

    @property
    def current_lock(self) -> LockFile | None:
        found = self.query("#lock-table")
        return found.first().current if found else None

    @property
    def ref_list(self):
        found = self.query("#ref-list")
        return found.first() if found else None

    # --- one action at a time ---------------------------------------------------------------------

    def unavailable_reason(self, action: str) -> str | None:
        return UNAVAILABLE.get(action)

    def _begin(self, what: str) -> bool:
        if not self.host.gate.allowed:  # the bindings are hidden; this guards direct calls
            self.notify(self.host.gate.reason or "", title=what, severity="warning", timeout=5, markup=False)
            return False
        if self.write_busy is not None:
            self.notify(f"wait: {self.write_busy} is still in progress", title="busy", severity="warning", markup=False)
            return False
        self.write_busy = what
        return True

    def _end(self) -> None:
        self.write_busy = None

    def _journal(self) -> Journal:
        return actions.journal_for(self.host.gate)

    @work(thread=True, exit_on_error=False, group="write-plan")
    def _plan_in_thread(self, what: str, make_plan: Callable[[], PlanMessage]) -> None:
        """Run ``make_plan`` (it reads the files) and post the typed message it returns."""
        try:
            planned = make_plan()
        except (WriteError, OSError) as exc:
            self.post_message(WriteFinished(actions.failure(exc, what)))
            return
        self.post_message(planned)

    @work(thread=True, exit_on_error=False, group="write")
    def _apply_in_thread(self, job: Callable[[Journal], Outcome]) -> None:
        outcome = job(self._journal())
        if not self.post_message(WriteFinished(outcome)):
            # The screen was closed meanwhile: the change happened all the same; say so.
            app = self.app
            app.call_from_thread(app.notify, outcome.message, title=outcome.title, severity=outcome.severity, timeout=12, markup=False)

    @on(WriteFinished)
    def _write_finished(self, message: WriteFinished) -> None:
        message.stop()
        self._end()
        outcome = message.outcome
        self.notify(outcome.message, title=outcome.title, severity=outcome.severity, timeout=8 if outcome.ok else 12, markup=False)
        if outcome.ok and self.ref_list is not None:
            self.ref_list.clear_marks()
        self.reload_after_write()  # after a refusal too: the files moved, show what is there now

    def reload_after_write(self) -> None:
        """Read the repository again (tabs, title, host list) and the refs if they are loaded."""
        self._rescan(self.report.path, self.report.root)
        for browser in self.query(RefBrowser):
            if browser.started:
                browser.load()

    @on(Worker.StateChanged)
    def _write_worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group in ("write", "write-plan") and event.state == WorkerState.ERROR:
            self._end()
            error = event.worker.error
            self.notify(clean(f"{type(error).__name__}: {error}"), title="action failed", severity="error", timeout=12, markup=False)
            self.reload_after_write()

    def _refused(self, refusal: Exception, what: str) -> None:
        self._end()
        outcome = actions.failure(refusal, what)
        self.notify(outcome.message, title=outcome.title, severity=outcome.severity, timeout=12, markup=False)

    def _ask(self, dialog, then: Callable[[Any], None]) -> None:
        """Show a dialog; ``then`` gets its result and ends the busy state unless it goes on."""
        self.app.push_screen(dialog, then)

    def _apply_if(self, chosen: str | None, wanted: str, job: Callable[[Journal], Outcome]) -> None:
        if chosen == wanted:
            self._apply_in_thread(job)
        else:
            self._end()

    # --- worktrees: lock, unlock ------------------------------------------------------------------

    def action_lock_worktree(self) -> None:
        wt = self.current_worktree
        if wt is None or wt.main or wt.locked or not self._begin("lock"):
            return
        detail = []
        if wt.missing:
            detail.append(Content.assemble(("Its directory is missing: ", "bold $text-warning"), "locking keeps git from pruning it while the volume is away."))
        self._ask(ReasonDialog(f"worktrees/{clean(wt.id)}  {display_path(wt.path)}", detail=detail), lambda reason: self._lock(wt, reason))

    def _lock(self, wt: Worktree, reason: str | None) -> None:
        if reason is None:
            self._end()
            return
        report = self.report
        self._apply_in_thread(lambda journal: actions.lock_worktree(report, wt, reason.strip(), journal))

    def action_unlock_worktree(self) -> None:
        wt = self.current_worktree
        if wt is None or wt.main or not wt.locked or not self._begin("unlock"):
            return
        report = self.report
        if not (wt.missing or not wt.listed):
            self._apply_in_thread(lambda journal: actions.unlock_worktree(report, wt, journal))
            return
        why = clean(wt.lock_reason) or "(no reason given)"
        dialog = ConfirmDialog(
            Content.assemble(("Unlock ", "bold"), (f"worktrees/{clean(wt.id)}", "bold $text-accent"), ("?", "bold")),
            [
                Content.assemble(("Locked because: ", "bold"), why),
                Content.assemble(
                    ("Its directory ", "bold $text-warning"),
                    (display_path(wt.path) or "(unknown)", "bold"),
                    (" does not exist. ", "bold $text-warning"),
                    "Once unlocked, the next 'git worktree prune' (git-sync runs one on every cleanup) removes its "
                    "admin data. Unlock only if the worktree is really gone.",
                ),
            ],
            [Choice("unlock", "Unlock")],
        )
        self._ask(dialog, lambda choice: self._unlock_confirmed(wt, choice))

    def _unlock_confirmed(self, wt: Worktree, choice: str | None) -> None:
        report = self.report
        self._apply_if(choice, "unlock", lambda journal: actions.unlock_worktree(report, wt, journal))

    # --- worktrees: prune, repair -----------------------------------------------------------------

    def action_prune_worktrees(self) -> None:
        if not self._begin("prune"):
            return
        report = self.report
        self._plan_in_thread("prune worktrees", lambda: PrunePlanned(actions.plan_prune(report)))

    @on(PrunePlanned)
    def _prune_planned(self, message: PrunePlanned) -> None:
        message.stop()
        preview = message.preview
        plan = preview.plan
        if plan.refusals:
            self._refused(plan.refusals[0], "prune worktrees")
            return
        if not plan.items:
            self._end()
            kept = "; ".join(f"worktrees/{clean(i.id)}: {clean(i.reason)}" for i in plan.kept)
            message = "nothing to prune" + (f"; gitward keeps {kept}" if kept else "")
            self.notify(message, title="prune", severity="information", markup=False)
            return
        count = len(plan.items)
        body: list = [
            Content(
                "'git worktree prune' would remove the admin data (worktrees/<id>) of these worktrees; "
                "their directories are already gone. gitward keeps a copy in the journal: undo puts it back."
            )
        ]
        for item in plan.items:
            body.append(
                Content.assemble(
                    ("• ", "bold"),
                    (f"worktrees/{clean(item.id)}", "bold"),
                    "\n  ",
                    display_path(item.path) or "(not listed by git)",
                    "\n  ",
                    (clean(item.reason), "$text-muted"),
                )
            )
        for item in plan.kept:
            body.append(Content.assemble(("kept: ", "bold $text-primary"), f"worktrees/{clean(item.id)}: ", clean(item.reason)))
        choices = []
        if preview.cautions:
            parts: list = [("▲ Moved or away, not deleted? ", "bold $text-warning")]
            for caution in preview.cautions:
                parts += ["\n• ", caution.message]
            them = "it" if len(preview.cautions) == 1 else "them"
            parts += [
                "\n",
                ("Lock instead", "bold"),
                f" keeps {them} from every prune (git-sync's cleanup too) until the volume is back",
            ]
            if preview.suggests_repair:
                parts += ["; ", ("Repair…", "bold"), " points git at where a moved worktree is now"]
            parts.append(".")
            body.append(Content.assemble(*parts))
            choices.append(Choice("lock", "Lock instead", "primary"))
            if preview.suggests_repair:
                choices.append(Choice("repair", "Repair…", "primary"))
        choices.append(Choice("prune", f"Prune {count}"))
        dialog = ConfirmDialog(
            Content.assemble(("Prune ", "bold"), (f"{count} worktree{'s' if count != 1 else ''}", "bold $text-error"), (" of ", "bold"), (clean(self.report.name), "bold $text-accent")),
            body,
            choices,
            id="prune-dialog",
        )
        self._ask(dialog, lambda choice: self._prune_chosen(preview, choice))

    def _prune_chosen(self, preview: actions.PrunePreview, choice: str | None) -> None:
        report = self.report
        if choice == "prune":
            plan = preview.plan
            self._apply_in_thread(lambda journal: actions.apply_prune(report, plan, journal))
        elif choice == "lock":
            ids = {c.worktree_id for c in preview.cautions}
            worktrees = [wt for wt in report.worktrees if wt.id in ids and not wt.locked]
            what = ", ".join(f"worktrees/{clean(wt.id)}" for wt in worktrees)
            self._ask(
                ReasonDialog(what, value=DEFAULT_KEEP_REASON),
                lambda reason: self._lock_many(worktrees, reason),
            )
        elif choice == "repair":
            path = next((c.path for c in preview.cautions if c.suggest == "repair" and c.path), "")
            self._ask(PathDialog(value=path or ""), self._repair_path_chosen)
        else:
            self._end()

    def _lock_many(self, worktrees: list[Worktree], reason: str | None) -> None:
        if reason is None:
            self._end()
            return
        report = self.report
        self._apply_in_thread(lambda journal: actions.lock_worktrees(report, worktrees, reason.strip(), journal))

    def action_repair_worktrees(self) -> None:
        if not self._begin("repair"):
            return
        wt = self.current_worktree
        value = wt.path if wt is not None and not wt.main and wt.listed and not wt.missing else ""
        self._ask(PathDialog(value=value), self._repair_path_chosen)

    def _repair_path_chosen(self, path: str | None) -> None:
        if path is None:
            self._end()
            return
        report = self.report
        path = path.strip() or None
        self._plan_in_thread("repair worktrees", lambda: RepairPlanned(actions.plan_repair(report, path)))

    @on(RepairPlanned)
    def _repair_planned(self, message: RepairPlanned) -> None:
        message.stop()
        plan = message.plan
        if plan.refusals:
            self._refused(plan.refusals[0], "repair worktrees")
            return
        if not plan.items:
            self._end()
            errors = "; ".join(f"{clean(message)}: {clean(path)}" for path, message in plan.errors)
            if errors:
                self.notify(f"repair: nothing gitward can fix: {errors}", title="refused", severity="warning", timeout=12, markup=False)
            else:
                self.notify("nothing to repair: every worktree's files point where they should", title="repair", markup=False)
            return
        body: list = []
        for item in plan.items:
            body.append(
                Content.assemble(
                    ("• ", "bold"),
                    (clean(item.message), "bold"),
                    ": ",
                    display_path(item.shown),
                    "\n  ",
                    (display_path(item.file), "$text-muted"),
                    "\n  ",
                    (clean(_text(item.old)), "$text-error"),
                    "  →  ",
                    (clean(_text(item.new)), "$text-success"),
                )
            )
        for path, message in plan.errors:
            body.append(Content.assemble(("✖ ", "bold $text-error"), clean(message), ": ", display_path(path)))
        count = len(plan.items)
        dialog = ConfirmDialog(
            Content.assemble(("Repair ", "bold"), (f"{count} file{'s' if count != 1 else ''}", "bold $text-warning"), (" of ", "bold"), (clean(self.report.name), "bold $text-accent")),
            body,
            [Choice("repair", f"Repair {count}", "warning")],
            id="repair-dialog",
        )
        report = self.report
        self._ask(dialog, lambda choice: self._apply_if(choice, "repair", lambda journal: actions.apply_repair(report, plan, journal)))

    # --- refs: mark, preview, apply ---------------------------------------------------------------

    def action_mark_shadow(self) -> None:
        ref_list = self.ref_list
        if ref_list is None or not self.host.gate.allowed:
            return
        ref = ref_list.current
        if ref is None:
            return
        if ref.source is not Source.BOTH:
            self.notify("only shadows (refs both loose and packed) can be marked; s shows only them", title="mark", severity="warning", timeout=4, markup=False)
            return
        ref_list.toggle_mark(ref.name)
        ref_list.action_cursor_down()

    def action_preview_shadows(self) -> None:
        ref_list = self.ref_list
        refs = sorted(ref_list.marked) if ref_list is not None and ref_list.marked else None
        if not self._begin("shadows preview"):
            return
        report = self.report
        self._plan_in_thread("prune shadows", lambda: ShadowsPlanned(actions.plan_shadows(report, refs), refs))

    @on(ShadowsPlanned)
    def _shadows_planned(self, message: ShadowsPlanned) -> None:
        message.stop()
        plan, refs = message.plan, message.refs
        bulk = actions.is_bulk(plan, refs)
        name = actions.confirm_name(self.report)
        dialog = ShadowPreview(plan, self.report.name, bulk=bulk, confirm_name=name, marked=len(refs or ()), git_dir=self.report.git_dir)
        self._ask(dialog, lambda choice: self._shadows_chosen(plan, refs, choice))

    def _shadows_chosen(self, plan, refs: list[str] | None, choice: ShadowChoice | None) -> None:
        if choice is None:
            self._end()
            return
        if not choice.decisions:
            self._shadows_confirmed(plan, actions.is_bulk(plan, refs))
            return
        report, decisions = self.report, choice.decisions
        self._plan_in_thread(
            "prune shadows",
            lambda: ShadowDecisionsPlanned(
                decided := actions.plan_shadow_decisions(report, plan, decisions), actions.is_bulk(decided, refs)
            ),
        )

    @on(ShadowDecisionsPlanned)
    def _decisions_planned(self, message: ShadowDecisionsPlanned) -> None:
        message.stop()
        if message.plan.refusals:
            self._refused(message.plan.refusals[0], "prune shadows")
            return
        self._shadows_confirmed(message.plan, message.bulk)

    def _shadows_confirmed(self, plan, bulk: bool) -> None:
        if not bulk:
            self._apply_shadows(plan)
            return
        name = actions.confirm_name(self.report)
        count = len(plan.changes)
        what = Content.assemble(
            (f"{count} ref{'s' if count != 1 else ''}", "bold"),
            " change in ",
            (display_path(self.report.path), "bold"),
            " (the plan you just previewed).",
        )
        self._ask(TypeNameDialog(name, what), lambda typed: self._name_typed(plan, name, typed))

    def _name_typed(self, plan, name: str, typed: str | None) -> None:
        if typed is None:
            self._end()
            return
        if typed.strip() != name:
            self._end()
            self.notify(
                f"prune shadows: the name typed ({clean(typed.strip()) or 'nothing'}) is not {name}; nothing was changed",
                title="refused",
                severity="warning",
                timeout=10,
                markup=False,
            )
            return
        self._apply_shadows(plan)

    def _apply_shadows(self, plan) -> None:
        report = self.report
        self._apply_in_thread(lambda journal: actions.apply_shadows(report, plan, journal))

    # --- locks ------------------------------------------------------------------------------------

    def action_clear_lock(self) -> None:
        lock = self.current_lock
        if lock is None or not lock.stale or not self._begin("clear lock"):
            return
        report = self.report
        self._plan_in_thread(
            f"clear {clean(lock.path)}", lambda: LockClearPlanned(actions.plan_lock_clear(report, lock, self._journal(), self.host.now))
        )

    @on(LockClearPlanned)
    def _lock_clear_planned(self, message: LockClearPlanned) -> None:
        message.stop()
        plan = message.plan
        if plan.refusals:
            self._refused(plan.refusals[0], f"clear {clean(plan.relpath)}")
            return
        body = [
            Content.assemble(
                (clean(plan.relpath), "bold"),
                f" is {duration(plan.age_seconds)} old; its grace period is {duration(plan.grace_seconds)}.",
            ),
        ]
        if plan.left_by:
            body.append(Content(f"It was left by an interrupted gitward (journal entry {clean(plan.left_by)}): nobody holds it."))
        else:
            body.append(
                Content(
                    "A git process that still held it would fail or write over what it guards. Check that none "
                    "runs on this repository (fuser/lsof on the file, ps for git) before removing it."
                )
            )
        body.append(Content("The removal is journaled: undo puts the lock file back."))
        dialog = ConfirmDialog(
            Content.assemble(("Remove the stale lock ", "bold"), (clean(plan.relpath), "bold $text-error"), ("?", "bold")),
            body,
            [Choice("clear", "Remove lock")],
            id="lock-clear-dialog",
        )
        report = self.report
        self._ask(dialog, lambda choice: self._apply_if(choice, "clear", lambda journal: actions.apply_lock_clear(report, plan, journal)))


def _duplicate(wt: Worktree) -> bool:
    return any(p.code == "duplicate-worktree" for p in wt.problems)


def _text(data: bytes | None) -> str:
    if data is None:
        return "(none)"
    return data.decode("utf-8", "replace").rstrip("\n")
