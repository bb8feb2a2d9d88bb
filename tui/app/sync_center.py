"""The console's sync jobs: one ``JobRunner`` per app and a news pump (no screens, no dialogs).

``SyncCenter`` owns the ``JobRunner`` (created on first use, shut down when the app ends) and a
pump thread that waits on ``runner.updates`` and posts one ``SyncNews`` per tick however much git
printed: bursts coalesce twice, in the runner (one entry per job) and in the message queue
(``can_replace``). Screens subscribe to ``center.signal`` and read the jobs they show. What the
console does with a sync (confirm, submit, rescan) is ``tui/app/syncing.py``.

No pygit2 call runs outside ``OBJECT_STORE_LOCK`` (the scan forks its workers under it): the
preflight reads shadows under the lock.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.signal import Signal

from tui.app.commit_dates import OBJECT_STORE_LOCK
from tui.app.messages import SyncNews

if TYPE_CHECKING:
    from tui.core.sync import JobRunner, SyncJob
    from tui.core.sync import SyncPlan

NEWS_INTERVAL = 0.05  # at most 20 SyncNews a second: what arrives meanwhile is read together
# Under a sustained flood (news waiting at every tick) the console repaints 10 times a second:
# a frame costs the same however many lines arrived, so this halves the CPU (and the bytes an
# SSH session carries) while git prints 10,000 lines a second.
FLOOD_INTERVAL = 0.1
FLOOD_TICKS = 3  # consecutive ticks with news already waiting: a flood
IDLE_WAIT = 0.5  # how long the pump waits for news before looking at its stop flag
DEFAULT_BUFFER_LINES = 10_000


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
        # lazy (import cost): loaded on first use, not with this module
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
                # lazy: the sync side loads with the first sync, not with the console's first frame
                from tui.core.sync import JobRunner

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
        # lazy: the sync side loads with the first sync, not with the console's first frame
        from tui.core.sync import SyncRequest

        job = self.runner.submit(SyncRequest(path, force=force))
        if name:
            self.names.setdefault(job.id, name)
        self._start_pump()
        return job

    def name_of(self, job: SyncJob) -> str:
        # lazy: loaded when this screen or dialog is first used, not with the first frame
        from tui.app.jobview import display_name

        return display_name(job, self.names)

    def preflight(self, path: str) -> list:
        """Warnings to confirm first (``SyncError`` if it cannot be synced). A worker calls this."""
        # lazy: the sync side loads with the first sync, not with the console's first frame
        from tui.core.sync import SyncRequest

        with OBJECT_STORE_LOCK:
            return self.runner.preflight(SyncRequest(path))

    def plan(self, path: str) -> SyncPlan:
        """The sync resolved against the repository on disk (kind, remote, url; ``SyncError``).
        Reads a few files, runs nothing."""
        # lazy: the sync side loads with the first sync, not with the console's first frame
        from tui.core.sync import SyncRequest

        return self.runner.plan(SyncRequest(path))

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
