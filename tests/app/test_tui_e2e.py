"""End to end: ``python -m tui ROOT`` in a real terminal (tmux), driven with keys, read from the screen."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tui.demo import build_demo

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check, timeout=10)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "e2e").stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "e2e", *keys)

    def wait_for(self, *texts: str, absent: str | None = None, timeout: float = 60.0) -> str:
        """Poll the pane until every one of ``texts`` shows in one capture (and ``absent``
        does not): a terminal has no event to await, and a frame may be captured half drawn,
        so a state is asserted only once all of it is on the screen at the same time. The
        timeout is an upper bound for a loaded machine, not a pause: polling ends as soon as
        the state shows."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(text in screen for text in texts) and (absent is None or absent not in screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{texts!r} did not all appear (or {absent!r} stayed); the screen shows:\n{screen}")


def header(screen: str) -> str:
    """The host summary: the first line of the console."""
    return screen.splitlines()[0] if screen else ""


def test_console_in_a_terminal(tmp_path):
    home = tmp_path
    root = build_demo(str(tmp_path / "demo"))
    tmux = Tmux(f"gitward-e2e-{os.getpid()}")
    env = {"HOME": str(home), "TERM": "xterm-256color"}
    command = " ".join(
        [
            "env",
            "-u",
            "COLUMNS",  # inherited from pytest: it would override the pane's real size
            "-u",
            "LINES",
            *(f"{key}={shlex.quote(value)}" for key, value in env.items()),
            shlex.quote(sys.executable),
            "-m",
            "tui",
            shlex.quote(root),
            "; echo GITWARD-EXIT=$?; sleep 30",
        ]
    )
    tmux.run("new-session", "-d", "-s", "e2e", "-x", "140", "-y", "40", "-c", str(REPO_ROOT), command)
    try:
        # The final state of the first scan, header and status line alike: starting Python and
        # Textual on a loaded 2-core machine has taken most of a minute.
        screen = tmux.wait_for("scanned 8 repos", "showing 8 of 8", "8 repos (", "gerrit/project-alpha.git", timeout=180)
        assert "~/demo/host" in header(screen) and "8 repos (" in header(screen)
        assert "gerrit/project-alpha.git" in screen
        assert "✖" in screen and "stale-loose-ref" in screen  # symbol and words, not colour alone

        tmux.keys("f")
        tmux.wait_for("faults only", absent="mirrors/upstream-lib.git")
        tmux.keys("f")
        tmux.wait_for("showing 8 of 8")

        tmux.keys("/")
        tmux.wait_for("enter keeps, escape clears")  # the filter box has the focus
        tmux.keys("-l", "alpha")
        tmux.wait_for("showing 1 of 8", absent="gitlab/")
        tmux.keys("Enter")  # leave the filter box: the footer shows the table's keys again
        tmux.wait_for("Rescan")
        tmux.keys("Enter")  # open the repository
        screen = tmux.wait_for("STALE LOOSE REFS")
        assert "do NOT run git gc" in screen

        tmux.keys("3")
        # Waits for the row itself: while the pane is laid out, a first frame can be narrower
        # (names middle-cut, values given way) than the one the terminal settles on.
        tmux.wait_for("refs/changes/01/1001/meta", "✖ stale-loose")

        tmux.keys("Escape")
        tmux.wait_for("worst problem")
        tmux.keys(":")
        tmux.wait_for("repo NAME")  # the command line's placeholder
        tmux.keys("-l", "wt webapp")
        tmux.keys("Enter")
        screen = tmux.wait_for("current (served)")

        tmux.keys("q")
        tmux.wait_for("GITWARD-EXIT=0", timeout=10)
    finally:
        tmux.run("kill-server", check=False)



def test_console_exits_when_its_terminal_goes_away(tmp_path):
    """An SSH session drops while the session leader swallows SIGHUP (as 'make run' does):
    the console must notice the dead terminal and exit, not spin on it."""
    root = tmp_path / "host"
    root.mkdir()
    tmux = Tmux(f"gitward-hup-{os.getpid()}")
    console_command = f"{shlex.quote(sys.executable)} -m tui {shlex.quote(str(root))}"
    # sh ignores SIGHUP and waits for the console, like make: the kernel's SIGHUP stops at sh.
    script = "trap '' HUP; " + console_command + "; sleep 30"
    command = f"env -u COLUMNS -u LINES HOME={shlex.quote(str(tmp_path))} sh -c {shlex.quote(script)}"
    tmux.run("new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30", command)
    try:
        tmux.wait_for("scanned 0 repos", timeout=180)
        pids = subprocess.run(["pgrep", "-f", str(root)], capture_output=True, text=True).stdout.split()
        # The console itself, not the sh or tmux whose command lines mention it.
        console = [p for p in pids if Path(f"/proc/{p}/cmdline").read_text().split("\0")[1:3] == ["-m", "tui"]]
        assert len(console) == 1
    finally:
        tmux.run("kill-server", check=False)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{console[0]}").exists():
        time.sleep(0.05)
    assert not Path(f"/proc/{console[0]}").exists(), "the console kept running on a dead terminal"


def test_type_ahead_over_a_laggy_link_at_80x24(tmp_path):
    """Keys sent in one write (tmux send-keys -l), as a slow SSH link delivers them: the keys
    after '/' and ':' land in the input, in order, never on the hotkeys under it."""
    root = build_demo(str(tmp_path / "demo"))
    tmux = Tmux(f"gitward-typeahead-{os.getpid()}")
    command = (
        f"env -u COLUMNS -u LINES HOME={shlex.quote(str(tmp_path))} TERM=xterm-256color "
        f"{shlex.quote(sys.executable)} -m tui {shlex.quote(root)}; echo GITWARD-EXIT=$?; sleep 30"
    )
    tmux.run("new-session", "-d", "-s", "e2e", "-x", "80", "-y", "24", "-c", str(REPO_ROOT), command)
    try:
        tmux.wait_for("showing 8 of 8", timeout=180)
        # The mirror alone in the list, highlighted, the table focused again.
        tmux.keys("-l", "/upstream-lib")
        tmux.wait_for("showing 1 of 8")
        tmux.keys("Enter")
        tmux.wait_for("Rescan")
        # The burst: '/', then 'm' and 'S' (sync) before the console has drawn anything. (The
        # box selects its old text when it takes the focus: what is typed replaces it.)
        tmux.keys("-l", "/mS")
        screen = tmux.wait_for("filter text: mS", "showing 0 of 8")
        assert "Sync mirrors/upstream-lib.git" not in screen  # S was text, not the sync key
        tmux.keys("Escape")
        tmux.wait_for("showing 8 of 8")
        tmux.keys("-l", ":jobs")
        tmux.keys("Enter")
        tmux.wait_for("No sync has run in this session")  # ':jobs' arrived whole
        tmux.keys("q")
        tmux.wait_for("GITWARD-EXIT=0", timeout=10)
    finally:
        tmux.run("kill-server", check=False)
