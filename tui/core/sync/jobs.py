"""Sync jobs: one ``SyncJob`` per sync, run to its end by ``run_job`` in a thread of its own.

The queue and its limits are ``tui.core.sync.runner.JobRunner``; git runs in its own process
group (``tui.core.sync.git.GitRunner``). For a UI (no Textual here; the app wires these up):

- ``runner.submit(SyncRequest(path))`` returns a ``SyncJob`` at once (``SyncError`` for a path
  that cannot be synced). Call ``preflight(request)`` first, in a worker: it scans the repo, and
  if it returns warnings, show them and submit with ``force=True`` only after the operator
  confirmed. A job submitted without ``force`` runs the preflight itself and refuses (fails
  with the warnings as its error) rather than overwrite evidence unasked.
- ``job.log`` is a ``LogBuffer``: ``chunk = job.log.read(after=version)`` returns the lines
  added or redrawn since ``version`` (coalesced: a progress line that changed 500 times since
  comes back once, in its newest state); keep ``chunk.version`` for the next read.
- Be told when to read: ``runner.updates.drain(timeout)`` (thread-safe, one entry per job with
  news, however much news) from a worker or a timer, or ``runner.add_listener(fn)`` /
  ``job.add_listener(fn)``, called *from the job's thread* (post a message with
  ``can_replace``; never touch widgets there).
- ``job.cancel()`` from any thread; the git process group is gone within a second.
- When ``job.done``: ``job.state``, ``job.exit_code``, ``job.error`` (git's error line),
  ``job.hint``, ``job.changed_refs`` (old -> new), ``job.link_change`` (git-sync), then rescan
  the repository (``scan_repo``): a failed or cancelled fetch may still have updated refs.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from enum import StrEnum

from tui.core.units import plural
from tui.core import paths
from tui.core.sync.git import (
    AUTH_HINT,
    Cancelled,
    GitFailed,
    GitRunner,
    RefChange,
    SyncError,
    TimedOut,
    git_environment,
    ssh_command_from_config,
    wants_credentials,
)
from tui.core.sync.gitsync import sync_git_sync_root
from tui.core.sync.lock import RepoSyncLock
from tui.core.sync.plan import PreflightWarning, SyncKind, SyncPlan, fetch_remote
from tui.core.sync.record import record_sync
from tui.core.sync.plan import preflight as preflight_plan
from tui.core.sync.synclog import DEFAULT_BUFFER_LINES, JobLog, LogBuffer, LogFile, job_log_budget, log_file_name, prune_log_dir
from tui.core.write.errors import RefusedError
from tui.core.write.ownership import check_owned

__all__ = ["ABANDON_GRACE_SECONDS", "JobSettings", "JobState", "SyncJob", "run_job"]

DEFAULT_LOG_DIR_MAX_BYTES = 50 * 1024 * 1024

Listener = Callable[["SyncJob"], None]


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed-out"

    @property
    def done(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


class SyncJob:
    """One sync: its state, its live log, its result. Attributes are read-only to callers."""

    def __init__(self, job_id: int, plan: SyncPlan, *, buffer_lines: int = DEFAULT_BUFFER_LINES) -> None:
        self.id = job_id
        self.plan = plan
        self.log = LogBuffer(buffer_lines)
        self.state = JobState.QUEUED
        self.queued_at = time.time()
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.exit_code: int | None = None  # git's exit code of the step that decided the outcome
        self.error: str | None = None  # why it did not end ok: git's error line, or gitward's reason
        self.hint: str | None = None  # what the operator can do about it
        self.changed_refs: list[RefChange] = []
        self.link_change: tuple[str | None, str] | None = None  # git-sync: (old target, new target)
        self.warnings: list[str] = []  # ok, but something was skipped or could not be cleaned
        self.kept: list[str] = []  # git-sync: entries of .worktrees/ not removed, with why
        self.unreadable: list[str] = []  # what could not be read ("PATH: strerror"): unknown, kept
        self.preflight_warnings: list[PreflightWarning] = []  # why it refused, when it did
        self.log_path: str | None = None
        self.journal_id: str | None = None  # the journal entry that records it, once done
        self.version = 0  # bumped on every change (lines or state)
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._listeners: list[Listener] = []
        self._on_cancel_queued: Callable[[SyncJob], bool] | None = None

    # -- what it is about

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def path(self) -> str:
        return self.plan.path

    @property
    def kind(self) -> SyncKind:
        return self.plan.kind

    @property
    def host(self) -> str:
        return self.plan.host

    @property
    def done(self) -> bool:
        return self.state.done

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        return (self.ended_at or time.time()) - self.started_at

    # -- control

    def cancel(self) -> None:
        """Stop it: a queued job never starts, a running one has its git terminated."""
        self._cancel.set()
        if self.state is JobState.QUEUED and self._on_cancel_queued is not None:
            self._on_cancel_queued(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job is done; False if the timeout ran out first."""
        return self._done.wait(timeout)

    def add_listener(self, listener: Listener) -> None:
        """``listener(job)`` after new lines or a state change; called from the job's thread."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # -- the runner's side

    def _changed(self) -> None:
        self.version += 1
        for listener in list(self._listeners):
            try:
                listener(self)
            except Exception:  # a broken listener must not break the sync
                pass

    def _set_state(self, state: JobState) -> None:
        self.state = state
        if state is JobState.RUNNING:
            self.started_at = time.time()
        if state.done:
            self.ended_at = time.time()
        self._changed()
        if state.done:
            self._done.set()

    def summary(self) -> str:
        """One line for a job list: ``ok · 3 refs changed · 1.2 s``."""
        parts = [self.state.value]
        if self.state is JobState.OK:
            count = len(self.changed_refs)
            parts.append("up to date" if count == 0 else f"{count} ref{'s' if count != 1 else ''} changed")
        elif self.error and self.done:
            parts.append(self.error)
        if self.duration is not None:
            parts.append(f"{self.duration:.1f} s")
        return " · ".join(parts)

    def to_json(self) -> dict:
        return {
            "id": self.id,
            **self.plan.to_json(),
            "state": self.state.value,
            "queued_at": self.queued_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_seconds": None if self.duration is None else round(self.duration, 3),
            "exit_code": self.exit_code,
            "error": self.error,
            "hint": self.hint,
            "changed_refs": [c.to_json() for c in self.changed_refs],
            "link_change": None if self.link_change is None else {"old": self.link_change[0], "new": self.link_change[1]},
            "warnings": list(self.warnings),
            "kept": list(self.kept),
            "unreadable": list(self.unreadable),
            "preflight_warnings": [w.to_json() for w in self.preflight_warnings],
            "log_path": self.log_path,
            "journal_id": self.journal_id,
            "log_lines": self.log.total,
            "log_dropped": self.log.dropped,
        }


# --------------------------------------------------------------------------- running one job


class JobSettings:
    """Where a job writes its log file, how large the log dir may grow, git's base environment."""

    def __init__(self, log_dir: str | None, log_dir_max_bytes: int, environ: dict[str, str] | None) -> None:
        self.log_dir = log_dir
        self.log_dir_max_bytes = log_dir_max_bytes
        self.environ = environ


