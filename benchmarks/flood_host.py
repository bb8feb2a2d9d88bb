"""A host for the sync-log benchmark: a mirror whose upstream's server floods stderr.

``flood_host`` builds, with the git CLI, ``host/lib.git``: a mirror one commit behind an
upstream whose ``remote.origin.uploadpack`` is a script that prints numbered lines on stderr at
a steady rate for a while, then runs ``git-upload-pack``. git fetch runs that script with its
stderr on git's own, which a sync reads line by line into the job's buffer and log file: the
path a chatty real server's output takes.

``headless_sync_log`` (run by ``tui_bench.py``) times the console while such a sync prints.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOD_TICK = 0.01  # the server writes a burst every 10 ms, paced by the clock

# The upstream's upload-pack (run by the python that runs the benchmark).
FLOOD_SERVER = """\
import os, sys, time
rate, seconds, tick = {rate}, {seconds}, {tick}
per_tick = round(rate * tick)
start = time.monotonic()
number = 0
for step in range(round(seconds / tick)):
    burst = []
    for _ in range(per_tick):
        number += 1
        burst.append(f"flood line {{number}} of a chatty remote\\n")
    os.write(2, "".join(burst).encode())
    time.sleep(max(0.0, start + (step + 1) * tick - time.monotonic()))
