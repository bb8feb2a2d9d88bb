"""Sync a repository from its upstream with the system ``git``: plan, preflight, run, report.

On a git host "sync" means: bring this repository up to date with its upstream now, and show
what happens while it happens. Mirrors (``remote.<name>.mirror`` or ``+refs/*:refs/*``) and
ordinary clones get ``git fetch --prune --progress <remote>`` with their own refspecs; git-sync
roots get git-sync's whole update (``tui.core.sync.gitsync``). The job machinery (queue, states,
listeners) is in ``tui.core.sync.jobs``; this module holds what one sync needs:

- ``plan_sync(request)``: what will run, against which remote and host; cheap file reads, raises
  ``SyncError`` for input that cannot be synced (not a repository, no such remote).
- ``preflight(plan)``: warnings the operator must confirm first (stale-loose shadows: the fetch
  overwrites the evidence of the migration incident).
- ``git_environment()``: git as the operator's git (ssh config, credential helpers, protocol
  settings) but unable to hang on a prompt: ``GIT_TERMINAL_PROMPT=0``, an empty
  ``GIT_ASKPASS``, ssh in ``BatchMode``, stdin from /dev/null, no controlling terminal.
- ``GitRunner``: one git process at a time in its own process group, output streamed into the
  job's log as it arrives; cancel and timeout terminate the whole group (SIGTERM, SIGKILL after
  ``KILL_GRACE_SECONDS``), so nothing git started survives it.

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
from enum import StrEnum
from urllib.parse import urlsplit

from tui.core.discovery import Candidate, NotARepository, repository_at
from tui.core.fsutil import read_bytes
from tui.core.gitconfig import GitConfig, read_config
from tui.core.model import Layout
from tui.core.redact import redact_text, redact_url
from tui.core.sync.synclog import JobLog

DEFAULT_REMOTE = "origin"
DEFAULT_TIMEOUT_SECONDS = 300.0
KILL_GRACE_SECONDS = 0.5  # SIGTERM lets git remove its lock files; then SIGKILL
POLL_SECONDS = 0.05  # how often a running step looks at the cancel flag and the clock
DRAIN_SECONDS = 1.0  # after git exits, how long a grandchild may keep the pipe open
LOCAL_HOST = "local"  # host key for file:// URLs and paths
GIT_SYNC_BRANCH = "refs/heads/git-sync"  # git-sync v4: `git init -b git-sync` at --root

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


# --------------------------------------------------------------------------- request and plan


class SyncKind(StrEnum):
    MIRROR = "mirror"  # remote.<name>.mirror or a +refs/*:refs/* refspec
    CLONE = "clone"  # an ordinary remote with its own refspecs
    GIT_SYNC = "git-sync"  # a git-sync root: fetch, worktree, link swap, cleanup


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """What the operator asked for. Only ``path`` is required."""

    path: str  # the repository: work tree, bare git dir, or git-sync root
    remote: str | None = None  # default: origin, else the only remote
    timeout: float | None = None  # seconds for the whole sync; default from the config
    force: bool = False  # the operator confirmed the preflight warnings
    # git-sync roots only:
    ref: str | None = None  # what to track; default: what the last fetch fetched, else HEAD
    link: str | None = None  # the --link (relative to the root or absolute); default: the one there
    url: str | None = None  # the upstream, to initialise an empty root (git-sync's --repo)
    hooks: bool = False  # run the repository's hooks (off by default: see NO_HOOKS)


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """A request resolved against the repository on disk."""

    request: SyncRequest
    path: str  # absolute
    git_dir: str
    name: str  # for display: the path as given, or the repo's name
    kind: SyncKind
    remote: str
    url: str  # redacted
    host: str  # the remote host (for the per-host limit); "local" for paths and file://
    repo_key: str  # one per repository: real path of its git dir
    timeout: float
    ref: str | None = None  # git-sync: the tracked ref
    link: str | None = None  # git-sync: absolute path of the link
    initialise: bool = False  # git-sync: the root is empty and will be `git init`ed
    began: float | None = None  # time.monotonic() when the sync began (None: when its job starts)

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "name": self.name,
            "kind": self.kind.value,
            "remote": self.remote,
            "url": self.url,
            "host": self.host,
            "timeout": self.timeout,
            "ref": self.ref,
            "link": self.link,
        }


def plan_sync(request: SyncRequest, *, default_timeout: float = DEFAULT_TIMEOUT_SECONDS) -> SyncPlan:
    """Resolve a request: which repository, which remote, which host. Reads files, runs nothing."""
    path = os.path.abspath(request.path)
    timeout = request.timeout if request.timeout is not None else default_timeout
    if not timeout > 0:
        raise SyncError(f"timeout must be a positive number of seconds, got {timeout}")
    if request.url is not None and _is_empty_or_absent(path):
        return _plan_new_git_sync_root(request, path, timeout)
    candidate = _candidate(path, request.path)
    config, error = read_config(os.path.join(candidate.git_dir, "config"))
    if error:
        raise SyncError(f"{request.path}: {error}")
    remote = _choose_remote(config, request.remote, request.path)
    raw_url = config.get("remote", remote, "url") or ""
    if is_git_sync_root(candidate):
        return _plan_git_sync(request, candidate, config, remote, raw_url, timeout)
    if request.ref or request.link or request.url:
        raise SyncError(f"{request.path}: --ref, --link and --url apply to git-sync roots only")
    kind = SyncKind.MIRROR if _is_mirror(config, remote) else SyncKind.CLONE
    return SyncPlan(
        request=request,
        path=candidate.path,
        git_dir=candidate.git_dir,
        name=request.path,
        kind=kind,
        remote=remote,
        url=redact_url(raw_url),
        host=host_key(raw_url),
        repo_key=os.path.realpath(candidate.git_dir),
        timeout=timeout,
    )


def _candidate(path: str, shown: str) -> Candidate:
    try:
        return repository_at(path, shown)
    except NotARepository as exc:
        raise SyncError(str(exc)) from None


def _is_empty_or_absent(path: str) -> bool:
    try:
        return not os.listdir(path)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise SyncError(f"{path}: {exc.strerror or exc}") from None


def _choose_remote(config: GitConfig, wanted: str | None, shown: str) -> str:
    names = [n for n in config.subsections("remote") if config.get("remote", n, "url")]
    if wanted is not None:
        if wanted not in names:
            known = ", ".join(names) or "none"
            raise SyncError(f"{shown}: no remote named {wanted!r} with a url (remotes: {known})")
        return wanted
    if DEFAULT_REMOTE in names:
        return DEFAULT_REMOTE
    if len(names) == 1:
        return names[0]
    if not names:
        raise SyncError(f"{shown}: nothing to sync from: no remote is configured")
    raise SyncError(f"{shown}: no 'origin' remote; choose one of {', '.join(names)} (--remote NAME)")


def _is_mirror(config: GitConfig, remote: str) -> bool:
    if config.get_bool("remote", remote, "mirror", default=False):
        return True
    return any(spec.lstrip("+") == "refs/*:refs/*" for spec in config.get_all("remote", remote, "fetch"))


def is_git_sync_root(candidate: Candidate) -> bool:
    """git-sync's layout (``.worktrees/``) or its branch (``git init -b git-sync``): the latter
    still holds when an operator deleted ``.worktrees`` by hand."""
    if candidate.layout is Layout.GIT_SYNC:
        return True
    if candidate.layout is not Layout.NON_BARE:
        return False
    try:
        head = read_bytes(os.path.join(candidate.git_dir, "HEAD"), 256).strip()  # a FIFO must not hang us
    except OSError:
        return False
    return head == b"ref: " + GIT_SYNC_BRANCH.encode()


def _plan_git_sync(
    request: SyncRequest, candidate: Candidate, config: GitConfig, remote: str, raw_url: str, timeout: float
) -> SyncPlan:
    # deferred: gitsync imports this module at the top (KNOWN_CIRCLES in tests/test_layers.py)
    from tui.core.sync.gitsync import default_link_name, find_link, tracked_ref

    root = candidate.path
    if request.url is not None and request.url != raw_url:
        raise SyncError(
            f"{request.path}: its {remote} is {redact_url(raw_url)}, not {redact_url(request.url)}; "
            "gitward does not repoint an existing root"
        )
    link = request.link
    if link is None:
        link = find_link(root) or default_link_name(raw_url)
    return SyncPlan(
        request=request,
        path=root,
        git_dir=candidate.git_dir,
        name=request.path,
        kind=SyncKind.GIT_SYNC,
        remote=remote,
        url=redact_url(raw_url),
        host=host_key(raw_url),
        repo_key=os.path.realpath(candidate.git_dir),
        timeout=timeout,
        ref=request.ref or tracked_ref(candidate.git_dir),
        link=os.path.normpath(os.path.join(root, link)),
    )


def _plan_new_git_sync_root(request: SyncRequest, path: str, timeout: float) -> SyncPlan:
    # deferred: gitsync imports this module at the top (KNOWN_CIRCLES in tests/test_layers.py)
    from tui.core.sync.gitsync import default_link_name

    url = request.url or ""
    link = request.link or default_link_name(url)
    return SyncPlan(
        request=request,
        path=path,
        git_dir=os.path.join(path, ".git"),
        name=request.path,
        kind=SyncKind.GIT_SYNC,
        remote=request.remote or DEFAULT_REMOTE,
        url=redact_url(url),
        host=host_key(url),
        repo_key=os.path.join(os.path.realpath(path), ".git"),
        timeout=timeout,
        ref=request.ref or "HEAD",
        link=os.path.normpath(os.path.join(path, link)),
        initialise=True,
    )


_SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?(\[[^\]]+\]|[^:/]+):(?!//)")


def host_key(url: str) -> str:
    """The server a URL talks to, for the per-host limit: ``git.example.com``; ``local`` for
    paths and ``file://``. ``url.<base>.insteadOf`` rewrites are not applied."""
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme == "file":
            return LOCAL_HOST
        return (parts.hostname or parts.netloc or url).lower()
    match = _SCP_LIKE.match(url)
    if match and not url.startswith(("/", ".")):
        return match.group(1).strip("[]").lower()
    return LOCAL_HOST