# After the deadline (or a cancel), how long gitward's own work may take to notice before it is
# abandoned: GitRunner needs KILL_GRACE_SECONDS + DRAIN_SECONDS to stop a git process group.
ABANDON_GRACE_SECONDS = 2.0


def run_job(job: SyncJob, settings: JobSettings, active_logs: Callable[[], frozenset[str]] = frozenset) -> None:
    """Run a job to its end in the calling thread. Never raises: the outcome is on the job.

    The timeout bounds the whole sync, gitward's own reads included: the work runs in a thread
    of its own, and if it has not ended ``ABANDON_GRACE_SECONDS`` after the deadline (or a
    cancel) it is abandoned: a read that blocks (a FIFO planted where a file belongs, a volume
    that does not answer) cannot be interrupted, but the job ends, and the abandoned work
    changes nothing afterwards (every write comes after a ``check_stop``, which raises once
    the deadline has passed or the job was cancelled).
    """
    job._set_state(JobState.RUNNING)
    log = JobLog(job.log, _open_log_file(job, settings, active_logs), on_change=job._changed)
    plan = job.plan
    started = time.monotonic()
    env, _ = git_environment(settings.environ)
    # The deadline counts from when the sync began: its planning and preflight are part of it.
    runner = GitRunner(log, cancel=job._cancel, deadline=(plan.began or started) + plan.timeout, env=env)
    body = _JobBody(job, runner, settings)
    worker = threading.Thread(target=body.run, name=f"gitward-sync-{job.id}-work", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.05)
        stop_asked = job._cancel.is_set() or time.monotonic() >= runner.deadline
        if stop_asked and body.give_up_at is None:
            body.give_up_at = time.monotonic() + ABANDON_GRACE_SECONDS
        if body.give_up_at is not None and time.monotonic() >= body.give_up_at and body.abandon():
            break
    _finish(job, log, body.state, time.monotonic() - started)


