"""Run part of a test as an unprivileged user, where permissions must matter.

The suite runs as root in CI, and root bypasses file permissions: a `chmod 000` that an NFS
blink or a wrong owner would cause on a real host changes nothing for root. These helpers make
one system user (`gitward-adversary`) and run a Python callable, or gitward's own CLI, in a
forked child that has dropped to that user.

Why a fork and not `runuser -u USER -- python ...`: the interpreter lives under /root (pyenv),
which is mode 0700, so no other user can exec it. The forked child already has the interpreter
and gitward's modules loaded; import what the callable needs before calling (`preload`).
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import pwd
import shutil
import signal
import subprocess
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER_NAME = "gitward-adversary"


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int


def adversary_user() -> User:
    """The unprivileged test user, created on first use; skips where that is impossible."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create and switch to an unprivileged user")
    try:
        entry = pwd.getpwnam(USER_NAME)
    except KeyError:
        if shutil.which("useradd") is None:
            pytest.skip("useradd is not installed: cannot create an unprivileged user")
        result = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER_NAME],
            capture_output=True,
            text=True,
        )
        # Two xdist workers may race to create it; "already exists" (exit 9) is success.
        if result.returncode not in (0, 9):
            pytest.skip(f"useradd failed: {result.stderr.strip()}")
        entry = pwd.getpwnam(USER_NAME)
    return User(USER_NAME, entry.pw_uid, entry.pw_gid)


@contextlib.contextmanager
def shared_dir(owner: User) -> Iterator[Path]:
    """A fresh directory under /tmp that `owner` can reach and owns (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="gitward-adv-", dir="/tmp"))
    try:
        os.chmod(path, 0o755)
        os.chown(path, owner.uid, owner.gid)
        yield path
    finally:
        # Undo any chmod 000 a test left so that root's rmtree can descend everywhere.
        for dirpath, dirnames, _ in os.walk(path):
            for name in dirnames:
                with contextlib.suppress(OSError):
                    os.chmod(os.path.join(dirpath, name), 0o755)
        shutil.rmtree(path, ignore_errors=True)


def chown_tree(path: str | os.PathLike, owner: User) -> None:
    """Give a tree built by root (with the git CLI) to `owner`, symlinks included."""
    os.lchown(path, owner.uid, owner.gid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), owner.uid, owner.gid)


class ChildFailed(AssertionError):
    """The callable raised in the child: its traceback, as text."""


def call_as(user: User, fn: Callable, *args, timeout: float = 120.0, **kwargs):
    """``fn(*args, **kwargs)`` in a child running as ``user``; its result (pickled) or its error.

    The child is killed after ``timeout`` seconds: a test of "never hangs" fails instead of
    hanging the suite.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(user.gid)
            os.setuid(user.uid)
            os.environ["HOME"] = "/nonexistent"
            os.environ["USER"] = os.environ["LOGNAME"] = user.name
            try:
                payload = ("ok", fn(*args, **kwargs))
            except BaseException:  # noqa: BLE001  everything goes back to the parent
                payload = ("error", traceback.format_exc())
            data = pickle.dumps(payload)
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
        except BaseException:  # noqa: BLE001
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    chunks = []
    with os.fdopen(read_end, "rb") as source:
        import selectors

        selector = selectors.DefaultSelector()
        selector.register(source, selectors.EVENT_READ)
        while True:
            if not selector.select(timeout):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise AssertionError(f"{getattr(fn, '__name__', fn)} as {user.name} did not finish in {timeout} s")
            chunk = os.read(source.fileno(), 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    if not chunks:
        raise AssertionError("the child died before it could report")
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "error":
        raise ChildFailed(value)
    return value


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def _cli_in_process(argv: list[str]) -> CliResult:
    from tui.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    return CliResult(int(code or 0), out.getvalue(), err.getvalue())


def preload_gitward() -> None:
    """Import gitward's non-UI modules (and so the stdlib they use) before a fork.

    The child cannot read the interpreter's stdlib under /root once it has dropped to the test
    user, so every module a command may import lazily must already be loaded.
    """
    import importlib
    import pkgutil

    import tui

    for module in pkgutil.walk_packages(tui.__path__, "tui."):
        if not module.name.startswith("tui.app"):
            importlib.import_module(module.name)


def run_cli_as(user: User, *argv: str, timeout: float = 120.0) -> CliResult:
    """``gitward ARGV...`` run as ``user`` (in a forked child, see the module docstring)."""
    preload_gitward()
    return call_as(user, _cli_in_process, list(argv), timeout=timeout)
