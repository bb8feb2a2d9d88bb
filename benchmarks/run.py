#!/usr/bin/env python3
"""Time gitward against the git CLI on the benchmark fixtures, warm cache, in one run.

    python benchmarks/run.py [--quick] [--rebuild] [--runs N] [--only F1,F3] [--json FILE]

Every measurement is a whole process (Python start-up included, stdout to /dev/null): one
warm-up run, then the median of N. Speedup = git time / gitward time, so above 1 means gitward
is faster.

- F3: ``gitward scan ROOT --json`` vs a shell loop over the same repos running
  ``git for-each-ref`` and ``git worktree list --porcelain`` (target: >= 10x, gitward < 0.5 s).
- F2: ``gitward refs REPO --shadowed --json`` vs ``git for-each-ref`` (target: gitward <= git),
  and gitward's peak RSS (target: < 100 MiB).
- F1: ``gitward refs REPO --json`` vs ``git for-each-ref`` (reported, no target).

Each gitward answer is also checked once against what the fixture claims (repo count, ref
count, stale-loose count): a fast wrong answer is not a win.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import fixtures  # noqa: E402
from tui.demo import git_env  # noqa: E402

# The shell loop gitward scan is compared with: two git processes per repo, as a script would.
GIT_LOOP = """
while IFS= read -r repo; do
    git -C "$repo" for-each-ref >/dev/null || exit 1
    git -C "$repo" worktree list --porcelain >/dev/null || exit 1
