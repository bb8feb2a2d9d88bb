#!/usr/bin/env python3
"""Time the console: launch to first frame, full listing of a host, Refs tab first rows, key latency.

    python benchmarks/tui_bench.py [--root DIR] [--repo GIT_DIR] [--runs N] [--quick] [--json FILE]
                                   [--only first-frame|listing|replay|refs|sync [--profile FILE]]

Without ``--root``/``--repo`` it uses the benchmark fixtures (F3: 2,200 repos, F2: 200,000
refs; ``--quick`` for the small ones), built and cached by ``benchmarks/fixtures.py``.

- first frame: ``python -m tui ROOT`` in a pseudo-terminal (140x40), from spawn until the
  table header is drawn; one warm-up, then the median of N. This is the real start-up: Python,
  imports, the first paint (the scan starts after it).
- full listing (terminal): same process, from spawn until the status line says the scan is done.
- full listing (headless) and key latency: the app under ``run_test``; from the first row on,
  ``down`` is pressed every 30 ms while the scan streams rows, each press timed until its action
  ran and until the next frame was painted; a 20 ms heartbeat measures how late the event loop
  runs callbacks (p95, p99, max: the worst lag is what a user feels as a freeze). When fewer
  than 10 presses land (F3's 2,000 bare repositories arrive at once at the end of discovery),
  it is measured again with ``--jobs 1``, which streams rows for longer.
- replayed listing (``--only replay``): the host's reports (scanned first, not timed) handed
  to the console in batches with no scan running, 3 key presses after each: the event loop's
  own CPU time for rows arriving (batches and presses with their frames), which the other
  processes of a shared machine move far less than the lags.
- sync log: a real sync whose upstream's upload-pack prints 10,000 lines a second on stderr
  for a few seconds, with the repository's Log tab open and following; key latency, loop lag,
  and a count of every line (log file, job buffer, view).
- Refs tab: from pressing 3 on a repository's Overview until the frame with its first rows is
  drawn (the first rows may come before every ref is read: then also until all rows are in);
  then a key press every 30 ms while the rest of the refs, the verdicts and the commit dates
  load (at least 20), and a jump to the last row. A 20 ms heartbeat meanwhile: event-loop lag
  p99 and max. Then the same repository opened straight on the Refs tab.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.terminal_runs import SIZE, minimal_textual_first_frame, terminal_run  # noqa: E402  (after sys.path)


# --------------------------------------------------------------------------- headless


PRESS_EVERY = 0.03  # a key press starts every 30 ms (or as soon as the previous one landed)
MIN_PRESSES = 10  # fewer landed during a scan: too few to mean anything (the scan was too fast)


async def headless_listing(root: str, jobs: int | None) -> dict[str, float]:
    """The host list while F3 streams in: from the first row on, ``down``/``up`` is pressed every
    PRESS_EVERY; each press is timed until its action ran and until the next frame was painted.
    A 20 ms heartbeat gives the event loop's lag (p95, p99, max) over the whole scan."""
    from tui.app.app import create_app

    app = create_app([root], jobs=jobs, config=None)
    presses: list[tuple[float, float]] = []
    async with app.run_test(size=SIZE):
        host = app.host_screen
        started = time.perf_counter()
        first_rows = None
        lags = _Heartbeat(lambda: host.scanning or not host.generation)
        direction = "down"
        while host.scanning or not host.generation:
            table = host.table
            if first_rows is None and table.row_count:
                first_rows = time.perf_counter() - started
            if table.row_count > 2:
                if table.cursor >= table.row_count - 1:
                    direction = "up"
                elif table.cursor == 0:
                    direction = "down"
                pressed = time.perf_counter()
                presses.append(await action_latency(table, direction, f"cursor_{direction}"))
                await asyncio.sleep(max(0.0, pressed + PRESS_EVERY - time.perf_counter()))
            else:
                await asyncio.sleep(0.002)
        full = time.perf_counter() - started
        rows = host.table.row_count
    ran = [p[0] for p in presses]
    painted = [p[1] for p in presses]
    return {
        "jobs": jobs,
        "first_rows": first_rows if first_rows is not None else full,
        "full_listing": full,
        "rows": rows,
        "batches": host.batches,
        "presses": len(presses),
        "key_p50": statistics.median(ran) if ran else float("nan"),
        "key_max": max(ran) if ran else float("nan"),
        "key_painted_p50": statistics.median(painted) if painted else float("nan"),
        "key_painted_max": max(painted) if painted else float("nan"),
        **lags.summary(),
    }


