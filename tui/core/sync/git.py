"""Running git for a sync: the runner, its environment, its errors, and the refs it changed.

- ``git_environment()``: git as the operator's git (ssh config, credential helpers, protocol
  settings) but unable to hang on a prompt: ``GIT_TERMINAL_PROMPT=0``, an empty
  ``GIT_ASKPASS``, ssh in ``BatchMode``, stdin from /dev/null, no controlling terminal.
- ``GitRunner``: one git process at a time in its own process group, output streamed into the
  job's log as it arrives; cancel and timeout terminate the whole group (SIGTERM, SIGKILL after
  ``KILL_GRACE_SECONDS``), so nothing git started survives it.
- ``read_refs`` / ``diff_refs``: every ref before and after, as git resolves them; the
  difference is what a sync changed (``RefChange``: old -> new).

Every failure mode is one of: ``GitFailed`` (git said no; its error line is kept), ``Cancelled``,
``TimedOut`` (``Stopped`` both), ``SyncError`` (gitward refuses or cannot tell). None of them
leaves anything half-done that git would not leave after an interrupted fetch.
"""

from __future__ import annotations

import os
import re
import selectors
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from tui.core.redact import redact_text
from tui.core.sync.synclog import JobLog

__all__ = [
    "AUTH_HINT", "Cancelled", "GitFailed", "GitResult", "GitRunner", "NO_HOOKS", "RefChange", "Stopped",
    "SyncError", "TimedOut", "call_within", "diff_refs", "git_environment", "read_refs",
    "ssh_command_from_config", "wants_credentials",
]

KILL_GRACE_SECONDS = 0.5  # SIGTERM lets git remove its lock files; then SIGKILL
POLL_SECONDS = 0.05  # how often a running step looks at the cancel flag and the clock
DRAIN_SECONDS = 1.0  # after git exits, how long a grandchild may keep the pipe open

# Every git a sync runs gets these unless the operator asked for hooks: a repository's hooks
# are code nobody asked to run (on GitLab hosts they are Gitaly's, and misbehave outside it).
NO_HOOKS = ("-c", "core.hooksPath=/dev/null")

# Repository-location variables (``git rev-parse --local-env-vars``): one leaking in from a hook
# or a wrapper would point every command at another repository.
_LOCAL_ENV_VARS = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_PREFIX", "GIT_SHALLOW_FILE", "GIT_GRAFT_FILE",
    "GIT_IMPLICIT_WORK_TREE", "GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE",
    "GIT_INTERNAL_SUPER_PREFIX", "GIT_NAMESPACE",
)

# git's error lines, newest wins: this is what a failed sync reports as its reason.
_ERROR_LINE = re.compile(r"^(?:remote: )?(?:fatal|error|ERROR|FATAL)\b")
# Causes that say "the remote wants credentials we will not type".
_AUTH_WANTED = re.compile(
    r"terminal prompts disabled|could not read (?:Username|Password)|Authentication failed"
    r"|Permission denied \(|Host key verification failed|HTTP Basic: Access denied",
    re.IGNORECASE,
)
AUTH_HINT = (
    "the remote wants credentials and gitward never prompts: give this user a credential helper, "
    "an ssh key (ssh-agent, ~/.ssh/config) or a token in its git config, then sync again"
)


# --------------------------------------------------------------------------- errors


class SyncError(Exception):
    """gitward will not (or cannot safely) go on; the message says why. Nothing was changed
    after the point the message names."""


class Stopped(Exception):
    """The sync was stopped from outside: cancelled or timed out."""

    state = "stopped"


class Cancelled(Stopped):
    state = "cancelled"


class TimedOut(Stopped):
    state = "timed-out"


class GitFailed(Exception):
    """A git command exited non-zero where the sync cannot go on."""

    def __init__(self, result: GitResult, what: str = "") -> None:
        self.result = result
        self.what = what
        super().__init__(result.error or f"git exited with {result.returncode}")


# --------------------------------------------------------------------------- bounded reads