done < "$1"
"""


@dataclass
class Timing:
    median: float | None = None
    samples: list[float] = field(default_factory=list)
    peak_rss_mib: float | None = None
    error: str | None = None


@dataclass
class Row:
    fixture: str
    what: str
    gitward: Timing
    git: Timing | None = None
    target: str = ""
    met: bool | None = None  # None: no target, or it could not be measured
    answer: str = "unchecked"  # gitward's output vs the fixture's manifest
    metric: str = "time"  # or "rss": the row reports gitward's peak memory

    @property
    def speedup(self) -> float | None:
        if self.git and self.git.median and self.gitward.median:
            return self.git.median / self.gitward.median
        return None

    def to_json(self) -> dict:
        return {**asdict(self), "speedup": self.speedup}


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    sizes = fixtures.QUICK if args.quick else fixtures.FULL
    env = git_env()
    rows: list[Row] = []
    built: dict[str, dict] = {}
    for label, spec in (("F3", sizes.f3), ("F2", sizes.f2), ("F1", sizes.f1)):
        if label not in args.only:
            continue
        fixture = fixtures.ensure(spec, cache=args.cache, rebuild=args.rebuild)
        built[label] = {
            "path": str(fixture.path),
            "built_now": fixture.build_seconds is not None,
            "build_seconds": fixture.build_seconds,
        }
        how = f"built in {fixture.build_seconds:.1f} s" if fixture.build_seconds is not None else "cached"
        _say(f"{label}: {fixture.path} ({how})")
        rows += BENCHMARKS[label](fixture, args, env)
    _print_table(rows, sizes_name="quick" if args.quick else "full", runs=args.runs)
    if args.json:
        report = {
            "sizes": "quick" if args.quick else "full",
            "runs": args.runs,
            "python": platform.python_version(),
            "git": subprocess.run(["git", "--version"], capture_output=True, text=True, env=env).stdout.strip(),
            "platform": platform.platform(),
            "fixtures": built,
            "rows": [row.to_json() for row in rows],
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        _say(f"wrote {args.json}")
    failed = any(row.met is False or row.gitward.error or row.answer.startswith("WRONG") for row in rows)
    return 1 if args.strict and failed else 0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small fixtures (targets are for full sizes)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild fixtures even when cached")
    parser.add_argument("--runs", "-n", type=int, default=5, help="timed runs after the warm-up (default 5)")
    parser.add_argument("--only", type=_fixture_labels, default=set(BENCHMARKS), help="e.g. F2,F3")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--scan-jobs", type=int, help="pass --jobs N to gitward scan")
    parser.add_argument("--cache", type=Path, default=fixtures.DEFAULT_CACHE, help="fixture cache directory")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed or gitward fails")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def _fixture_labels(text: str) -> set[str]:
    labels = set(text.upper().split(","))
    if not labels <= set(BENCHMARKS):
        raise argparse.ArgumentTypeError(f"choose from {', '.join(sorted(BENCHMARKS))}")
    return labels


# --------------------------------------------------------------------------- the benchmarks


def gitward_argv(*args: str) -> list[str]:
    """The ``gitward`` script installed next to this interpreter, as an operator runs it."""
    script = os.path.join(os.path.dirname(sys.executable), "gitward")
    if os.access(script, os.X_OK):
        return [script, *args]
    return [sys.executable, "-m", "tui", *args]


def bench_host(fixture: fixtures.Fixture, args: argparse.Namespace, env: dict) -> list[Row]:
    repos = [str(fixture.resolve(r)) for r in fixture.manifest["repos"]]
    repo_list = fixture.directory / "repos.txt"
    repo_list.write_text("\n".join(repos) + "\n")
    jobs = ["--jobs", str(args.scan_jobs)] if args.scan_jobs else []
    scan = gitward_argv("scan", str(fixture.path), "--json", *jobs)
    row = Row(
        "F3",
        f"scan {len(repos):,} repos",
        time_process(scan, args.runs, env),
        time_process(["bash", "-c", GIT_LOOP, "git-loop", str(repo_list)], args.runs, env),
    )
    row.target = ">= 10x and gitward < 0.5 s"
    if row.speedup is not None:
        row.met = row.speedup >= 10 and row.gitward.median < 0.5
    row.answer = _check_count(scan, env, "repos", len(repos), lambda item: True)
    return [row]


def _time_refs(
    name: str, title: str, fixture: fixtures.Fixture, args: argparse.Namespace, env: dict, *flags: str
) -> tuple[Row, list[str]]:
    """``gitward refs REPO FLAGS --json`` timed against ``git for-each-ref``; the row and the argv."""
    repo = str(fixture.path)
    refs = gitward_argv("refs", repo, *flags, "--json")
    row = Row(
        name,
        f"{title} ({fixture.manifest['refs']:,} refs)",
        time_process(refs, args.runs, env),
        time_process(["git", "-C", repo, "for-each-ref"], args.runs, env),
    )
    return row, refs


def bench_changes(fixture: fixtures.Fixture, args: argparse.Namespace, env: dict) -> list[Row]:
    row, refs = _time_refs("F2", "refs --shadowed", fixture, args, env, "--shadowed")
    row.target = "gitward <= git"
    if row.speedup is not None:
        row.met = row.speedup >= 1
    stale = len(fixture.manifest["stale_loose"])
    row.answer = _check_count(refs, env, "refs", stale, lambda ref: ref.get("verdict") == "stale-loose")
    rss = Row("F2", "gitward peak RSS (refs --shadowed)", row.gitward, target="< 100 MiB", metric="rss")
    if row.gitward.peak_rss_mib is not None:
        rss.met = row.gitward.peak_rss_mib < 100
    return [row, rss]


def bench_starred(fixture: fixtures.Fixture, args: argparse.Namespace, env: dict) -> list[Row]:
    row, refs = _time_refs("F1", "refs", fixture, args, env)
    row.target = "(report only)"
    # Count names under refs/ only: HEAD is listed too, as a symbolic ref.
    row.answer = _check_count(
        refs, env, "refs", fixture.manifest["refs"], lambda ref: str(ref.get("name", "")).startswith("refs/")
    )
    return [row]


BENCHMARKS = {"F1": bench_starred, "F2": bench_changes, "F3": bench_host}


# --------------------------------------------------------------------------- measuring


def time_process(argv: list[str], runs: int, env: dict) -> Timing:
    """Wall time of the whole process: one warm-up run, then the median of ``runs``."""
    timing = Timing()
    peak_kib = 0
    for attempt in range(runs + 1):
        started = time.perf_counter()
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
                cwd=REPO_ROOT,
            )
        except OSError as exc:
            return Timing(error=f"{argv[0]}: {exc}")
        stderr = proc.stderr.read()
        proc.stderr.close()
        # wait4: this child's own rusage. RUSAGE_CHILDREN would be the maximum over every child
        # reaped so far (the git loop included), not this process's peak.
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            message = stderr.decode(errors="replace").strip().splitlines()
            return Timing(error=f"exit {proc.returncode}: {message[-1] if message else ''}")
        peak_kib = max(peak_kib, usage.ru_maxrss)
        if attempt:  # the first run only warms the page cache
            timing.samples.append(round(elapsed, 4))
    timing.median = statistics.median(timing.samples)
    timing.peak_rss_mib = round(_rss_to_mib(peak_kib), 1)
    return timing


def _rss_to_mib(ru_maxrss: int) -> float:
    # Linux reports KiB, macOS bytes.
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


def _check_count(argv: list[str], env: dict, key: str, expected: int, wanted) -> str:
    """Run gitward once more and compare how many items it reports with the fixture's claim."""
    done = subprocess.run(argv, capture_output=True, env=env, cwd=REPO_ROOT)
    if done.returncode != 0:
        return "unchecked (gitward failed)"
    try:
        data = json.loads(done.stdout)
    except ValueError:
        return "WRONG (output is not JSON)"
    items = data if isinstance(data, list) else data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return f"unchecked (no list at top level or under {key!r})"
    got = sum(1 for item in items if isinstance(item, dict) and wanted(item))
    return "ok" if got == expected else f"WRONG (got {got:,}, expected {expected:,})"


# --------------------------------------------------------------------------- output


def _print_table(rows: list[Row], *, sizes_name: str, runs: int) -> None:
    print(f"\ngitward vs git, {sizes_name} sizes, warm cache, median of {runs} after 1 warm-up")
    header = ("fixture", "what", "gitward", "git", "speedup", "target", "met", "answer")
    table = [header] + [_cells(row) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    for row in rows:
        for side, timing in (("gitward", row.gitward), ("git", row.git)):
            if timing and timing.error:
                print(f"{row.fixture} {side}: {timing.error}")


def _cells(row: Row) -> tuple[str, ...]:
    if row.metric == "rss":
        gitward = f"{row.gitward.peak_rss_mib:.1f} MiB" if row.gitward.peak_rss_mib is not None else "n/a"
        git = speedup = answer = ""
    else:
        gitward = _seconds(row.gitward)
        git = _seconds(row.git)
        speedup = f"{row.speedup:.2f}x" if row.speedup is not None else "n/a"
        answer = row.answer
    met = {True: "yes", False: "NO", None: "-"}[row.met]
    return (row.fixture, row.what, gitward, git, speedup, row.target, met, answer)


def _seconds(timing: Timing | None) -> str:
    if timing is None:
        return ""
    return f"{timing.median:.3f} s" if timing.median is not None else "error"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
