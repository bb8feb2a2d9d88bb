"""What the console does with a sync: ask first, queue it, tell how it ended, read the repository again.

``SyncController`` is a plain object the App owns (``app.sync``); it keeps the jobs in a
``SyncCenter`` (``app.syncs``, tui/app/sync_center.py) and talks to the App only through its
public API: workers (``run_worker``), messages (tui/app/messages.py, handled by the App with
``@on`` and handed back here), dialogs (``push_screen``) and notifications.

- ``start``: ``S`` on one repository. A worker plans the sync and reads the repository
  (stale-loose shadows must be confirmed), then a dialog says what the sync will do (a mirror's
  ``fetch --prune`` deletes refs; a git-sync root removes old worktrees), Cancel focused.
- ``start_bulk``: ``:sync faulted`` / ``:sync shown``; the ones that would need a confirmation
  are left out and named; one dialog for the rest.
- ``apply_news``: jobs changed; a job that ended is announced and its repository read again
  (``SyncRescanned``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.notifications import SeverityLevel
from textual.signal import Signal

from tui.app.commit_dates import OBJECT_STORE_LOCK
from tui.app.messages import BulkPlanned, ShadowsWanted, SyncPreflighted, SyncRescanned, SyncStarted
from tui.app.read_only import mutation_allowed
from tui.app.sync_center import SyncCenter
from tui.app.text import clean, plural

if TYPE_CHECKING:
    from tui.core.model import RepoReport
    from tui.core.sync import SyncJob

READ_ONLY = "read-only: syncing is off"


class SyncController:
    """The App's syncs. ``reports()``: the repositories the console knows (to find a job's one)."""

    def __init__(self, app: App, host: Any, reports: Callable[[], Iterable[RepoReport]]) -> None:
        self.app = app
        self.host = host
        self.center = SyncCenter(getattr(host, "sync", None))
        self.center.attach(app.post_message, Signal(app, "sync-news"))
        self._reports = reports

    # --- one repository -------------------------------------------------------------------------

    def start(self, report: RepoReport, *, show_log: bool = False) -> None:
        """``S``: plan and read the repository in a worker; ``preflighted`` asks the operator."""
        if not mutation_allowed(self.host, "sync"):
            self.app.notify(READ_ONLY, title="sync", severity="warning", markup=False)
            return
        active = self.center.active_for(report.path)
        if active is not None:
            self.app.notify(
                f"{clean(report.name)} is already syncing (sync #{active.id}, {active.state.value})", title="sync", markup=False
            )
            self.app.post_message(SyncStarted(report, show_log))
            return
        self.app.run_worker(
            partial(self._preflight, report, show_log), thread=True, exit_on_error=False, group="sync-preflight"
        )

    def _preflight(self, report: RepoReport, show_log: bool) -> None:
        """In a worker: what the sync will do, and the warnings to confirm."""
        # lazy: the sync side loads with the first sync, not with the console's first frame
        from tui.app.sync_plans import preview_sync
        from tui.core.sync import SyncError

        try:
            preview = preview_sync(self.center.plan(report.path), report)
            warnings = self.center.preflight(report.path)
        except SyncError as exc:
            self.app.post_message(SyncPreflighted(report, show_log, error=str(exc)))
            return
        except OSError as exc:
            self.app.post_message(SyncPreflighted(report, show_log, error=f"{exc.strerror or exc}"))
            return
        self.app.post_message(SyncPreflighted(report, show_log, preview, warnings))

    def preflighted(self, message: SyncPreflighted) -> None:
        """Ask first, always (Cancel focused): a sync deletes refs or worktrees."""
        # lazy: loaded when this screen or dialog is first used, not with the first frame
        from tui.app.dialogs.sync_confirm import SyncConfirm

        report = message.report
        if message.error or message.preview is None:
            self.app.notify(
                f"cannot sync {clean(report.name)}: {clean(message.error or 'no plan')}",
                title="sync",
                severity="error",
                timeout=8,
                markup=False,
            )
            return

        def chosen(choice: str | None) -> None:
            if choice == "sync":
                self._submit(report, message.show_log)
            elif choice == "shadows":
                self.app.post_message(ShadowsWanted(report))

        self.app.push_screen(SyncConfirm(report.name, message.preview, message.warnings), callback=chosen)

    def _submit(self, report: RepoReport, show_log: bool) -> SyncJob | None:
        # lazy: the sync side loads with the first sync, not with the console's first frame
        from tui.core.sync import SyncError

        try:
            # Confirmed: the preflight ran a moment ago (under the object-store lock) and the
            # operator accepted what the dialog said.
            job = self.center.submit(report.path, force=True, name=report.name)
        except SyncError as exc:
            self.app.notify(f"cannot sync {clean(report.name)}: {clean(str(exc))}", title="sync", severity="error", timeout=8, markup=False)
            return None
        where = "" if show_log else " · :jobs shows it"
        state = "started" if job.state.value == "running" else "queued (per-host limit)"
        self.app.notify(f"sync #{job.id} of {clean(report.name)} {state}{where}", title="sync", timeout=3, markup=False)
        self.apply_news([job])
        self.app.post_message(SyncStarted(report, show_log))
        return job

    # --- many repositories ----------------------------------------------------------------------

    def start_bulk(self, reports: Iterable[RepoReport], label: str) -> None:
        """Sync every repository in ``reports`` through the queue, after one confirmation."""
        if not mutation_allowed(self.host, "sync_faulted"):
            self.app.notify(READ_ONLY, title="sync", severity="warning", markup=False)
            return
        reports = list(reports)
        if not reports:
            self.app.notify(f"no {label} repositories to sync", title="sync", markup=False)
            return
        self.app.notify(
            f"checking {plural(len(reports), 'repository', 'repositories')} before syncing…", title="sync", timeout=3, markup=False
        )
        self.app.run_worker(partial(self._plan_bulk, reports, label), thread=True, exit_on_error=False, group="sync-preflight")

    def _plan_bulk(self, reports: list[RepoReport], label: str) -> None:
        # lazy: the sync side loads with the first sync, not with the console's first frame
        from tui.app.sync_plans import BulkPlan
        from tui.core.sync import SyncError

        plan = BulkPlan(label)
        for report in reports:
            if self.center.active_for(report.path) is not None:
                plan.busy.append(report)
                continue
            try:
                warnings = self.center.preflight(report.path)
            except SyncError as exc:
                plan.unsyncable.append((report, str(exc)))
                continue
            except OSError as exc:
                plan.unsyncable.append((report, f"{exc.strerror or exc}"))
                continue
            if warnings:
                plan.needs_confirmation.append((report, warnings[0].code))
            else:
                plan.ready.append(report)
        self.app.post_message(BulkPlanned(plan))

    def bulk_planned(self, message: BulkPlanned) -> None:
        # lazy: loaded when this screen or dialog is first used, not with the first frame
        from tui.app.dialogs.sync_confirm import BulkSyncConfirm
        from tui.app.sync_plans import bulk_summary

        plan = message.plan
        if not plan.ready:
            self.app.notify(bulk_summary(plan), title=f"sync {plan.label}: nothing to start", severity="warning", timeout=10, markup=False)
            return

        def chosen(go: str | None) -> None:
            if not go:
                return
            jobs = [job for job in map(self._submit_quietly, plan.ready) if job is not None]
            self.app.notify(f"{plural(len(jobs), 'sync')} queued · :jobs shows them", title=f"sync {plan.label}", timeout=4, markup=False)
            self.apply_news(jobs)

        self.app.push_screen(BulkSyncConfirm(plan), callback=chosen)

    def _submit_quietly(self, report: RepoReport) -> SyncJob | None:
        # lazy: the sync side loads with the first sync, not with the console's first frame
        from tui.core.sync import SyncError

        try:
            return self.center.submit(report.path, force=True, name=report.name)
        except SyncError as exc:
            self.app.notify(f"cannot sync {clean(report.name)}: {clean(str(exc))}", title="sync", severity="error", markup=False)
            return None

    # --- news and the end of a job --------------------------------------------------------------

    def apply_news(self, jobs: list[SyncJob]) -> None:
        center = self.center
        for job in jobs:
            if job.done and job.id not in center.finished:
                center.finished.add(job.id)
                self._job_ended(job)
        if center.signal is not None:
            center.signal.publish(jobs)
        center.handled()

    def _job_ended(self, job: SyncJob) -> None:
        state = job.state.value
        severity: SeverityLevel = "information" if state == "ok" else "warning" if state == "cancelled" else "error"
        self.app.notify(
            f"sync #{job.id} of {self.center.name_of(job)}: {clean(job.summary())}",
            title="sync " + state,
            severity=severity,
            timeout=6 if state == "ok" else 12,
            markup=False,
        )
        # A failed or cancelled fetch may still have updated refs: rescan whatever the outcome.
        report = self.report_for(job.path)
        if report is not None:
            self.app.run_worker(
                partial(self._rescan, report.path, report.root), thread=True, exit_on_error=False, group="sync-rescan"
            )

    def report_for(self, path: str) -> RepoReport | None:
        real = os.path.realpath(path)
        for report in list(self._reports()):
            if report.path == path or os.path.realpath(report.path) == real:
                return report
        return None

    def _rescan(self, path: str, root: str) -> None:
        # lazy (import cost): loaded on first use, not with this module
        from tui.core.discovery import classify
        from tui.core.scan import scan_repo

        candidate = classify(path, root)
        if candidate is None:
            return  # gone: the next full rescan drops its row
        with OBJECT_STORE_LOCK:
            report = scan_repo(candidate, self.host.clock())
        self.app.post_message(SyncRescanned(report))

    def active_jobs(self) -> list[SyncJob]:
        return [job for job in self.center.jobs() if not job.done]

    def shutdown(self) -> None:
        self.center.shutdown()