REPLAY_BATCHES = 22  # as many as F3's listing has (the first few small, as rows start to arrive)
REPLAY_PRESSES = 3  # key presses after each batch


async def headless_replay(root: str) -> dict[str, float]:
    """The event loop's own CPU time for a host's rows arriving, with no scan running: ``root``
    is scanned first (not timed), then its reports are handed to the console in REPLAY_BATCHES
    batches as the scan's thread hands them over, each followed by its frames and
    REPLAY_PRESSES key presses (each with its frame). Thread CPU time, so the other processes
    of a shared machine move it far less than the lags of ``listing``."""
    from tui.app.app import create_app
    from tui.app.screens.host import HostScreen
    from tui.app.testing import wait_for_scan
    from tui.app.widgets.repo_table import row_texts
    from tui.core.model import RepoReport
    from tui.core.scan import iter_host_scan

    now = time.time()
    reports = [item for item in iter_host_scan([root], now=now, hold_bare=False) if isinstance(item, RepoReport)]
    sizes = [20, 40, 60, 80, 100, 100, 100, 100]
    while sum(sizes) > len(reports):
        sizes.pop()
    rest = len(reports) - sum(sizes)
    count = max(1, REPLAY_BATCHES - len(sizes))
    sizes += [rest // count] * (count - 1) + [rest - rest // count * (count - 1)]
    empty = tempfile.mkdtemp(prefix="gitward-tui-bench-")
    app = create_app([empty], config=None, now=now)
    batch_cpu: list[float] = []
    press_cpu: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        host = app.host_screen
        loop = asyncio.get_running_loop()

        async def frame() -> None:
            drawn = loop.create_future()
            host.table.call_after_refresh(lambda: drawn.done() or drawn.set_result(None))
            await drawn

        steps = _StepTimer()
        at = 0
        for size in sizes:
            chunk = reports[at : at + size]
            at += size
            texts = [row_texts(report, now, False) for report in chunk]  # the scan's thread makes these
            started = time.thread_time()
            host.post_message(HostScreen.ScanBatch(host.generation, chunk, [], 0.0, texts))
            await frame()
            await frame()
            batch_cpu.append(time.thread_time() - started)
            for _ in range(REPLAY_PRESSES):
                started = time.thread_time()
                app.simulate_key("down")
                await frame()
                press_cpu.append(time.thread_time() - started)
        steps.stop()
        rows = host.table.row_count
    os.rmdir(empty)
    return {
        "rows": rows,
        "batches": len(sizes),
        "presses": len(press_cpu),
        "loop_cpu_seconds": steps.cpu,
        "batch_cpu_seconds": sum(batch_cpu),
        "batch_cpu_max": max(batch_cpu),
        "press_cpu_seconds": sum(press_cpu),
        "press_cpu_max": max(press_cpu),
        "step_cpu_max": max(steps.steps),
        "step_cpu_p99": _percentile(steps.steps, 0.99),
    }


def replay_line(replay: dict) -> str:
    return (
        f"replayed listing ({replay['rows']:,} rows in {replay['batches']} batches, {replay['presses']} key presses, "
        f"no scan running): event-loop CPU {replay['loop_cpu_seconds'] * 1000:.0f} ms; batches with their 2 frames "
        f"{replay['batch_cpu_seconds'] * 1000:.0f} ms (max {replay['batch_cpu_max'] * 1000:.1f} ms); presses with their "
        f"frame {replay['press_cpu_seconds'] * 1000:.0f} ms (max {replay['press_cpu_max'] * 1000:.1f} ms); longest step "
        f"{replay['step_cpu_max'] * 1000:.1f} ms (p99 {replay['step_cpu_p99'] * 1000:.1f} ms)"
    )


class _Heartbeat:
    """A callback every 20 ms while ``beating()``; how late each ran is the event loop's lag."""

    BEAT = 0.02

    def __init__(self, beating) -> None:
        self.lags: list[float] = []
        self._beating = beating
        self._loop = asyncio.get_running_loop()
        self._expected = self._loop.time() + self.BEAT
        # The event loop's own CPU time over the same window (this thread runs the loop): a
        # figure that the other processes on a shared machine do not move, unlike the lags.
        self._cpu = (time.thread_time(), time.perf_counter())
        self._cpu_share = float("nan")
        # CPU time of each callback the loop runs (a task's step: a message pump handling what
        # its queue holds, a frame): the longest is a freeze no matter how loaded the machine.
        self._step_timer = _StepTimer()
        self.steps = self._step_timer.steps
        self._loop.call_later(self.BEAT, self._beat)

    def _beat(self) -> None:
        now = self._loop.time()
        self.lags.append(max(0.0, now - self._expected))
        self._expected = now + self.BEAT
        if self._beating():
            self._loop.call_later(self.BEAT, self._beat)
        else:
            cpu, wall = self._cpu
            self._cpu_share = (time.thread_time() - cpu) / (time.perf_counter() - wall)
            self._step_timer.stop()

    def summary(self) -> dict[str, float]:
        lags = self.lags
        return {
            "loop_lag_p95": _percentile(lags, 0.95),
            "loop_lag_p99": _percentile(lags, 0.99),
            "loop_lag_max": max(lags) if lags else float("nan"),
            "beats": len(lags),
            "loop_cpu_share": self._cpu_share,  # of one core, while it beat
            "step_cpu_p99": _percentile(self.steps, 0.99),
            "step_cpu_max": max(self.steps) if self.steps else float("nan"),
        }


async def action_latency(widget, key: str, action: str, timeout: float = 10.0) -> tuple[float, float]:
    """Post ``key`` to the app (as the terminal driver does) and time it until ``widget``'s
    ``action_<action>`` ran, and until the frame after it was painted (seconds, both)."""
    app = widget.app
    original = getattr(widget, f"action_{action}")
    marks: list[float] = []
    painted = asyncio.Event()

    def run(*args):
        marks.append(time.perf_counter())
        result = original(*args)
        widget.call_after_refresh(painted.set)
        return result

    setattr(widget, f"action_{action}", run)
    try:
        started = time.perf_counter()
        app.simulate_key(key)
        try:
            await asyncio.wait_for(painted.wait(), timeout)
        except TimeoutError:
            return timeout, timeout
        return marks[0] - started, time.perf_counter() - started
    finally:
        delattr(widget, f"action_{action}")


async def headless_refs(repo: str) -> dict[str, float]:
    from tui.app.app import create_app
    from tui.app.screens.repo import RepoScreen
    from tui.app.testing import settle, wait_for_scan
    from tui.app.widgets.ref_browser import RefBrowser
    from tui.app.widgets.ref_list import RefList
    from tui.core.discovery import classify
    from tui.core.scan import scan_repo

    repo = os.path.abspath(repo)
    report = scan_repo(classify(repo, os.path.dirname(repo)))
    # The console is pointed at an empty directory: no host scan competes with the Refs tab.
    empty = tempfile.mkdtemp(prefix="gitward-tui-bench-")
    app = create_app([empty], config=None)
    presses: list[tuple[float, bool]] = []  # (seconds, pressed while the tab was still loading)
    lags: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot)
        loop = asyncio.get_running_loop()

        async def next_frame(widget) -> None:
            """Until the screen was refreshed with what ``widget`` shows now."""
            drawn = loop.create_future()
            widget.call_after_refresh(lambda: drawn.done() or drawn.set_result(None))
            await drawn

        async def first_rows_after(start) -> tuple[float, float, object]:
            started = time.perf_counter()
            start()
            while True:
                await asyncio.sleep(0.002)
                # The browser is mounted before its children: look for the list itself.
                lists = app.screen.query(RefList)
                if lists and lists.first().row_count:
                    break
            await next_frame(lists.first())  # the frame with the rows
            return started, time.perf_counter() - started, app.screen.query_one(RefBrowser)

        # 1. The usual way: the repository is open (Overview), the operator presses 3.
        app.push_screen(RepoScreen(report, app.host, tab="overview"))
        await settle(pilot)
        beat = 0.02
        expected = loop.time() + beat
        beating = True

        def heartbeat() -> None:
            nonlocal expected
            now = loop.time()
            lags.append(max(0.0, now - expected))
            expected = now + beat
            if beating:
                loop.call_later(beat, heartbeat)

        loop.call_later(beat, heartbeat)
        # CPU time of each step of the event loop (a load that does not move it): while the tab
        # is built and its first rows drawn, then while the rest loads and keys are pressed.
        steps = _StepTimer()
        pressed, via_tab, browser = await first_rows_after(lambda: app.simulate_key("3"))
        lags_before_rows = len(lags)  # the beats while the tab was built and the first rows read
        steps_before_rows = len(steps.steps)
        ref_list = browser.ref_list
        first_count = ref_list.row_count
        ref_list.focus()

        def loading() -> bool:
            return browser.index is None or not browser.judged

        all_rows = float("nan")

        async def watch_all_rows() -> None:
            nonlocal all_rows
            while browser.index is None:
                await asyncio.sleep(0.002)
            await next_frame(ref_list)
            all_rows = time.perf_counter() - pressed

        watcher = asyncio.create_task(watch_all_rows())
        # A press every 30 ms while the rest of the refs, the verdicts and the commit dates
        # load (at least 20 presses): what an operator scrolling at once feels.
        while len(presses) < 20 or (loading() and len(presses) < 200):
            during = loading()
            presses.append((await key_latency(ref_list, "down"), during))
            await asyncio.sleep(0.03)
        jump = await key_latency(ref_list, "end")
        compactions = app.collector.compactions  # the last key: the quiet moment counts from it
        await settle(pilot)
        await watcher
        loaded_lags, loaded_steps = len(lags), len(steps.steps)
        loaded_cpu = steps.cpu_so_far()
        # The collector, held while the refs load, does its held-back work once nobody types
        # (collector.py): the heartbeat goes on until it did, so its pause is measured too (a
        # figure of its own: no key is pressed then, and it is not part of the load).
        while app.collector.holding(browser) or app.collector.compactions == compactions:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        beating = False
        steps.stop()
        rows = ref_list.row_count
        loaded = browser.load_seconds or 0.0
        # 2. Straight to the tab (`:refs NAME`): the screen is built while the refs are read.
        app.pop_screen()
        await settle(pilot)
        _, direct, _ = await first_rows_after(lambda: app.push_screen(RepoScreen(report, app.host, tab="refs")))
        await settle(pilot)
    os.rmdir(empty)
    seconds = [latency for latency, _ in presses]
    while_loading = [latency for latency, during in presses if during]
    return {
        "first_rows": via_tab,
        "first_rows_count": first_count,
        "all_rows": all_rows,
        "first_rows_direct": direct,
        "worker_read_seconds": loaded,
        "rows": rows,
        "key_p50": statistics.median(seconds),
        "key_max": max(seconds),
        "keys_while_loading": len(while_loading),
        "key_max_while_loading": max(while_loading) if while_loading else float("nan"),
        "jump_to_last": jump,
        "loop_lag_p99": _percentile(lags[:loaded_lags], 0.99),
        "loop_lag_max": max(lags[:loaded_lags], default=float("nan")),
        "loop_lag_max_when_still": max(lags[loaded_lags:], default=float("nan")),
        # Once the first rows are drawn: while the rest of the refs, the verdicts and dates load.
        "loop_lag_p99_after_first_rows": _percentile(lags[lags_before_rows:loaded_lags], 0.99),
        "loop_lag_max_after_first_rows": max(lags[lags_before_rows:loaded_lags], default=float("nan")),
        "step_cpu_max_to_first_rows": max(steps.steps[:steps_before_rows], default=float("nan")),
        "step_cpu_max_after_first_rows": max(steps.steps[steps_before_rows:loaded_steps], default=float("nan")),
        "step_cpu_max_when_still": max(steps.steps[loaded_steps:], default=float("nan")),
        "step_cpu_p99": _percentile(steps.steps, 0.99),
        "loop_cpu_seconds": loaded_cpu,  # from pressing 3 until every row and verdict is in
        "loop_cpu_seconds_when_still": steps.cpu - loaded_cpu,
    }


