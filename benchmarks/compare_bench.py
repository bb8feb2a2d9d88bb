#!/usr/bin/env python3
"""Replica pairs for timing ``gitward compare``: a source and a replica built from the fixtures.

    python -m benchmarks.compare_bench [--quick] [--cache DIR] F3 F2

- F3: the host of 2,200 repositories as the source; a ``cp -a`` copy as the replica, 5% of its
  repositories then changed (an extra branch on the replica).
- F2: the repository of 200,000 refs as the source; a copy with 500 packed values changed.

The pairs are built once, next to the fixture cache, in a child process of
``benchmarks/run.py``, which times ``gitward compare`` on them in its alternated rounds
(against two ``gitward scan`` runs for F3, and two ``git for-each-ref`` plus ``diff`` for F2)
and checks each answer against ``changed``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import fixtures  # noqa: E402

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


def ensure_pair(label: str, fixture: fixtures.Fixture, cache: Path) -> dict:
    """The replica pair for ``label`` ("F3" or "F2"), built once next to its fixture and reused.

    Rebuilt when the fixture was rebuilt since (its ``.complete`` marker changed).
    Returns {"source": ..., "replica": ..., "changed": N, "built_seconds": float or None}.
    """
    directory = cache / f"{fixture.directory.name}-replica"
    marker = directory / fixtures.COMPLETE
    stamp = (fixture.directory / fixtures.COMPLETE).stat().st_mtime_ns
    if marker.is_file():
        recorded = json.loads(marker.read_text())
        if recorded.get("fixture_stamp") == stamp:
            return {**recorded, "built_seconds": None}
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    started = time.perf_counter()
    make = make_f3_pair if label == "F3" else make_f2_pair
    source, replica, changed = make(fixture, directory)
    recorded = {"source": str(source), "replica": str(replica), "changed": changed, "fixture_stamp": stamp}
    marker.write_text(json.dumps(recorded))
    return {**recorded, "built_seconds": time.perf_counter() - started}


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.compare_bench [--cache DIR] F3 F2``: build the pairs, print them as JSON.

    ``benchmarks/run.py`` runs this in a child process, as it does the fixtures: nothing the
    builds allocate is in the runner, whose children's peak RSS would start from it.
    """
    parser = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    parser.add_argument("labels", nargs="+", choices=["F2", "F3"])
    parser.add_argument("--quick", action="store_true", help="pairs of the small fixtures")
    parser.add_argument("--cache", type=Path, default=fixtures.DEFAULT_CACHE)
    args = parser.parse_args(argv)
    sizes = fixtures.QUICK if args.quick else fixtures.FULL
    pairs = {}
    for label in args.labels:
        fixture = fixtures.ensure(sizes.f3 if label == "F3" else sizes.f2, cache=args.cache)
        pairs[label] = ensure_pair(label, fixture, args.cache)
    print(json.dumps(pairs))
    return 0


if __name__ == "__main__":  # python -m benchmarks.compare_bench, from the repository's top
    raise SystemExit(main())