# --------------------------------------------------------------------------- preflight


@dataclass(frozen=True, slots=True)
class PreflightWarning:
    code: str
    message: str
    refs: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"code": self.code, "message": self.message, "refs": list(self.refs)}


# Shadow verdicts whose loose file is evidence a fetch would overwrite, in report order.
_EVIDENCE_VERDICTS = ("stale-loose", "diverged")


def preflight(plan: SyncPlan) -> list[PreflightWarning]:
    """What the operator must confirm before this sync runs (empty: nothing).

    Stale-loose shadows (incident 1): the fetch rewrites those refs, so the loose files that show
    what the replica looked like are gone afterwards. Record them first (``gitward refs REPO
    --shadowed``), or resolve them (``gitward shadows prune``). Diverged shadows likewise.
    """
    if plan.initialise:
        return []
    # lazy (import cost): core.refstore loads on first use, not with this module
    from tui.core.gitconfig import repo_settings
    from tui.core.refstore import iter_refs, judge_shadows, read_snapshot

    config, _ = read_config(os.path.join(plan.git_dir, "config"))
    settings = repo_settings(config)
    if settings.ref_storage != "files":
        return []  # reftable has no loose/packed shadows
    snapshot = read_snapshot(plan.git_dir, settings.object_format)
    judge_shadows(snapshot)
    by_verdict: dict[str, list[str]] = {}
    for ref in iter_refs(snapshot, shadowed_only=True):
        if ref.verdict is not None and ref.verdict.value in _EVIDENCE_VERDICTS:
            by_verdict.setdefault(ref.verdict.value, []).append(ref.name)
    return [_evidence_warning(v, tuple(by_verdict[v])) for v in _EVIDENCE_VERDICTS if v in by_verdict]