class _StepTimer:
    """The CPU time of each callback the event loop runs, from now until ``stop()``."""

    def __init__(self) -> None:
        self.steps: list[float] = []
        self._run = asyncio.events.Handle._run
        self._started = time.thread_time()
        self.cpu = float("nan")
        steps, run, clock = self.steps, self._run, time.thread_time

        def timed_run(handle):
            started = clock()
            try:
                return run(handle)
            finally:
                steps.append(clock() - started)

        asyncio.events.Handle._run = timed_run

    def cpu_so_far(self) -> float:
        return time.thread_time() - self._started

    def stop(self) -> None:
        asyncio.events.Handle._run = self._run
        self.cpu = self.cpu_so_far()


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def key_latency(table, key: str, timeout: float = 5.0) -> float:
    """Press ``key`` (as the terminal would deliver it) and time until the cursor moved."""
    app = table.app
    before = table.cursor
    started = time.perf_counter()
    app.simulate_key(key)
    while table.cursor == before and time.perf_counter() - started < timeout:
        await asyncio.sleep(0.0005)
    return time.perf_counter() - started


def listing_line(listing: dict, min_presses: int) -> str:
    jobs = "default --jobs" if listing["jobs"] is None else f"--jobs {listing['jobs']}"
    if listing["presses"]:
        keys = (
            f"{listing['presses']} key presses (one every {PRESS_EVERY * 1000:.0f} ms from the first row on): "
            f"action p50 {listing['key_p50'] * 1000:.0f} ms max {listing['key_max'] * 1000:.0f} ms, "
            f"painted p50 {listing['key_painted_p50'] * 1000:.0f} ms max {listing['key_painted_max'] * 1000:.0f} ms"
        )
        if listing["presses"] < min_presses:
            keys += f" (fewer than {min_presses}: the scan ended first)"
    else:
        keys = "no key press measured (the scan ended first)"
    return (
        f"headless listing ({jobs}): first rows {listing['first_rows']:.2f} s, all {listing['rows']:,} rows "
        f"{listing['full_listing']:.2f} s in {listing['batches']} batches; {keys}; event-loop lag p95 "
        f"{listing['loop_lag_p95'] * 1000:.0f} ms p99 {listing['loop_lag_p99'] * 1000:.0f} ms max "
        f"{listing['loop_lag_max'] * 1000:.0f} ms; event-loop thread CPU {listing['loop_cpu_share']:.0%} of a core, "
        f"longest step {listing['step_cpu_max'] * 1000:.0f} ms (p99 {listing['step_cpu_p99'] * 1000:.1f} ms)"
    )


