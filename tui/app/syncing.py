"""Syncs in the console: one job runner per app, news at most 20 times a second, confirmation
before a sync that would overwrite evidence, bulk syncs through the same queue, a rescan after.

- ``SyncCenter`` owns the ``JobRunner`` (created on first use, shut down when the app ends) and a
  pump thread that waits on ``runner.updates`` and posts one ``SyncNews`` per tick however much
  git printed: bursts coalesce twice, in the runner (one entry per job) and in the message queue
  (``can_replace``). Screens subscribe to ``center.signal`` and read the jobs they show.
- ``SyncingApp`` is the App's half: ``start_sync`` (preflight in a worker; stale-loose shadows
  ask first, Cancel focused), ``start_bulk_sync`` (faulted or shown repositories: the ones that
  would need a confirmation are left out and named), the rescan after a job ends.

No pygit2 call runs outside ``OBJECT_STORE_LOCK`` (the scan forks its workers under it): the
preflight judges shadows here, under the lock, and the job is then submitted confirmed, as the
CLI does (``gitward sync`` preflights, then submits with force).
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual import work
from textual.message import Message
from textual.signal import Signal

from tui.app.commit_dates import OBJECT_STORE_LOCK
from tui.app.text import clean, plural
from tui.core.model import RepoReport

if TYPE_CHECKING:
    from tui.core.sync.jobs import JobRunner, SyncJob

NEWS_INTERVAL = 0.05  # at most 20 SyncNews a second: what arrives meanwhile is read together
# Under a sustained flood (news waiting at every tick) the console repaints 10 times a second:
# a frame costs the same however many lines arrived, so this halves the CPU (and the bytes an
# SSH session carries) while git prints 10,000 lines a second.
FLOOD_INTERVAL = 0.1
FLOOD_TICKS = 3  # consecutive ticks with news already waiting: a flood
IDLE_WAIT = 0.5  # how long the pump waits for news before looking at its stop flag
DEFAULT_BUFFER_LINES = 10_000


class SyncNews(Message):
    """Some job has news; ``SyncCenter.take_news()`` says which. A burst is one message."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SyncNews)


class SyncPreflighted(Message):
    def __init__(self, report: RepoReport, warnings: list, error: str | None, show_log: bool) -> None:
        super().__init__()
        self.report = report
        self.warnings = warnings
        self.error = error
        self.show_log = show_log


@dataclass(slots=True)
class BulkPlan:
    label: str
    ready: list[RepoReport] = field(default_factory=list)
    needs_confirmation: list[tuple[RepoReport, str]] = field(default_factory=list)  # (report, why)
    unsyncable: list[tuple[RepoReport, str]] = field(default_factory=list)
    busy: list[RepoReport] = field(default_factory=list)  # already queued or running


class BulkPlanned(Message):
    def __init__(self, plan: BulkPlan) -> None:
        super().__init__()
        self.plan = plan


class SyncRescanned(Message):
    def __init__(self, report: RepoReport) -> None:
        super().__init__()
        self.report = report


