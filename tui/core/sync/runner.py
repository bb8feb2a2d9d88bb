"""The job runner: queues sync jobs and runs them within the limits.

Rules it keeps: never two syncs of one repository at once (a second request for the same
repository and the same options while one is queued or running returns that job; other options
wait for it), and at most ``max_per_host`` syncs against one remote host at a time (default 3),
the rest queued in order. Each running job has its own thread (``tui.core.sync.jobs.run_job``).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

from tui.core.sync.git import SyncError, TimedOut, call_within
from tui.core.sync.jobs import (
    DEFAULT_LOG_DIR_MAX_BYTES,
    JobSettings,
    JobState,
    Listener,
    SyncJob,
    run_job,
)
from tui.core.sync.plan import DEFAULT_TIMEOUT_SECONDS, PreflightWarning, SyncPlan, SyncRequest, plan_sync
from tui.core.sync.plan import preflight as preflight_plan
from tui.core.sync.synclog import DEFAULT_BUFFER_LINES

__all__ = ["DEFAULT_MAX_PER_HOST", "JobRunner", "JobUpdates", "run_sync"]

DEFAULT_MAX_PER_HOST = 3


# --------------------------------------------------------------------------- updates for a UI


class JobUpdates:
    """Which jobs have news since the last ``drain``: thread-safe and coalesced (a job appears
    once per drain however many lines it wrote), so a flood of progress output costs the UI one
    read per job per tick."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: dict[int, SyncJob] = {}

    def _mark(self, job: SyncJob) -> None:
        with self._cond:
            self._pending[job.id] = job
            self._cond.notify_all()

    def drain(self, timeout: float | None = 0.0) -> list[SyncJob]:
        """Jobs with news, oldest job first; waits up to ``timeout`` s for some (None: forever)."""
        with self._cond:
            if not self._pending and timeout != 0:
                self._cond.wait_for(lambda: bool(self._pending), timeout)
            jobs = sorted(self._pending.values(), key=lambda j: j.id)
            self._pending.clear()
            return jobs


# --------------------------------------------------------------------------- the runner