class _JobBody:
    """The work of one job, run in its own thread; its outcome goes onto the job unless the job
    gave up on it first (``abandon``), whichever comes first under one lock."""

    def __init__(self, job: SyncJob, runner: GitRunner, settings: JobSettings) -> None:
        self.job = job
        self.runner = runner
        self.settings = settings
        self.state = JobState.FAILED
        self.give_up_at: float | None = None
        self._lock = threading.Lock()
        self._ended = False
        self._abandoned = False

    def abandon(self) -> bool:
        """Give up on work that does not return; False when it ended meanwhile."""
        with self._lock:
            if self._ended:
                return False
            self._abandoned = True
        job, plan = self.job, self.job.plan
        if job._cancel.is_set():
            self.state, why = JobState.CANCELLED, "cancelled"
        else:
            self.state, why = JobState.TIMED_OUT, f"timed out after {plan.timeout:g} s"
        job.error = (
            f"{why}: gitward's own work did not return (a blocking read: a FIFO, or a volume that does "
            "not answer?); it was abandoned and changes nothing from here"
        )
        self.runner.log.note(f"{job.error}; last step: {self.runner.step or 'none'}")
        return True

    def run(self) -> None:
        outcome: dict = {}
        try:
            self._run(outcome)
        except BaseException as exc:  # noqa: BLE001  e.g. from a log line written while failing
            outcome.setdefault("error", f"internal error: {exc!r}")
        finally:
            with self._lock:
                self._ended = True
                if not self._abandoned:  # else the job has ended already: its outcome stands
                    for name, value in outcome.items():
                        setattr(self.job, name, value)
                    self.state = outcome.get("state", JobState.FAILED)

    def _run(self, outcome: dict) -> None:
        job, runner, plan, log = self.job, self.runner, self.job.plan, self.runner.log
        lock = RepoSyncLock(plan)
        if plan.request.hooks:
            runner.git_options = ()
        hooks = "hooks on (--hooks)" if plan.request.hooks else "hooks off (core.hooksPath=/dev/null)"
        try:
            log.note(f"sync {plan.name} ({plan.kind.value}) from {plan.remote} {plan.url}; timeout {plan.timeout:g} s; {hooks}")
            runner.step = "checking who owns the repository"
            _refuse_foreign_owner(plan)
            runner.step = "taking the sync lock"
            runner.inherit_fds = (lock.acquire(),)
            runner.step = "preflight (reading refs)"
            _refuse_unconfirmed(job, plan)
            _prepare_environment(runner, plan, self.settings)
            _execute(job, runner, plan)
            outcome.update(exit_code=0, state=JobState.OK)
        except Cancelled:
            outcome.update(error="cancelled", state=JobState.CANCELLED, exit_code=runner.last_exit)
        except TimedOut:
            outcome.update(error=f"timed out after {plan.timeout:g} s", state=JobState.TIMED_OUT, exit_code=runner.last_exit)
        except GitFailed as failed:
            outcome.update(exit_code=failed.result.returncode, error=failed.result.error)
            if wants_credentials(failed.result.error):
                outcome["hint"] = AUTH_HINT
        except SyncError as refused:
            outcome["error"] = str(refused)
        except OSError as exc:
            outcome["error"] = f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}"
        except Exception as exc:  # a bug must end the job, not the runner
            outcome["error"] = f"internal error: {exc!r}"
            for line in traceback.format_exc().splitlines():
                log.note(line)
        finally:
            lock.release()