# --------------------------------------------------------------------------- main


def first_frame_line(results: dict, runs: int) -> str:
    return (
        f"launch to first frame (terminal, median of {runs}): {results['first_frame_s'] * 1000:.0f} ms "
        f"(a minimal Textual app here: {results['minimal_textual_first_frame_s'] * 1000:.0f} ms; per-round ratio "
        f"median {results['first_frame_ratio']:.2f}x, {results['first_frame_ratio_range'][0]:.2f}-"
        f"{results['first_frame_ratio_range'][1]:.2f})"
    )


def _only(args, root: str, repo: str, results: dict) -> int:
    """One headless scenario, printed as in the full run (for before/after comparisons)."""
    from benchmarks import flood_host

    scenarios = {
        "listing": lambda: headless_listing(root, args.jobs),
        "replay": lambda: headless_replay(root),
        "refs": lambda: headless_refs(repo),
        "sync": flood_host.headless_sync_log,
    }
    profiler = None
    if args.profile:
        # deferred: only when asked; cProfile hooks the thread it is enabled in (the event loop's)
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    result = asyncio.run(scenarios[args.only]())
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    results[args.only] = result
    if args.only == "listing":
        print(listing_line(result, MIN_PRESSES))
    elif args.only == "replay":
        print(replay_line(result))
    elif args.only == "sync":
        print(flood_host.sync_log_line(result))
    else:
        print(refs_line(result))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", help="host root to list (default: the F3 fixture)")
    parser.add_argument("--repo", help="repository for the Refs tab (default: the F2 fixture)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="small fixtures")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--only",
        choices=("first-frame", "listing", "replay", "refs", "sync"),
        help="measure one part alone: first-frame (launch to first frame, alternated with the minimal "
        "app, no F2), or one headless scenario (no terminal runs): while rows stream in, the same rows "
        "replayed with no scan running (the event loop's CPU), the Refs tab, the sync log",
    )
    parser.add_argument("--profile", help="with --only listing|replay|refs|sync: cProfile of the event loop's thread, written here (pstats)")
    args = parser.parse_args()

    from benchmarks import fixtures, flood_host

    sizes = fixtures.QUICK if args.quick else fixtures.FULL
    if args.root:
        root, repos = args.root, None
    else:
        fixture = fixtures.ensure(sizes.f3)
        root, repos = str(fixture.path), len(fixture.manifest["repos"])
    # --only refs needs F2 too (it read an empty path: "refs" had no repository to open)
    repo = args.repo or ("" if args.only not in (None, "refs") else str(fixtures.ensure(sizes.f2).path))

    results: dict[str, object] = {"root": root, "repo": repo, "cpus": os.cpu_count()}
    if args.only and args.only != "first-frame":
        return _only(args, root, repo, results)
    full_listing = args.only is None
    terminal_run(root, repos, full_listing=full_listing)  # warm-up: page cache, .pyc files
    minimal_textual_first_frame()
    # Alternated, as benchmarks/run.py does: a machine that slows down mid-run slows both alike,
    # and the ratio is the median of the per-round ratios.
    runs, minimal, minimal_cpu = [], [], []
    for _ in range(args.runs):
        runs.append(terminal_run(root, repos, full_listing=full_listing))
        cpu: dict[bytes, float] = {}
        minimal.append(minimal_textual_first_frame(cpu))
        minimal_cpu.append(cpu.get(b"worst problem", float("nan")))
    results["first_frame_s"] = statistics.median(r["first_frame"] for r in runs)
    results["minimal_textual_first_frame_s"] = statistics.median(minimal)
    ratios = [r["first_frame"] / m for r, m in zip(runs, minimal)]
    results["first_frame_ratio"] = statistics.median(ratios)
    results["first_frame_ratio_range"] = (min(ratios), max(ratios))
    results["first_frame_cpu_s"] = statistics.median(r["first_frame_cpu"] for r in runs)
    results["minimal_textual_first_frame_cpu_s"] = statistics.median(minimal_cpu)
    results["first_frame_cpu_ratio"] = statistics.median(r["first_frame_cpu"] / m for r, m in zip(runs, minimal_cpu))
    if args.only == "first-frame":
        print(f"host:  {root}" + (f" ({repos:,} repos)" if repos else ""))
        print(first_frame_line(results, args.runs))
        print(
            f"  CPU to first frame (user+sys, 10 ms ticks, median): {results['first_frame_cpu_s'] * 1000:.0f} ms "
            f"(minimal app {results['minimal_textual_first_frame_cpu_s'] * 1000:.0f} ms; per-round ratio median "
            f"{results['first_frame_cpu_ratio']:.2f}x)"
        )
        print("  per round (gitward, minimal, ratio), ms: " + ", ".join(
            f"({r['first_frame'] * 1000:.0f}, {m * 1000:.0f}, {r['first_frame'] / m:.2f})" for r, m in zip(runs, minimal)
        ))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        return 0
    results["full_listing_terminal_s"] = statistics.median(r["full_listing"] for r in runs)
    results["listing_headless"] = asyncio.run(headless_listing(root, args.jobs))
    if results["listing_headless"]["presses"] < MIN_PRESSES and args.jobs != 1:
        # The scan outran the presses (F3's bare repositories arrive together at the end of
        # discovery): once more with one scanning process, which streams rows for longer.
        results["listing_headless_jobs_1"] = asyncio.run(headless_listing(root, 1))
    results["refs_tab"] = asyncio.run(headless_refs(repo))
    results["sync_log"] = asyncio.run(flood_host.headless_sync_log())

    print(f"host:  {root}" + (f" ({repos:,} repos)" if repos else ""))
    print(f"repo:  {repo}")
    print(first_frame_line(results, args.runs))
    print(f"launch to full listing (terminal, median):               {results['full_listing_terminal_s']:.2f} s")
    for key in ("listing_headless", "listing_headless_jobs_1"):
        if key in results:
            print(listing_line(results[key], MIN_PRESSES))
    print(refs_line(results["refs_tab"]))
    print(flood_host.sync_log_line(results["sync_log"]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def refs_line(refs: dict) -> str:
    return (
        f"Refs tab ({refs['rows']:,} rows): first rows {refs['first_rows'] * 1000:.0f} ms after pressing 3 "
        f"({refs['first_rows_direct'] * 1000:.0f} ms opening the repo straight on the tab); "
        f"key press p50 {refs['key_p50'] * 1000:.0f} ms max {refs['key_max'] * 1000:.0f} ms; "
        f"jump to last row {refs['jump_to_last'] * 1000:.0f} ms; event-loop lag max {refs['loop_lag_max'] * 1000:.0f} ms"
        f"; p99 {refs['loop_lag_p99'] * 1000:.0f} ms; first {refs['first_rows_count']:,} rows, all rows "
        f"{refs['all_rows'] * 1000:.0f} ms; {refs['keys_while_loading']} key presses while loading, "
        f"max {refs['key_max_while_loading'] * 1000:.0f} ms; after the first rows lag p99 "
        f"{refs['loop_lag_p99_after_first_rows'] * 1000:.0f} ms max {refs['loop_lag_max_after_first_rows'] * 1000:.0f} ms; "
        f"once loaded and still (the held-back collection) lag max {refs['loop_lag_max_when_still'] * 1000:.0f} ms, "
        f"longest step {refs['step_cpu_max_when_still'] * 1000:.0f} ms; "
        f"event-loop thread CPU {refs['loop_cpu_seconds']:.2f} s, longest step {refs['step_cpu_max_to_first_rows'] * 1000:.0f} ms "
        f"until the first rows, {refs['step_cpu_max_after_first_rows'] * 1000:.0f} ms after (p99 {refs['step_cpu_p99'] * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