class JobRunner:
    """Queues and runs sync jobs within the limits. Thread-safe."""

    def __init__(
        self,
        *,
        max_per_host: int = DEFAULT_MAX_PER_HOST,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        buffer_lines: int = DEFAULT_BUFFER_LINES,
        log_dir: str | None = None,
        log_dir_max_bytes: int = DEFAULT_LOG_DIR_MAX_BYTES,
        environ: dict[str, str] | None = None,
    ) -> None:
        if max_per_host < 1:
            raise ValueError("max_per_host must be at least 1")
        self.max_per_host = max_per_host
        self.timeout = timeout
        self.buffer_lines = buffer_lines
        self.updates = JobUpdates()
        self._settings = JobSettings(log_dir, log_dir_max_bytes, environ)
        self._lock = threading.Lock()
        self._jobs: list[SyncJob] = []
        self._queue: list[SyncJob] = []
        self._running: dict[str, SyncJob] = {}  # repo key -> job
        self._per_host: Counter[str] = Counter()
        self._threads: dict[int, threading.Thread] = {}
        self._listeners: list[Listener] = []
        self._next_id = 1
        self._closed = False

    @classmethod
    def from_config(cls, config=None, **overrides) -> JobRunner:
        """A runner with the ``[sync]`` settings of gitward's config (``load_config()``)."""
        if config is None:
            # Deferred: reading gitward's config only when the caller did not pass one.
            from tui.core.config import load_config

            config = load_config()
        settings = {
            "max_per_host": config.sync.max_per_host,
            "timeout": config.sync.timeout_seconds,
            "buffer_lines": config.sync.log_buffer_lines,
            "log_dir_max_bytes": config.sync.log_dir_max_bytes,
        }
        settings.update(overrides)
        return cls(**settings)

    # -- asking

    def plan(self, request: SyncRequest) -> SyncPlan:
        return plan_sync(request, default_timeout=self.timeout)

    def preflight(self, request: SyncRequest) -> list[PreflightWarning]:
        """Warnings to confirm before submitting (scans the repository: call it from a worker).

        Bounded by the sync timeout like the sync itself: a read that blocks (a FIFO planted as
        a ref) ends in a SyncError saying so, instead of a worker that never returns."""
        seconds = request.timeout if request.timeout is not None else self.timeout
        try:
            return call_within(lambda: preflight_plan(self.plan(request)), seconds=seconds, what=f"reading {request.path}")
        except TimedOut as exc:
            raise SyncError(str(exc)) from None

    def submit(self, request: SyncRequest, plan: SyncPlan | None = None) -> SyncJob:
        """Queue a sync and return its job (already running if the limits allow). ``plan``: the
        request already planned (``self.plan(request)``), e.g. within a time limit."""
        plan = plan or self.plan(request)
        with self._lock:
            if self._closed:
                raise SyncError("the job runner is shut down")
            existing = self._active_for(plan.repo_key)
            if existing is not None and existing.plan.request == request:
                return existing
            job = SyncJob(self._next_id, plan, buffer_lines=self.buffer_lines)
            self._next_id += 1
            job._on_cancel_queued = self._cancel_queued
            job.add_listener(self._relay)
            self._jobs.append(job)
            self._queue.append(job)
            self._schedule_locked()
        self.updates._mark(job)
        return job

    def jobs(self) -> list[SyncJob]:
        """Every job of this runner, oldest first."""
        with self._lock:
            return list(self._jobs)

    def active_for(self, path: str) -> SyncJob | None:
        """The queued or running job of the repository at ``path``, if any."""
        key = os.path.realpath(path)
        with self._lock:
            for job in self._jobs:
                if not job.done and (job.plan.repo_key == key or os.path.realpath(job.path) == key):
                    return job
        return None

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"queued": len(self._queue), "running": len(self._running)}

    def add_listener(self, listener: Listener) -> None:
        """``listener(job)`` on news from any job; called from that job's thread."""
        self._listeners.append(listener)

    # -- stopping

    def cancel_all(self) -> None:
        for job in self.jobs():
            if not job.done:
                job.cancel()

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Cancel everything and wait for the threads; False if some did not end in time."""
        with self._lock:
            self._closed = True
        self.cancel_all()
        end = time.monotonic() + timeout
        for thread in list(self._threads.values()):
            thread.join(max(0.0, end - time.monotonic()))
        return not any(t.is_alive() for t in self._threads.values())

    # -- internals

    def _active_for(self, repo_key: str) -> SyncJob | None:
        for job in self._jobs:
            if not job.done and job.plan.repo_key == repo_key:
                return job
        return None

    def _schedule_locked(self) -> None:
        """Start every queued job the limits allow, in submission order."""
        for job in list(self._queue):
            if job.plan.repo_key in self._running:
                continue  # never two syncs of one repository at once
            if self._per_host[job.host] >= self.max_per_host:
                continue
            self._queue.remove(job)
            self._running[job.plan.repo_key] = job
            self._per_host[job.host] += 1
            job.state = JobState.RUNNING  # claimed; run_job announces it
            thread = threading.Thread(target=self._run, args=(job,), name=f"gitward-sync-{job.id}", daemon=True)
            self._threads[job.id] = thread
            thread.start()

    def _run(self, job: SyncJob) -> None:
        try:
            run_job(job, self._settings, self._active_logs)
        finally:
            with self._lock:
                self._running.pop(job.plan.repo_key, None)
                self._per_host[job.host] -= 1
                self._threads.pop(job.id, None)
                if not self._closed:
                    self._schedule_locked()

    def _active_logs(self) -> frozenset[str]:
        with self._lock:
            return frozenset(j.log_path for j in self._running.values() if j.log_path)

    def _cancel_queued(self, job: SyncJob) -> bool:
        with self._lock:
            if job not in self._queue:
                return False  # already started: its thread sees the cancel flag
            self._queue.remove(job)
        job.error = "cancelled before it started"
        job._set_state(JobState.CANCELLED)
        return True

    def _relay(self, job: SyncJob) -> None:
        self.updates._mark(job)
        for listener in list(self._listeners):
            try:
                listener(job)
            except Exception:
                pass


def run_sync(request: SyncRequest, *, timeout: float | None = None, log_dir: str | None = None,
             log_dir_max_bytes: int = DEFAULT_LOG_DIR_MAX_BYTES, buffer_lines: int = DEFAULT_BUFFER_LINES,
             listener: Listener | None = None) -> SyncJob:
    """One sync in the calling thread (scripts, tests): plan, run, return the finished job."""
    plan = plan_sync(request, default_timeout=timeout or DEFAULT_TIMEOUT_SECONDS)
    job = SyncJob(1, plan, buffer_lines=buffer_lines)
    if listener is not None:
        job.add_listener(listener)
    run_job(job, JobSettings(log_dir, log_dir_max_bytes, None))
    return job