def call_within(fn, *args, seconds: float, what: str):
    """``fn(*args)``, or TimedOut when it has not returned within ``seconds``.

    For gitward's own reads of a repository before a job runs (planning, preflight): a read
    that blocks (a FIFO planted where a file belongs, a volume that does not answer) cannot be
    interrupted, so it runs in a daemon thread that is left behind; it only reads.
    """
    result: dict = {}
    done = threading.Event()

    def call() -> None:
        try:
            result["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001  re-raised in the caller's thread
            result["error"] = exc
        finally:
            done.set()

    threading.Thread(target=call, name=f"gitward-{what}", daemon=True).start()
    if not done.wait(max(seconds, 0.0)):
        raise TimedOut(f"timed out after {seconds:g} s while {what}: gitward's own read did not return "
                       "(a FIFO, or a volume that does not answer?)")
    if "error" in result:
        raise result["error"]
    return result["value"]


# --------------------------------------------------------------------------- git's environment


def git_environment(base: dict[str, str] | None = None, ssh_command: str | None = None) -> tuple[dict[str, str], list[str]]:
    """The environment every sync git runs with, and notes for the log.

    ``ssh_command``: ``core.sshCommand`` from the repository's view of the config (the caller
    asks git), so an operator's own ssh command keeps working: GIT_SSH_COMMAND would override it.
    """
    env = dict(os.environ if base is None else base)
    notes: list[str] = []
    for name in _LOCAL_ENV_VARS:
        env.pop(name, None)
    env["GIT_TERMINAL_PROMPT"] = "0"
    # Set and empty: git then skips core.askPass and SSH_ASKPASS too (prompt.c) and fails with
    # "terminal prompts disabled" instead of waiting for a password nobody will type.
    env["GIT_ASKPASS"] = ""
    env.pop("SSH_ASKPASS", None)
    env["SSH_ASKPASS_REQUIRE"] = "never"
    existing = env.get("GIT_SSH_COMMAND") or ssh_command
    if existing:
        env["GIT_SSH_COMMAND"] = f"{existing} -o BatchMode=yes"
    elif env.get("GIT_SSH"):
        notes.append(
            "GIT_SSH is set (a program, no arguments): BatchMode cannot be added; "
            "ssh still cannot prompt (no terminal, no askpass)"
        )
    else:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    return env, notes


# --------------------------------------------------------------------------- running git


@dataclass(slots=True)
class GitResult:
    argv: list[str]
    returncode: int | None
    stdout: str = ""  # only with capture=True
    error: str | None = None  # git's last error line (or last line) when it failed
    step_timed_out: bool = False  # a per-step timeout (not the sync's) ran out
    lines: list[str] = field(default_factory=list)  # this step's final lines (for classification)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.step_timed_out


class GitRunner:
    """Runs git for one sync: streamed into ``log``, stopped by ``cancel`` or the ``deadline``.

    One process at a time (a sync is a sequence of steps). ``run`` raises ``Cancelled`` or
    ``TimedOut`` after terminating the process group; otherwise returns the result.
    """

    def __init__(
        self,
        log: JobLog,
        *,
        cancel: threading.Event,
        deadline: float,
        env: dict[str, str],
        clock=time.monotonic,
    ) -> None:
        self.log = log
        self.cancel = cancel
        self.deadline = deadline
        self.env = env
        self.clock = clock
        self.last_exit: int | None = None
        self.git_options: tuple[str, ...] = NO_HOOKS  # before every command; () runs hooks
        # Descriptors every git inherits: the repository's sync lock, so that a git left running
        # after gitward was killed keeps holding it.
        self.inherit_fds: tuple[int, ...] = ()
        self.step = ""  # what gitward itself is doing, for the log when that does not return

    def check_stop(self) -> None:
        """Between steps: has the operator cancelled, or the sync run out of time?"""
        if self.cancel.is_set():
            raise Cancelled("cancelled")
        if self.clock() >= self.deadline:
            raise TimedOut("timed out")

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def run(
        self,
        args: list[str],
        cwd: str,
        *,
        capture: bool = False,
        quiet: bool = False,
        timeout: float | None = None,
        show: list[str] | None = None,
    ) -> GitResult:
        """Run ``git <args>`` in ``cwd``.

        ``capture``: stdout is returned, not logged (stderr still is). ``quiet``: no "$ git ..."
        line. ``timeout``: a per-step limit; when it runs out the result says
        ``step_timed_out`` (the caller decides what that means: for a health check, *unknown*).
        ``show``: the argv to print instead of ``args`` (already redacted, e.g. no URL).
        """
        self.check_stop()
        self.step = "git " + (show or args)[0]
        argv = ["git", *self.git_options, *args]
        if not quiet:
            self.log.note("$ " + redact_text(shlex.join(["git", *(show or args)])))
        step_deadline = None if timeout is None else self.clock() + timeout
        proc = self._spawn(argv, cwd, capture)
        stdout, lines, stopped = self._pump(proc, step_deadline, capture)
        returncode = proc.returncode
        self.last_exit = returncode
        if stopped == "cancelled":
            self.log.note(f"cancelled: git (pid {proc.pid}) and its process group terminated")
            raise Cancelled("cancelled")
        if stopped == "timed-out":
            self.log.note(f"timed out: git (pid {proc.pid}) and its process group terminated")
            raise TimedOut("timed out")
        result = GitResult(argv, returncode, stdout, lines=lines, step_timed_out=stopped == "step-timeout")
        if not result.ok:
            result.error = _error_line(lines) or (
                f"git {args[0]} took longer than {timeout:.0f} s" if result.step_timed_out else f"git {args[0]} exited with {returncode}"
            )
        return result

    def run_checked(self, args: list[str], cwd: str, *, what: str = "", **kwargs) -> GitResult:
        result = self.run(args, cwd, **kwargs)
        if not result.ok:
            raise GitFailed(result, what)
        return result

    def _spawn(self, argv: list[str], cwd: str, capture: bool) -> subprocess.Popen:
        try:
            return subprocess.Popen(
                argv,
                cwd=cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if capture else subprocess.STDOUT,
                # Own session: no controlling terminal (ssh cannot prompt) and one process group
                # to terminate, git's children (ssh, upload-pack, remote helpers) included.
                start_new_session=True,
                close_fds=True,
                pass_fds=self.inherit_fds,
            )
        except FileNotFoundError as exc:
            raise SyncError("git is not installed or not on PATH") from exc
        except OSError as exc:
            raise SyncError(f"cannot run git in {cwd}: {exc.strerror or exc}") from exc

    def _pump(self, proc: subprocess.Popen, step_deadline: float | None, capture: bool) -> tuple[str, list[str], str | None]:
        """Stream output until git is done or must be stopped; returns (stdout, lines, why)."""
        out_chunks: list[bytes] = []
        log_pipe = proc.stderr if capture else proc.stdout
        first_seq = self.log.buffer.total + 1
        stopped: str | None = None
        exited_at: float | None = None
        with selectors.DefaultSelector() as selector:
            selector.register(log_pipe, selectors.EVENT_READ, "log")
            if capture:
                selector.register(proc.stdout, selectors.EVENT_READ, "out")
            while selector.get_map():
                for key, _ in selector.select(POLL_SECONDS):
                    data = os.read(key.fd, 65536)
                    if not data:
                        selector.unregister(key.fileobj)
                    elif key.data == "out":
                        out_chunks.append(data)
                    else:
                        self.log.feed(data)
                # Once git is reaped its pid (the group id) may be reused: never signal it then;
                # a cancel that comes after git finished is seen by the next check_stop().
                if stopped is None and proc.returncode is None:
                    stopped = self._why_stop(step_deadline)
                    if stopped is not None:
                        _terminate_group(proc)
                        exited_at = self.clock()
                if exited_at is None and proc.poll() is not None:
                    exited_at = self.clock()
                if exited_at is not None and self.clock() - exited_at > DRAIN_SECONDS:
                    break  # a grandchild that escaped the group holds the pipe: stop listening
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait()
        self.log.end_of_output()
        lines = [line.text for line in self.log.buffer.lines() if line.seq >= first_seq]
        return b"".join(out_chunks).decode("utf-8", "replace"), lines, stopped

    def _why_stop(self, step_deadline: float | None) -> str | None:
        if self.cancel.is_set():
            return "cancelled"
        now = self.clock()
        if now >= self.deadline:
            return "timed-out"
        if step_deadline is not None and now >= step_deadline:
            return "step-timeout"
        return None


def _terminate_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL it after the grace period.

    The group id is git's pid; git is not reaped until this returns (waitid WNOWAIT), so the id
    cannot be reused by an unrelated process while we signal it.
    """
    pgid = proc.pid
    _signal_group(pgid, signal.SIGTERM)
    end = time.monotonic() + KILL_GRACE_SECONDS
    while time.monotonic() < end:
        if _has_exited(proc.pid):
            break
        time.sleep(0.01)
    # Whether or not git left on SIGTERM, its children (ssh, upload-pack, a wrapper's sleep)
    # must not outlive the sync.
    _signal_group(pgid, signal.SIGKILL)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        pass  # a setuid helper in the group; the rest still got the signal


def _has_exited(pid: int) -> bool:
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


# git's closing words when a transport failed; the cause is the line before (ssh's, a helper's).
_GENERIC_ERRORS = ("Could not read from remote repository",)


def _error_line(lines: list[str]) -> str | None:
    """The one line that says why git failed: its first error, with the cause when git's error
    is only the generic closing words."""
    for index, line in enumerate(lines):
        if not _ERROR_LINE.match(line):
            continue
        if any(generic in line for generic in _GENERIC_ERRORS):
            cause = next((l for l in reversed(lines[:index]) if l.strip()), None)
            return f"{cause} ({line})" if cause else line
        return line
    for line in reversed(lines):
        if line.strip():
            return line
    return None


def wants_credentials(error: str | None) -> bool:
    return bool(error and _AUTH_WANTED.search(error))


# --------------------------------------------------------------------------- refs before and after


@dataclass(frozen=True, slots=True)
class RefChange:
    name: str
    old: str | None  # None: the ref is new
    new: str | None  # None: the ref was deleted (pruned)

    @property
    def kind(self) -> str:
        if self.old is None:
            return "new"
        if self.new is None:
            return "deleted"
        return "updated"

    def to_json(self) -> dict:
        return {"name": self.name, "old": self.old, "new": self.new, "kind": self.kind}


def read_refs(runner: GitRunner, cwd: str) -> dict[str, str]:
    """Every direct ref and its value, as git resolves them (files or reftable alike).

    Symbolic refs (``refs/remotes/origin/HEAD``) are left out: they "change" only when their
    target does, which is already listed.
    """
    result = runner.run_checked(
        ["for-each-ref", "--format=%(objectname) %(refname) %(symref)"], cwd, capture=True, quiet=True, what="list refs"
    )
    refs = {}
    for line in result.stdout.splitlines():
        value, name, symref = (line.split(" ", 2) + ["", ""])[:3]
        if name and not symref:
            refs[name] = value
    return refs


def diff_refs(before: dict[str, str], after: dict[str, str]) -> list[RefChange]:
    changes = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old != new:
            changes.append(RefChange(name, old, new))
    return changes


# --------------------------------------------------------------------------- the remote's settings


def ssh_command_from_config(runner: GitRunner, cwd: str) -> str | None:
    """``core.sshCommand`` as git sees it from this repository (system, global, local)."""
    result = runner.run(["config", "--get", "core.sshCommand"], cwd, capture=True, quiet=True, timeout=10)
    value = result.stdout.strip()
    return value if result.ok and value else None
