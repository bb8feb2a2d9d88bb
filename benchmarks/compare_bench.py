#!/usr/bin/env python3
"""Time ``gitward compare`` on a source and a replica built from the benchmark fixtures.

    python benchmarks/compare_bench.py [--quick] [--runs N] [--only F2,F3] [--json FILE]

- F3: two hosts of 2,200 repositories (the replica a ``cp -a`` copy of the fixture, 5% of its
  repositories then changed) -- ``gitward compare SRC REP --json`` against two
  ``gitward scan --json`` (target: compare no slower than the two scans).
- F2: two repositories of 200,000 refs, 500 of the replica's packed values changed --
  ``gitward compare`` against ``git for-each-ref`` on both sides plus ``diff`` (target: under 1.5x).

The two commands of a row run alternately (A, B, A, B, ...) after one warm-up each, so a
machine that slows down mid-run slows both; the median of N is reported. Each compare's answer
is checked once: the number of differing repositories (F3) or refs (F2) must be what was made.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import fixtures  # noqa: E402
from benchmarks.run import gitward_argv  # noqa: E402
from tui.demo import git_env  # noqa: E402

DIFFERING_SHARE = 0.05  # F3: share of replica repositories changed
F2_CHANGED = 500


def make_f3_pair(fixture: fixtures.Fixture, work: Path) -> tuple[Path, Path, int]:
    """The fixture's host as the source; a copy of it as the replica, 5% of its repos changed."""
    source = fixture.path
    replica = work / "f3-replica"
    subprocess.run(["cp", "-a", str(source), str(replica)], check=True)
    repos = fixture.manifest["repos"]
    step = max(1, round(1 / DIFFERING_SHARE))
    changed = 0
    for index in range(0, len(repos), step):
        top = replica / Path(repos[index]).relative_to("root")
        git_dir = top / ".git" if (top / ".git").is_dir() else top
        value = (git_dir / "packed-refs").read_text().splitlines()[1].split(" ", 1)[0]
        (git_dir / "refs" / "heads" / "bench-extra").write_text(value + "\n")  # extra-on-replica
        changed += 1
    return source, replica, changed


def make_f2_pair(fixture: fixtures.Fixture, work: Path) -> tuple[Path, Path, int]:
    """The fixture's repository as the source; a copy with 500 packed values changed."""
    source_root = fixture.path.parent
    replica_root = work / "f2-replica"
    replica_root.mkdir()
    subprocess.run(["cp", "-a", str(fixture.path), str(replica_root / fixture.path.name)], check=True)
    packed = replica_root / fixture.path.name / "packed-refs"
    lines = packed.read_text().splitlines(keepends=True)
    master = next(line.split(" ", 1)[0] for line in lines if line.endswith(" refs/heads/master\n"))
    loose = set(fixture.manifest.get("stale_loose", []))  # a loose file would hide the change
    candidates = [i for i, line in enumerate(lines) if " refs/changes/" in line and not line.startswith(master)
                  and line.rstrip("\n").split(" ", 1)[1] not in loose]
    step = len(candidates) // F2_CHANGED
    for i in candidates[::step][:F2_CHANGED]:
        lines[i] = master + lines[i][len(master):]
    packed.write_text("".join(lines))
    return source_root, replica_root, F2_CHANGED