def _evidence_warning(label: str, names: tuple[str, ...]) -> PreflightWarning:
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    what = (
        "a stale loose file hides a newer packed value (the rsync-without---delete incident)"
        if label == "stale-loose"
        else "the loose and packed values have diverged"
    )
    message = (
        f"{len(names)} ref{'s' if len(names) != 1 else ''} with {label} shadows ({shown}): {what}. "
        "The fetch will overwrite them and with them the evidence of what this replica showed; "
        "record them first (gitward refs REPO --shadowed --json)"
    )
    return PreflightWarning(f"{label}-shadows", message, names)


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


# --------------------------------------------------------------------------- mirrors and clones


def ssh_command_from_config(runner: GitRunner, cwd: str) -> str | None:
    """``core.sshCommand`` as git sees it from this repository (system, global, local)."""
    result = runner.run(["config", "--get", "core.sshCommand"], cwd, capture=True, quiet=True, timeout=10)
    value = result.stdout.strip()
    return value if result.ok and value else None


def fetch_remote(runner: GitRunner, plan: SyncPlan) -> list[RefChange]:
    """Mirror or clone: ``git fetch --prune --progress <remote>`` with the repo's own refspecs.

    ``--no-auto-gc``: a sync never starts housekeeping. gc detaches into its own session (a
    cancel could not stop it), and on a repo with stale loose refs gc is the incident itself.
    """
    cwd = plan.path
    before = read_refs(runner, cwd)
    runner.run_checked(["fetch", "--prune", "--progress", "--no-auto-gc", plan.remote], cwd, what="fetch")
    after = read_refs(runner, cwd)
    return diff_refs(before, after)

