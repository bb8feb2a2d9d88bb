"""The console in a real pseudo-terminal: gitward and a minimal Textual app, launched as an
installed program is (from compiled bytecode), timed until markers appear on the terminal.

Used by ``tui_bench.py`` (launch to first frame, full listing); kept apart so that each file
stays readable."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import termios
import time
import struct
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SIZE = (140, 40)


# --------------------------------------------------------------------------- in a terminal


MINIMAL_APP = """
from textual.app import App
from textual.widgets import Footer, Static
class Minimal(App):
    BINDINGS = [("q", "quit", "Quit")]
    def compose(self):
        yield Static("worst problem")
        yield Footer()
Minimal().run()
"""


def _spawn(root: str, argv: list[str] | None = None) -> tuple[subprocess.Popen, int]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(SIZE[0]), LINES=str(SIZE[1]))
    # Both apps start as an installed program does: from compiled bytecode. With this variable
    # set (some CI images and this workplace set it), gitward's own modules, imported from the
    # working tree, were compiled from source on every launch while Textual's came from
    # site-packages already compiled: 2x the minimal app, of which ~0.1 s was the compiler.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.Popen(
        argv or [sys.executable, "-m", "tui", root],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=REPO_ROOT,
        env=env,
        start_new_session=True,
        close_fds=True,
    )
    os.close(slave)
    return proc, master


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process so far (clock ticks: 10 ms steps)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for(
    master: int, markers: list[bytes], timeout: float, started: float, cpu: dict[bytes, float] | None = None, pid: int = 0
) -> dict[bytes, float]:
    """Read the terminal until every marker was seen; seconds since ``started`` for each (and
    in ``cpu``, the CPU the process ``pid`` had used by then: a loaded machine stretches wall
    time more than CPU time)."""
    seen: dict[bytes, float] = {}
    buffer = b""
    deadline = time.perf_counter() + timeout
    while len(seen) < len(markers) and time.perf_counter() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        buffer += chunk
        now = time.perf_counter() - started
        for marker in markers:
            if marker not in seen and marker in buffer:
                seen[marker] = now
                if cpu is not None:
                    cpu[marker] = _cpu_seconds(pid)
        buffer = buffer[-4096:]
    return seen


def _stop(proc: subprocess.Popen, master: int) -> None:
    try:
        os.write(master, b"q")
        proc.wait(timeout=5)
    except Exception:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    finally:
        os.close(master)


def minimal_textual_first_frame(cpu: dict[bytes, float] | None = None) -> float:
    """The floor on this machine: a Textual app with one Static and a Footer."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(MINIMAL_APP)
    try:
        started = time.perf_counter()
        proc, master = _spawn("", [sys.executable, handle.name])
        try:
            seen = _wait_for(master, [b"worst problem"], 30.0, started, cpu, proc.pid)
        finally:
            _stop(proc, master)
    finally:
        os.unlink(handle.name)
    return seen.get(b"worst problem", float("nan"))


def terminal_run(root: str, repos: int | None, timeout: float = 120.0, full_listing: bool = True) -> dict[str, float]:
    """``full_listing=False``: stop at the first frame (``--only first-frame``)."""
    first_frame = b"worst problem"
    # Without the count (--root), "scanned " alone matched "scanned 0 repos" in the first frame;
    # only the finished status line says "N repos in S s".
    done = f"scanned {repos:,} repos".encode() if repos is not None else b" repos in "
    started = time.perf_counter()
    proc, master = _spawn(root)
    try:
        cpu: dict[bytes, float] = {}
        seen = _wait_for(master, [first_frame, done] if full_listing else [first_frame], timeout, started, cpu, proc.pid)
    finally:
        _stop(proc, master)
    return {
        "first_frame": seen.get(first_frame, float("nan")),
        "first_frame_cpu": cpu.get(first_frame, float("nan")),
        "full_listing": seen.get(done, float("nan")),
    }