os.execvp("git-upload-pack", ["git-upload-pack", *sys.argv[1:]])
"""


def _git(*args: str, cwd: str | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def flood_host(directory: str, rate: int, seconds: float) -> tuple[str, int]:
    """``host/lib.git``, a mirror one commit behind an upstream whose upload-pack floods; the
    host root and the number of flood lines the server will print."""
    upstream = os.path.join(directory, "upstream.git")
    host = os.path.join(directory, "host")
    _git("init", "--quiet", "--bare", "--initial-branch=main", upstream)
    tree = subprocess.run(["git", "mktree"], cwd=upstream, input="", check=True, capture_output=True, text=True).stdout.strip()
    identity = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid"}
    identity.update(GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")

    def commit(parent: str | None, message: str) -> str:
        argv = ["git", "commit-tree", tree, "-m", message] + (["-p", parent] if parent else [])
        env = dict(os.environ, **identity)
        return subprocess.run(argv, cwd=upstream, check=True, capture_output=True, text=True, env=env).stdout.strip()

    first = commit(None, "first")
    _git("update-ref", "refs/heads/main", first, cwd=upstream)
    os.makedirs(host)
    mirror = os.path.join(host, "lib.git")
    _git("clone", "--quiet", "--mirror", Path(upstream).as_uri(), mirror)
    _git("update-ref", "refs/heads/main", commit(first, "second"), cwd=upstream)
    server = os.path.join(directory, "flood-upload-pack")
    with open(server, "w") as handle:
        handle.write(f"#!{sys.executable}\n" + FLOOD_SERVER.format(rate=rate, seconds=seconds, tick=FLOOD_TICK))
    os.chmod(server, 0o755)
    _git("config", "remote.origin.uploadpack", server, cwd=mirror)
    return host, round(rate * FLOOD_TICK) * round(seconds / FLOOD_TICK)


async def headless_sync_log(rate: int = 10_000, seconds: float = 3.0) -> dict[str, float]:
    """A real sync (git fetch) whose server prints ``rate`` lines a second for ``seconds``, with
    the repository's Log tab open and following. ``t`` (timestamps on/off: every line on
    screen drawn again) is pressed every PRESS_EVERY while the sync runs; a 20 ms heartbeat
    gives the loop's lag. Every flood line is counted where it lands: the log file, the job's
    buffer, and the view (which must have read each one in order, or said it skipped it)."""
    # deferred: tui_bench imports this module; its helpers are there
    from benchmarks.tui_bench import PRESS_EVERY, SIZE, _Heartbeat, action_latency
    from tui.app.app import create_app
    from tui.app.testing import settle, wait_for_scan, wait_for_sync
    from tui.app.widgets.log_view import SyncLog

    directory = tempfile.mkdtemp(prefix="gitward-tui-bench-sync-")
    saved_log_dir = os.environ.get("GITWARD_LOG_DIR")
    os.environ["GITWARD_LOG_DIR"] = os.path.join(directory, "logs")  # the sync's log file goes here
    try:
        host, printed = flood_host(directory, rate, seconds)
        app = create_app([host], config=None)
        presses: list[tuple[float, float]] = []
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot)
            assert app.run_command("log lib.git")
            await settle(pilot)
            log = app.screen.query_one(SyncLog)
            model = log.model
            view = {"lines": 0, "skipped": 0, "out_of_order": 0, "last": 0}
            apply = model.apply

            def counting_apply(lines):
                lines = list(lines)
                seq = model.last_seq
                for line in lines:
                    if line.seq <= seq:
                        continue
                    view["skipped"] += line.seq - seq - 1
                    seq = line.seq
                    if line.text.startswith("flood line "):
                        number = int(line.text.split()[2])
                        view["lines"] += 1
                        view["out_of_order"] += number <= view["last"]
                        view["last"] = number
                return apply(lines)

            model.apply = counting_apply
            await pilot.press("S")
            await settle(pilot)  # the preflight, then the confirmation
            await pilot.click("#choice-sync")
            while not app.syncs.jobs():
                await asyncio.sleep(0.002)
            job = app.syncs.jobs()[0]
            log.lines.focus()
            while not job.done and view["lines"] == 0:  # from the first flood line the view read
                await asyncio.sleep(0.002)
            started = time.perf_counter()
            read_before = view["lines"]
            lags = _Heartbeat(lambda: not job.done)
            while not job.done:
                pressed = time.perf_counter()
                presses.append(await action_latency(log, "t", "toggle_timestamps"))
                await asyncio.sleep(max(0.0, pressed + PRESS_EVERY - time.perf_counter()))
            flood = time.perf_counter() - started
            read_meanwhile = view["lines"] - read_before
            await wait_for_sync(pilot, job)
            state = job.state.value
            buffer_total = job.log.total
            log_path = job.log_path
            pulls = log.pulls
            news = app.syncs.news_handled
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            in_file = sum(1 for line in handle if "flood line " in line)
    finally:
        if saved_log_dir is None:
            os.environ.pop("GITWARD_LOG_DIR", None)
        else:
            os.environ["GITWARD_LOG_DIR"] = saved_log_dir
        shutil.rmtree(directory, ignore_errors=True)
    ran = [p[0] for p in presses]
    painted = [p[1] for p in presses]
    return {
        "state": state,
        "rate": rate,
        "printed": printed,
        "seconds": flood,
        "lines_per_second": read_meanwhile / flood if flood else float("nan"),  # as the view read them
        "log_file_lines": in_file,
        "buffer_lines": buffer_total,
        "view_lines": view["lines"],
        "view_skipped": view["skipped"],
        "view_out_of_order": view["out_of_order"],
        "view_reads": pulls,
        "news": news,
        "presses": len(presses),
        "key_p50": statistics.median(ran) if ran else float("nan"),
        "key_max": max(ran) if ran else float("nan"),
        "key_painted_p50": statistics.median(painted) if painted else float("nan"),
        "key_painted_max": max(painted) if painted else float("nan"),
        **lags.summary(),
    }


def sync_log_line(flood: dict) -> str:
    return (
        f"sync log ({flood['printed']:,} lines from git's server at {flood['rate']:,} a second; measured over "
        f"{flood['seconds']:.1f} s while the Log tab read {flood['lines_per_second']:,.0f} lines/s, following; sync {flood['state']}): "
        f"{flood['presses']} key presses: action p50 {flood['key_p50'] * 1000:.0f} ms max {flood['key_max'] * 1000:.0f} ms, "
        f"painted p50 {flood['key_painted_p50'] * 1000:.0f} ms max {flood['key_painted_max'] * 1000:.0f} ms; "
        f"event-loop lag p95 {flood['loop_lag_p95'] * 1000:.0f} ms p99 {flood['loop_lag_p99'] * 1000:.0f} ms max "
        f"{flood['loop_lag_max'] * 1000:.0f} ms; event-loop thread CPU {flood['loop_cpu_share']:.0%} of a core, "
        f"longest step {flood['step_cpu_max'] * 1000:.0f} ms (p99 {flood['step_cpu_p99'] * 1000:.1f} ms); "
        f"lines: log file {flood['log_file_lines']:,}, view read "
        f"{flood['view_lines']:,} in order ({flood['view_out_of_order']} out of order, {flood['view_skipped']:,} "
        f"skipped) in {flood['view_reads']} reads"
    )