def _open_log_file(job: SyncJob, settings: JobSettings, active_logs: Callable[[], frozenset[str]]) -> LogFile | None:
    directory = settings.log_dir or paths.log_dir()
    name = log_file_name(job.name, job.started_at or time.time(), uuid.uuid4().hex[:8])
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        prune_log_dir(directory, settings.log_dir_max_bytes, keep=active_logs())
        log_file = LogFile(os.path.join(directory, name), job_log_budget(settings.log_dir_max_bytes))
    except OSError as exc:
        job.warnings.append(f"no log file: {directory}: {exc.strerror or exc}")
        return None
    job.log_path = log_file.path
    return log_file


def _refuse_foreign_owner(plan: SyncPlan) -> None:
    """As every write: a repository owned by another user is refused up front, naming the user
    to run as (git would refuse too, as "dubious ownership", after gitward had started)."""
    try:
        check_owned([plan.path, plan.git_dir], what=f"sync {plan.name}")
    except RefusedError as refused:
        raise SyncError(str(refused)) from None


def _refuse_unconfirmed(job: SyncJob, plan: SyncPlan) -> None:
    if plan.request.force:
        return
    warnings = preflight_plan(plan)
    if warnings:
        job.preflight_warnings = warnings
        raise SyncError(
            "refused until confirmed: " + "; ".join(w.message for w in warnings) + " (sync with force to go ahead)"
        )


def _prepare_environment(runner: GitRunner, plan: SyncPlan, settings: JobSettings) -> None:
    # core.sshCommand as this repository's git sees it: GIT_SSH_COMMAND must extend it, not hide it.
    ssh_command = ssh_command_from_config(runner, plan.path) if os.path.isdir(plan.path) else None
    runner.env, notes = git_environment(settings.environ, ssh_command)
    for note in notes:
        runner.log.note(note)


def _execute(job: SyncJob, runner: GitRunner, plan: SyncPlan) -> None:
    if plan.kind is SyncKind.GIT_SYNC:
        outcome = sync_git_sync_root(runner, plan)
        job.changed_refs = outcome.changed_refs
        if outcome.published or outcome.old_target != outcome.new_target:
            job.link_change = (outcome.old_target, outcome.new_target)
        job.warnings.extend(outcome.warnings)
        job.kept.extend(outcome.kept)
        job.unreadable.extend(outcome.unreadable)
        if outcome.unreadable:
            # Unknown is not ok: the link may have moved, but the sync could not judge everything.
            served = f"the link serves {outcome.sha[:12]}, but " if outcome.published or outcome.old_target == outcome.new_target else ""
            raise SyncError(
                f"{served}{'; '.join(outcome.unreadable)}: unknown, so kept and nothing of it was deleted"
            )
    else:
        job.changed_refs = fetch_remote(runner, plan)


def _finish(job: SyncJob, log: JobLog, state: JobState, seconds: float) -> None:
    if state is JobState.OK:
        count = len(job.changed_refs)
        log.note(f"ok in {seconds:.2f} s: " + ("already up to date" if not count else f"{plural(count, 'ref')} changed"))
    else:
        exit_part = f", git exit {job.exit_code}" if job.exit_code not in (None, 0) else ""
        # The reason goes into the log too: the log file is what is left to read afterwards.
        log.note(f"{state.value} after {seconds:.2f} s{exit_part}: {job.error or 'no reason given'}")
        if job.hint:
            log.note(job.hint)
    if log.file_error:
        job.warnings.append(log.file_error)
    _record(job, state)
    log.close()
    job._set_state(state)


def _record(job: SyncJob, state: JobState) -> None:
    """Journal the sync and keep its outcome for "last fetch" (``tui.core.sync.record``)."""
    plan = job.plan
    job.journal_id, warnings = record_sync(
        repo_key=plan.repo_key,
        git_dir=plan.git_dir,
        name=plan.name,
        remote=plan.remote,
        url=plan.url,
        state=state.value,
        started=job.started_at,
        ended=time.time(),
        exit_code=job.exit_code,
        error=job.error,
        changes=job.changed_refs,
    )
    job.warnings.extend(warnings)