class SyncCenter:
    """The app's jobs: submit, list, find by repository, and the news pump."""

    def __init__(self, settings: Any = None, *, runner_factory: Callable[[], JobRunner] | None = None) -> None:
        self.settings = settings  # [sync] from the config (SyncConfig), or None: defaults
        self._runner_factory = runner_factory
        self._runner: JobRunner | None = None
        self._post: Callable[[Message], Any] | None = None
        self._pending: dict[int, SyncJob] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._handled: asyncio.Event | None = None
        self._frozen = False
        self._realpaths: dict[int, str] = {}
        self.names: dict[int, str] = {}  # job id -> the repository's name in the host list
        self.signal: Signal | None = None  # set by the app: published with the jobs that have news
        self.finished: set[int] = set()  # jobs whose end the console has handled (rescan started)
        self.news_handled = 0  # SyncNews messages applied (diagnostics, tests)

    # --- settings -------------------------------------------------------------------------------

    @property
    def buffer_lines(self) -> int:
        return int(getattr(self.settings, "log_buffer_lines", None) or DEFAULT_BUFFER_LINES)

    def log_dir(self) -> str:
        # lazy (import cost): core.paths loads on first use, not with this module
        from tui.core.paths import log_dir

        return log_dir()

    # --- the runner -----------------------------------------------------------------------------

    def attach(self, post: Callable[[Message], Any], signal: Signal) -> None:
        self._post = post
        self.signal = signal

    @property
    def runner(self) -> JobRunner:
        if self._runner is None:
            if self._runner_factory is not None:
                self._runner = self._runner_factory()
            else:
                # lazy (import cost): core.sync.jobs loads on first use, not with this module
                from tui.core.sync.jobs import JobRunner

                settings = self.settings
                options: dict[str, Any] = {}
                if settings is not None:
                    options = {
                        "max_per_host": settings.max_per_host,
                        "timeout": settings.timeout_seconds,
                        "buffer_lines": settings.log_buffer_lines,
                        "log_dir_max_bytes": settings.log_dir_max_bytes,
                    }
                self._runner = JobRunner(**options)
        return self._runner

    def submit(self, path: str, *, force: bool, name: str | None = None) -> SyncJob:
        """Queue a sync (raises ``SyncError``); the news pump starts with the first job."""
        # lazy (import cost): core.sync.plan loads on first use, not with this module
        from tui.core.sync.plan import SyncRequest

        job = self.runner.submit(SyncRequest(path, force=force))
        if name:
            self.names.setdefault(job.id, name)
        self._start_pump()
        return job

    def name_of(self, job: SyncJob) -> str:
        # lazy (import cost): app.jobview loads on first use, not with this module
        from tui.app.jobview import display_name

        return display_name(job, self.names)

    def preflight(self, path: str) -> list:
        """Warnings to confirm first (``SyncError`` if it cannot be synced). A worker calls this."""
        # lazy (import cost): core.sync.plan loads on first use, not with this module
        from tui.core.sync.plan import SyncRequest

        with OBJECT_STORE_LOCK:
            return self.runner.preflight(SyncRequest(path))

    def jobs(self) -> list[SyncJob]:
        return self._runner.jobs() if self._runner is not None else []

    def counts(self) -> dict[str, int]:
        if self._runner is None:
            return {"queued": 0, "running": 0}
        return self._runner.counts()

    def _real(self, job: SyncJob) -> str:
        path = self._realpaths.get(job.id)
        if path is None:
            path = self._realpaths[job.id] = os.path.realpath(job.path)
        return path

    def for_repo(self, path: str) -> list[SyncJob]:
        """This repository's jobs, oldest first."""
        real = os.path.realpath(path)
        return [job for job in self.jobs() if self._real(job) == real]

    def active_for(self, path: str) -> SyncJob | None:
        return next((job for job in self.for_repo(path) if not job.done), None)

    def latest_for(self, path: str) -> SyncJob | None:
        """The job to show for a repository: the running one, else the newest."""
        jobs = self.for_repo(path)
        return next((job for job in jobs if job.state.value == "running"), jobs[-1] if jobs else None)

    # --- news -----------------------------------------------------------------------------------

    def _start_pump(self) -> None:
        if self._thread is not None or self._post is None:
            return
        # What exists now (the app, its screens, the scan's reports) lives as long as the app:
        # out of the collector's sight. A log flood churns thousands of objects a second, and
        # every full collection walked the ~100,000 objects of a running console too: pauses of
        # 100-250 ms while the operator types, 5-15 ms once frozen (measured). Undone on shutdown.
        gc.freeze()
        self._frozen = True
        self._thread = threading.Thread(target=self._pump, name="gitward-sync-news", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        updates = self.runner.updates
        busy_ticks = 0
        waiting: list = []
        while not self._stop.is_set():
            jobs = waiting or updates.drain(timeout=IDLE_WAIT)
            if not jobs:
                continue
            with self._lock:
                for job in jobs:
                    self._pending[job.id] = job
            post = self._post
            if post is not None:
                post(SyncNews())
            # Back-pressure: git may print 10,000 lines a second; the console reads at most
            # 20 times a second (10 during a flood), whatever arrived meanwhile in one go.
            self._stop.wait(FLOOD_INTERVAL if busy_ticks >= FLOOD_TICKS else NEWS_INTERVAL)
            waiting = updates.drain(timeout=0)
            busy_ticks = busy_ticks + 1 if waiting else 0

    def take_news(self) -> list[SyncJob]:
        with self._lock:
            jobs = sorted(self._pending.values(), key=lambda job: job.id)
            self._pending.clear()
        return jobs

    def handled(self) -> None:
        """The console has applied a batch of news (wakes ``wait_for``)."""
        self.news_handled += 1
        if self._handled is not None:
            self._handled.set()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Until ``predicate()`` holds after some batch of news was applied, or the timeout."""
        if self._handled is None:
            self._handled = asyncio.Event()
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._handled.clear()
            try:
                await asyncio.wait_for(self._handled.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel every job (git's process groups are terminated) and stop the pump."""
        self._stop.set()
        if self._runner is not None:
            self._runner.shutdown(timeout)
        if self._thread is not None:
            self._thread.join(IDLE_WAIT + 1)
        if self._frozen:
            gc.unfreeze()  # the app's objects can be collected again once it is gone
            self._frozen = False


class SyncingApp:
    """The App's sync half (mixed into ``GitwardApp``, before ``App``)."""

    host: Any
    syncs: SyncCenter

    def init_syncing(self) -> None:
        self.syncs = SyncCenter(getattr(self.host, "sync", None))
        self.syncs.attach(self.post_message, Signal(self, "sync-news"))  # type: ignore[arg-type, attr-defined]

    # --- one repository -------------------------------------------------------------------------

    def start_sync(self, report: RepoReport, *, show_log: bool = False) -> None:
        """``S``: preflight in a worker, confirm if it warns, then queue the sync."""
        # lazy (import cost): app.read_only loads on first use, not with this module
        from tui.app.read_only import mutation_allowed

        if not mutation_allowed(self.host, "sync"):
            self.notify("read-only: syncing is off", title="sync", severity="warning", markup=False)  # type: ignore[attr-defined]
            return
        active = self.syncs.active_for(report.path)
        if active is not None:
            self.notify(  # type: ignore[attr-defined]
                f"{clean(report.name)} is already syncing (sync #{active.id}, {active.state.value})",
                title="sync",
                markup=False,
            )
            self._show_sync_log(report, show_log)
            return
        self._preflight(report, show_log)

    @work(thread=True, exit_on_error=False, group="sync-preflight")
    def _preflight(self, report: RepoReport, show_log: bool) -> None:
        # lazy (import cost): core.sync.plan loads on first use, not with this module
        from tui.core.sync.plan import SyncError

        try:
            warnings = self.syncs.preflight(report.path)
        except SyncError as exc:
            self.post_message(SyncPreflighted(report, [], str(exc), show_log))  # type: ignore[attr-defined]
            return
        self.post_message(SyncPreflighted(report, warnings, None, show_log))  # type: ignore[attr-defined]

    def on_sync_preflighted(self, message: SyncPreflighted) -> None:
        report = message.report
        if message.error:
            self.notify(f"cannot sync {clean(report.name)}: {clean(message.error)}", title="sync", severity="error", timeout=8, markup=False)  # type: ignore[attr-defined]
            return
        if not message.warnings:
            self._submit(report, message.show_log)
            return
        # deferred: an import circle with app.dialogs.sync_confirm (KNOWN_CIRCLES in tests/test_layers.py)
        from tui.app.dialogs.sync_confirm import SyncConfirm

        def chosen(choice: str | None) -> None:
            if choice == "sync":
                self._submit(report, message.show_log)
            elif choice == "shadows":
                self.show_shadows(report)  # type: ignore[attr-defined]

        self.push_screen(SyncConfirm(report.name, message.warnings), callback=chosen)  # type: ignore[attr-defined]

    def _submit(self, report: RepoReport, show_log: bool) -> SyncJob | None:
        # lazy (import cost): core.sync.plan loads on first use, not with this module
        from tui.core.sync.plan import SyncError

        try:
            # Confirmed: the preflight ran a moment ago (under the object-store lock) and was
            # either clean or accepted by the operator.
            job = self.syncs.submit(report.path, force=True, name=report.name)
        except SyncError as exc:
            self.notify(f"cannot sync {clean(report.name)}: {clean(str(exc))}", title="sync", severity="error", timeout=8, markup=False)  # type: ignore[attr-defined]
            return None
        where = "" if show_log else " · :jobs shows it"
        state = "started" if job.state.value == "running" else "queued (per-host limit)"
        self.notify(f"sync #{job.id} of {clean(report.name)} {state}{where}", title="sync", timeout=3, markup=False)  # type: ignore[attr-defined]
        self._apply_news([job])
        self._show_sync_log(report, show_log)
        return job

    def _show_sync_log(self, report: RepoReport, show_log: bool) -> None:
        # lazy (import cost): app.screens.repo loads on first use, not with this module
        from tui.app.screens.repo import RepoScreen

        screen = self.screen  # type: ignore[attr-defined]
        if show_log and isinstance(screen, RepoScreen) and screen.report.path == report.path:
            screen.select_tab("log")

    def sync_command(self, argument: str) -> bool:
        """``:sync`` (the selected or open repository), ``:sync NAME``, ``:sync faulted``, ``:sync shown``."""
        # lazy (import cost): app.read_only, app.screens.repo, app.widgets.repo_table load on first use, not with this module
        from tui.app.read_only import mutation_allowed
        from tui.app.screens.repo import RepoScreen
        from tui.app.widgets.repo_table import is_fault

        if not mutation_allowed(self.host, "sync"):
            self.notify("read-only: syncing is off", title="sync", severity="warning", markup=False)  # type: ignore[attr-defined]
            return False
        table = self.host_screen.table  # type: ignore[attr-defined]
        word = argument.strip()
        if word.lower() == "faulted":
            self.start_bulk_sync([r for r in table.reports.values() if is_fault(r)], "faulted")
            return True
        if word.lower() == "shown":
            self.start_bulk_sync(list(table.rows), "shown")
            return True
        screen = self.screen  # type: ignore[attr-defined]
        if word:
            report = table.find(word)
        elif isinstance(screen, RepoScreen):
            report = screen.report
        else:
            report = table.current
        if report is None:
            what = f"no single repository matches {clean(word)!r}" if word else "no repository selected; use :sync NAME"
            self.notify(what, title="command", severity="error", markup=False)  # type: ignore[attr-defined]
            return False
        self.start_sync(report, show_log=isinstance(screen, RepoScreen) and screen.report.path == report.path)
        return True

    def action_sync_faulted(self) -> None:
        self.sync_command("faulted")

    def show_shadows(self, report: RepoReport) -> None:
        """The repository's Refs tab, shadows only (before a sync overwrites them)."""
        self.open_repo(report, "refs", shadows_only=True)  # type: ignore[attr-defined]

    def open_repo_log(self, path: str) -> None:
        report = self._report_for(path)
        if report is None:
            self.notify("that repository is not in the list any more", title="sync", severity="warning", markup=False)  # type: ignore[attr-defined]
            return
        self.open_repo(report, "log")  # type: ignore[attr-defined]

    # --- many repositories ----------------------------------------------------------------------

    def start_bulk_sync(self, reports: Iterable[RepoReport], label: str) -> None:
        """Sync every repository in ``reports`` through the queue, after one confirmation."""
        # lazy (import cost): app.read_only loads on first use, not with this module
        from tui.app.read_only import mutation_allowed

        if not mutation_allowed(self.host, "sync_faulted"):
            self.notify("read-only: syncing is off", title="sync", severity="warning", markup=False)  # type: ignore[attr-defined]
            return
        reports = list(reports)
        if not reports:
            self.notify(f"no {label} repositories to sync", title="sync", markup=False)  # type: ignore[attr-defined]
            return
        self.notify(f"checking {plural(len(reports), 'repository', 'repositories')} before syncing…", title="sync", timeout=3, markup=False)  # type: ignore[attr-defined]
        self._plan_bulk(reports, label)

    @work(thread=True, exit_on_error=False, group="sync-preflight")
    def _plan_bulk(self, reports: list[RepoReport], label: str) -> None:
        # lazy (import cost): core.sync.plan loads on first use, not with this module
        from tui.core.sync.plan import SyncError

        plan = BulkPlan(label)
        for report in reports:
            if self.syncs.active_for(report.path) is not None:
                plan.busy.append(report)
                continue
            try:
                warnings = self.syncs.preflight(report.path)
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
        self.post_message(BulkPlanned(plan))  # type: ignore[attr-defined]

    def on_bulk_planned(self, message: BulkPlanned) -> None:
        plan = message.plan
        if not plan.ready:
            self.notify(bulk_summary(plan), title=f"sync {plan.label}: nothing to start", severity="warning", timeout=10, markup=False)  # type: ignore[attr-defined]
            return
        # deferred: an import circle with app.dialogs.sync_confirm (KNOWN_CIRCLES in tests/test_layers.py)
        from tui.app.dialogs.sync_confirm import BulkSyncConfirm

        def chosen(go: bool | None) -> None:
            if not go:
                return
            jobs = []
            for report in plan.ready:
                job = self._submit_quietly(report)
                if job is not None:
                    jobs.append(job)
            self.notify(f"{plural(len(jobs), 'sync')} queued · :jobs shows them", title=f"sync {plan.label}", timeout=4, markup=False)  # type: ignore[attr-defined]
            self._apply_news(jobs)

        self.push_screen(BulkSyncConfirm(plan), callback=chosen)  # type: ignore[attr-defined]

    def _submit_quietly(self, report: RepoReport) -> SyncJob | None:
        # lazy (import cost): core.sync.plan loads on first use, not with this module
        from tui.core.sync.plan import SyncError

        try:
            return self.syncs.submit(report.path, force=True, name=report.name)
        except SyncError as exc:
            self.notify(f"cannot sync {clean(report.name)}: {clean(str(exc))}", title="sync", severity="error", markup=False)  # type: ignore[attr-defined]
            return None

    # --- news and the end of a job --------------------------------------------------------------

    def on_sync_news(self, message: SyncNews) -> None:
        self._apply_news(self.syncs.take_news())

    def _apply_news(self, jobs: list[SyncJob]) -> None:
        for job in jobs:
            if job.done and job.id not in self.syncs.finished:
                self.syncs.finished.add(job.id)
                self._job_ended(job)
        if self.syncs.signal is not None:
            self.syncs.signal.publish(jobs)
        self.syncs.handled()

    def _job_ended(self, job: SyncJob) -> None:
        state = job.state.value
        severity = {"ok": "information", "cancelled": "warning"}.get(state, "error")
        self.notify(  # type: ignore[attr-defined]
            f"sync #{job.id} of {self.syncs.name_of(job)}: {clean(job.summary())}",
            title="sync " + state,
            severity=severity,
            timeout=6 if state == "ok" else 12,
            markup=False,
        )
        # A failed or cancelled fetch may still have updated refs: rescan whatever the outcome.
        report = self._report_for(job.path)
        if report is not None:
            self._rescan_synced(report.path, report.root)

    def _report_for(self, path: str) -> RepoReport | None:
        real = os.path.realpath(path)
        for report in list(self.host_screen.table.reports.values()):  # type: ignore[attr-defined]
            if report.path == path or os.path.realpath(report.path) == real:
                return report
        return None

    @work(thread=True, exit_on_error=False, group="sync-rescan")
    def _rescan_synced(self, path: str, root: str) -> None:
        # lazy (import cost): core.discovery, core.scan load on first use, not with this module
        from tui.core.discovery import classify
        from tui.core.scan import scan_repo

        candidate = classify(path, root)
        if candidate is None:
            return  # gone: the next full rescan drops its row
        with OBJECT_STORE_LOCK:
            report = scan_repo(candidate, self.host.clock())
        self.post_message(SyncRescanned(report))  # type: ignore[attr-defined]

    def on_sync_rescanned(self, message: SyncRescanned) -> None:
        # lazy (import cost): app.screens.repo loads on first use, not with this module
        from tui.app.screens.repo import RepoScreen

        report = message.report
        self.repo_rescanned(report)  # type: ignore[attr-defined]
        self.host_screen.refresh_summary()  # type: ignore[attr-defined]
        for screen in self.screen_stack:  # type: ignore[attr-defined]
            if isinstance(screen, RepoScreen) and screen.report.path == report.path:
                screen.synced(report)

    async def action_quit(self) -> None:
        """q / ctrl+q: with syncs still running or queued, ask first (quitting cancels them)."""
        # lazy (import cost): app.dialogs.confirm, textual.content load on first use, not with this module
        from tui.app.dialogs.confirm import Choice, ConfirmDialog
        from textual.content import Content

        active = [job for job in self.syncs.jobs() if not job.done]
        if not active:
            self.exit()  # type: ignore[attr-defined]
            return
        if isinstance(self.screen, ConfirmDialog) and self.screen.id == "quit-confirm":  # type: ignore[attr-defined]
            return  # asked already
        names = ", ".join(self.syncs.name_of(job) for job in active[:5]) + (" …" if len(active) > 5 else "")
        dialog = ConfirmDialog(
            Content(f"Quit while {plural(len(active), 'sync')} still {'runs' if len(active) == 1 else 'run'}?"),
            [
                Content(names),
                Content(
                    f"Quitting cancels {'it' if len(active) == 1 else 'them'}: git and everything it started "
                    "are terminated, which leaves the repository as git leaves it after ctrl-c. A later sync "
                    "picks up from there."
                ),
            ],
            [Choice("quit", "Cancel the syncs and quit", "error")],
            id="quit-confirm",
        )
        self.push_screen(dialog, callback=lambda choice: self.exit() if choice == "quit" else None)  # type: ignore[attr-defined]

    def on_unmount(self) -> None:
        self.syncs.shutdown()


def bulk_summary(plan: BulkPlan) -> str:
    """Why repositories are left out of a bulk sync, one line each kind."""
    lines = []
    if plan.needs_confirmation:
        names = ", ".join(clean(r.name) for r, _ in plan.needs_confirmation[:5])
        more = f" and {len(plan.needs_confirmation) - 5} more" if len(plan.needs_confirmation) > 5 else ""
        lines.append(
            f"{plural(len(plan.needs_confirmation), 'repository', 'repositories')} with stale-loose or diverged shadows "
            f"left out ({names}{more}): a sync would overwrite the evidence; sync each with S to confirm"
        )
    if plan.unsyncable:
        lines.append(f"{plural(len(plan.unsyncable), 'repository', 'repositories')} cannot be synced:")
        for report, why in plan.unsyncable[:5]:
            why = why.removeprefix(report.path + ": ")  # SyncError names the path; the name is enough
            lines.append(f"  {clean(report.name)}: {clean(why)}")
        if len(plan.unsyncable) > 5:
            lines.append(f"  … and {len(plan.unsyncable) - 5:,} more")
    if plan.busy:
        lines.append(f"{plural(len(plan.busy), 'repository', 'repositories')} already syncing")
    return "\n".join(lines) or "nothing to sync"