def alternate(commands: dict[str, list[str]], runs: int, env: dict) -> dict[str, dict]:
    """Run the commands in turn, ``runs`` + 1 times each (the first round warms the cache)."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    errors: dict[str, str] = {}
    for attempt in range(runs + 1):
        for name, argv in commands.items():
            started = time.perf_counter()
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  env=env, cwd=REPO_ROOT)
            elapsed = time.perf_counter() - started
            if proc.returncode not in (0, 1):  # compare exits 1 on differences
                errors[name] = proc.stderr.decode(errors="replace").strip()[-200:]
            if attempt:
                samples[name].append(round(elapsed, 4))
    return {
        name: {"median": statistics.median(values), "samples": values, "error": errors.get(name)}
        for name, values in samples.items()
    }


def check_answer(argv: list[str], env: dict, expected: int, count) -> str:
    proc = subprocess.run(argv, capture_output=True, env=env, cwd=REPO_ROOT)
    try:
        got = count(json.loads(proc.stdout))
    except ValueError:
        return f"WRONG: no JSON ({proc.stderr.decode(errors='replace').strip()[-200:]})"
    return "ok" if got == expected else f"WRONG: {got} != {expected}"


def bench_f3(fixture, work, runs, env) -> dict:
    source, replica, changed = make_f3_pair(fixture, work)
    compare = gitward_argv("compare", str(source), str(replica), "--json")
    scans = ["bash", "-c", 'gw="$1"; "$gw" scan "$2" --json >/dev/null && "$gw" scan "$3" --json >/dev/null',
             "two-scans", gitward_argv()[0], str(source), str(replica)]
    timings = alternate({"compare": compare, "two scans": scans}, runs, env)
    ratio = timings["compare"]["median"] / timings["two scans"]["median"]
    return {
        "fixture": "F3", "what": f"compare 2 x {len(fixture.manifest['repos']):,} repos, {changed} differing",
        "timings": timings, "ratio": round(ratio, 3), "target": "compare <= two scans", "met": ratio <= 1.0,
        "answer": check_answer(compare, env, changed, lambda doc: doc["summary"]["repos_differing"]),
    }


def bench_f2(fixture, work, runs, env) -> dict:
    source_root, replica_root, changed = make_f2_pair(fixture, work)
    name = fixture.path.name
    compare = gitward_argv("compare", str(source_root), str(replica_root), "--json")
    git_diff = ["bash", "-c",
                'git -C "$1" for-each-ref > "$3/a" && git -C "$2" for-each-ref > "$3/b"; diff "$3/a" "$3/b" > /dev/null; true',
                "git-diff", str(fixture.path), str(replica_root / name), str(work)]
    timings = alternate({"compare": compare, "for-each-ref x2 + diff": git_diff}, runs, env)
    ratio = timings["compare"]["median"] / timings["for-each-ref x2 + diff"]["median"]
    return {
        "fixture": "F2", "what": f"compare 2 x {fixture.manifest['refs']:,} refs, {changed} differing",
        "timings": timings, "ratio": round(ratio, 3), "target": "compare < 1.5x git", "met": ratio < 1.5,
        "answer": check_answer(compare, env, changed, lambda doc: sum(len(r["findings"]) for r in doc["repos"])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small fixtures (targets are for full sizes)")
    parser.add_argument("--runs", "-n", type=int, default=5)
    parser.add_argument("--only", default="F2,F3")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--cache", type=Path, default=fixtures.DEFAULT_CACHE)
    args = parser.parse_args(argv)
    sizes = fixtures.QUICK if args.quick else fixtures.FULL
    env = git_env()
    rows = []
    with tempfile.TemporaryDirectory(prefix="gitward-compare-bench-") as tmp:
        work = Path(tmp)
        for label, spec, bench in (("F3", sizes.f3, bench_f3), ("F2", sizes.f2, bench_f2)):
            if label not in args.only.upper().split(","):
                continue
            fixture = fixtures.ensure(spec, cache=args.cache)
            print(f"{label}: {fixture.path}", file=sys.stderr)
            rows.append(bench(fixture, work, args.runs, env))
    for row in rows:
        medians = ", ".join(f"{name} {t['median']:.3f} s" for name, t in row["timings"].items())
        print(f"{row['fixture']}  {row['what']}: {medians}; ratio {row['ratio']:.2f} "
              f"(target {row['target']}: {'met' if row['met'] else 'MISSED'}); answer {row['answer']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": args.runs, "quick": args.quick, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
