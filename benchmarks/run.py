#!/usr/bin/env python3
"""Time gitward against its peers and floors in one run, alternating, and write a markdown table.

    python benchmarks/run.py [--quick] [--scale] [--runs N] [--only F1,F2,F3,C3,C2,G2] [--cold N]
                             [--scan-jobs 1,2] [--no-git-loop] [--markdown FILE] [--json FILE]

Every measurement is a whole process (start-up included, stdout to /dev/null). Within a row the
commands run alternately: one warm-up each, then N rounds of A, B, C, ... with the order rotated
every round, so a machine that slows down mid-run slows every command alike. The ratio a row
reports is the median of the per-round ratios gitward/peer (below 1: gitward is faster), with
their min-max; the ratios carry between runs, the absolute times follow the machine's load.

- F3 ``gitward scan ROOT --json`` (and with ``--jobs 1``): vs the C floor (``floor.c``: walk and
  read the same files, parse nothing), the same walk in pure Python (``pyfloor.py``) and a shell
  loop running ``git for-each-ref`` and ``git worktree list`` per repo.
- F2 ``gitward refs REPO --shadowed --json``: vs ``git for-each-ref``, ``git show-ref`` and the C
  floor reading the repo's ref files; and gitward's peak RSS.
- F1 ``gitward refs REPO --json``: vs ``git for-each-ref`` and ``git show-ref``.
- C3 ``gitward compare SRC REPLICA --json`` on two F3 hosts (the replica a copy, 5% of its repos
  changed; built by ``compare_bench.py``): vs two ``gitward scan --json`` (target: no slower).
- C2 the same on two F2 repositories (500 packed values changed): vs ``git for-each-ref`` on both
  plus ``diff`` (target: under 1.5x).
- G2 ``gitward gc-preview REPO --json`` on F2: vs ``git for-each-ref`` and ``git for-each-ref``
  plus ``git rev-list --all --reflog`` (the reachability walk ``git prune`` does); no target.
  The C and G rows have no cold rounds (a cold compare of two hosts takes most of a minute).
- ``--cold N``: N more rounds with the page cache dropped before every command (root only:
  ``echo 3 > /proc/sys/vm/drop_caches``; the table says when it was not permitted).
- ``--scale``: F3-like hosts of 1k/5k/20k/50k repos and F2-like repos of 50k/200k/1M refs
  (``make bench-scale``), time per repo / per ref next to the floor's.

Fixtures are built first, in a child process, so that nothing they allocate is in this
process: on Linux a child's peak RSS starts from its parent's at fork. Each gitward answer is
checked once against what the fixture claims: a fast wrong answer is not a win.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import fixtures  # noqa: E402
from tui.demo import git_env  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_MARKDOWN = BENCH_DIR / "results.md"

# The shell loop gitward scan was first compared with: two git processes per repo, as a script would.
GIT_LOOP = """
while IFS= read -r repo; do
    git -C "$repo" for-each-ref >/dev/null || exit 1
    git -C "$repo" worktree list --porcelain >/dev/null || exit 1
done < "$1"
"""


@dataclass
class Command:
    label: str
    argv: list[str]
    samples: list[float] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)
    peak_rss_mib: float | None = None
    error: str | None = None
    ok_exit: tuple[int, ...] = (0,)  # compare and gc-preview exit 1 when they find something

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


@dataclass
class Row:
    """gitward's command(s) and the peers they are compared with, timed alternately."""

    fixture: str
    what: str
    gitward: list[Command]
    peers: list[Command]
    targets: dict[str, float] = field(default_factory=dict)  # peer label -> max gitward/peer
    rss_target_mib: float | None = None
    answer: str = "unchecked"
    units: int = 0  # repos or refs, for the per-unit columns of the scaling table
    unit_name: str = ""
    cold: bool = True  # also timed in the cold rounds

    def ratios(self, mine: Command, peer: Command, cold: bool = False) -> list[float]:
        """gitward/peer per round: both ran within the same second or so."""
        a, b = (mine.cold, peer.cold) if cold else (mine.samples, peer.samples)
        return [x / y for x, y in zip(a, b, strict=False) if y > 0]


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    env = git_env()
    machine = machine_description(env)
    floor = build_floor()
    rows: list[Row] = []
    plan = _plan(args)
    build_fixtures([spec for _, spec in plan], args)
    args.pairs = build_pairs([f"F{label[1]}" for label, _ in plan if label in COMPARE_ROWS], args)
    for label, spec in plan:
        fixture = fixtures.load(spec, cache=args.cache)
        if fixture is None:
            raise SystemExit(f"{spec.key}: the fixture build did not complete")
        _say(f"{label}: {fixture.path}")
        row = BENCHMARKS[label](fixture, args, env, floor)
        measure(row, args, env)
        rows.append(row)
    machine["load_after"] = _load()
    machine["harness_rss_mib"] = _own_peak_rss_mib()
    text = markdown(rows, machine, args, floor)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
        _say(f"wrote {args.markdown}")
    if args.json:
        Path(args.json).write_text(json.dumps(_json_report(rows, machine, args), indent=2) + "\n")
        _say(f"wrote {args.json}")
    failed = any(
        met is False for row in rows for met in (_met(row, peer) for peer in row.peers)
    ) or any(c.error for row in rows for c in row.gitward) or any(row.answer.startswith("WRONG") for row in rows)
    return 1 if args.strict and failed else 0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small fixtures (targets are for full sizes)")
    parser.add_argument("--scale", action="store_true", help="the scaling table: 1k-50k repos, 50k-1M refs")
    parser.add_argument("--rebuild", action="store_true", help="rebuild fixtures even when cached")
    parser.add_argument("--runs", "-n", type=int, default=5, help="alternated rounds after the warm-up (default 5)")
    parser.add_argument("--cold", type=int, default=0, metavar="N", help="N more rounds with the page cache dropped")
    parser.add_argument("--only", type=_fixture_labels, default=set(BENCHMARKS), help="e.g. F2,F3")
    parser.add_argument("--scan-jobs", default="1", help="also time 'scan --jobs N' for these N (default 1; '' none)")
    parser.add_argument("--no-git-loop", action="store_true", help="leave out the F3 shell loop (slow)")
    parser.add_argument("--markdown", metavar="FILE", help=f"write the table here (make bench: {DEFAULT_MARKDOWN.name})")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--cache", type=Path, default=fixtures.DEFAULT_CACHE, help="fixture cache directory")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed or gitward fails")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.scan_jobs = [int(n) for n in args.scan_jobs.split(",") if n.strip()]
    return args


def _fixture_labels(text: str) -> set[str]:
    labels = set(text.upper().split(","))
    if not labels <= set(BENCHMARKS):
        raise argparse.ArgumentTypeError(f"choose from {', '.join(sorted(BENCHMARKS))}")
    return labels


def _plan(args: argparse.Namespace) -> list[tuple[str, object]]:
    if args.scale:
        hosts = fixtures.QUICK_SCALE_HOSTS if args.quick else fixtures.SCALE_HOSTS
        changes = fixtures.QUICK_SCALE_CHANGES if args.quick else fixtures.SCALE_CHANGES
        plan = [("F3", spec) for spec in hosts] if "F3" in args.only else []
        return plan + ([("F2", spec) for spec in changes] if "F2" in args.only else [])
    sizes = fixtures.QUICK if args.quick else fixtures.FULL
    plan = (("F3", sizes.f3), ("F2", sizes.f2), ("F1", sizes.f1), ("C3", sizes.f3), ("C2", sizes.f2), ("G2", sizes.f2))
    return [(label, spec) for label, spec in plan if label in args.only]


def build_fixtures(specs: list, args: argparse.Namespace) -> None:
    """Build (or find cached) every fixture in a child process, before anything is timed."""
    argv = [sys.executable, "-m", "benchmarks.fixtures", "--cache", str(args.cache), *dict.fromkeys(s.key for s in specs)]
    if args.rebuild:
        argv.append("--rebuild")
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"building fixtures failed:\n{done.stderr}")
    for key, seconds in json.loads(done.stdout).items():
        _say(f"fixture {key}: " + (f"built in {seconds:.1f} s" if seconds is not None else "cached"))


def build_pairs(labels: list[str], args: argparse.Namespace) -> dict[str, dict]:
    """The source/replica pairs ``compare`` is timed on ("F3", "F2"), built in a child process."""
    if not labels:
        return {}
    argv = [sys.executable, "-m", "benchmarks.compare_bench", "--cache", str(args.cache), *labels]
    if args.quick:
        argv.append("--quick")
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"building the compare pairs failed:\n{done.stderr}")
    pairs = json.loads(done.stdout)
    for label, pair in pairs.items():
        seconds = pair["built_seconds"]
        _say(f"compare pair {label}: " + (f"built in {seconds:.1f} s" if seconds is not None else "cached"))
    return pairs


# --------------------------------------------------------------------------- the benchmarks


def gitward_argv(*args: str) -> list[str]:
    """The ``gitward`` script installed next to this interpreter, as an operator runs it."""
    script = os.path.join(os.path.dirname(sys.executable), "gitward")
    if os.access(script, os.X_OK):
        return [script, *args]
    return [sys.executable, "-m", "tui", *args]


def build_floor() -> dict:
    """Compile floor.c; {"path": ..., "cc": ...} or {"path": None, "why": ...}."""
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        return {"path": None, "why": "no C compiler on this machine: the C floor was not measured"}
    out_dir = BENCH_DIR / ".build"
    out_dir.mkdir(exist_ok=True)
    binary = out_dir / "floor"
    done = subprocess.run(
        [compiler, "-O2", "-Wall", "-Wno-format-truncation", "-o", str(binary), str(BENCH_DIR / "floor.c")],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return {"path": None, "why": f"floor.c did not compile: {done.stderr.strip()[:200]}"}
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout.splitlines()
    return {"path": str(binary), "cc": version[0] if version else compiler}


def _floors(floor: dict, mode: str, paths: list[str], *, python: bool = True) -> list[Command]:
    commands = []
    if floor["path"]:
        commands.append(Command("C floor", [floor["path"], mode, *paths]))
    if python:
        commands.append(Command("Python floor", [sys.executable, str(BENCH_DIR / "pyfloor.py"), mode, *paths]))
    return commands


def bench_host(fixture: fixtures.Fixture, args: argparse.Namespace, env: dict, floor: dict) -> Row:
    repos = [str(fixture.resolve(r)) for r in fixture.manifest["repos"]]
    root = str(fixture.path)
    mine = [Command("scan", gitward_argv("scan", root, "--json"))]
    mine += [Command(f"scan --jobs {n}", gitward_argv("scan", root, "--json", "--jobs", str(n))) for n in args.scan_jobs]
    peers = _floors(floor, "host", [root], python=not args.scale)  # scaling: the C floor only
    if not args.no_git_loop and not args.scale:
        repo_list = fixture.directory / "repos.txt"
        repo_list.write_text("\n".join(repos) + "\n")
        peers.append(Command("git loop", ["bash", "-c", GIT_LOOP, "git-loop", str(repo_list)]))
    row = Row("F3", f"scan --json, {len(repos):,} repos", mine, peers, units=len(repos), unit_name="repo")
    row.targets = {"C floor": 2.5 if len(repos) > 10_000 else 2.0}
    row.answer = _check_count(mine[0].argv, env, "repos", len(repos), "all")
    for peer in peers:
        if peer.label.endswith("floor"):
            row.answer += "; " + _check_floor(peer, env, len(repos))
    return row


def bench_changes(fixture: fixtures.Fixture, args: argparse.Namespace, env: dict, floor: dict) -> Row:
    repo = str(fixture.path)
    refs = fixture.manifest["refs"]
    mine = [Command("refs --shadowed", gitward_argv("refs", repo, "--shadowed", "--json"))]
    peers = [
        Command("git for-each-ref", ["git", "-C", repo, "for-each-ref"]),
        Command("git show-ref", ["git", "-C", repo, "show-ref"]),
        *_floors(floor, "repo", [repo], python=not args.scale),
    ]
    row = Row("F2", f"refs --shadowed --json, {refs:,} refs", mine, peers, units=refs, unit_name="ref")
    row.targets = {"git for-each-ref": 0.75}
    row.rss_target_mib = 250.0 if refs > 500_000 else 100.0
    stale = len(fixture.manifest["stale_loose"])
    row.answer = _check_count(mine[0].argv, env, "refs", stale, "stale-loose")
    return row


def bench_starred(fixture: fixtures.Fixture, args: argparse.Namespace, env: dict, floor: dict) -> Row:
    repo = str(fixture.path)
    refs = fixture.manifest["refs"]
    mine = [Command("refs", gitward_argv("refs", repo, "--json"))]
    peers = [Command("git for-each-ref", ["git", "-C", repo, "for-each-ref"]), Command("git show-ref", ["git", "-C", repo, "show-ref"])]
    row = Row("F1", f"refs --json, {refs:,} refs", mine, peers, units=refs, unit_name="ref")
    # Count names under refs/ only: HEAD is listed too, as a symbolic ref.
    row.answer = _check_count(mine[0].argv, env, "refs", refs, "under-refs")
    return row


def bench_compare_hosts(fixture: fixtures.Fixture, args: argparse.Namespace, env: dict, floor: dict) -> Row:
    pair = args.pairs["F3"]
    gitward = gitward_argv()
    two_scans = 'for root in "$@"; do "$0" scan "$root" --json >/dev/null || exit 1; done'
    if len(gitward) > 1:  # no installed script: python -m tui
        two_scans = two_scans.replace('"$0"', '"$0" -m tui')
    peer = Command("two scans", ["bash", "-c", two_scans, gitward[0], pair["source"], pair["replica"]])
    repos = len(fixture.manifest["repos"])
    return _compare_row("C3", pair, peer, 1.0, "with-findings", env, repos, "repo")


def bench_compare_repos(fixture: fixtures.Fixture, args: argparse.Namespace, env: dict, floor: dict) -> Row:
    pair = args.pairs["F2"]
    name = fixture.path.name
    git_diff = (
        'a=$(mktemp) b=$(mktemp); git -C "$0" for-each-ref >"$a" && git -C "$1" for-each-ref >"$b" '
        '&& { diff "$a" "$b" >/dev/null; true; }; status=$?; rm -f "$a" "$b"; exit $status'
    )
    sides = [f"{pair['source']}/{name}", f"{pair['replica']}/{name}"]
    peer = Command("for-each-ref x2 + diff", ["bash", "-c", git_diff, *sides])
    return _compare_row("C2", pair, peer, 1.5, "findings", env, fixture.manifest["refs"], "ref")


def _compare_row(label: str, pair: dict, peer: Command, target: float, wanted: str, env: dict, units: int,
                 unit_name: str) -> Row:
    """``gitward compare SOURCE REPLICA --json`` (exit 1: differences found) against ``peer``."""
    mine = [Command("compare", gitward_argv("compare", pair["source"], pair["replica"], "--json"), ok_exit=(0, 1))]
    what = f"compare, 2 x {units:,} {unit_name}s, {pair['changed']} differing"
    row = Row(label, what, mine, [peer], units=units, unit_name=unit_name, cold=False)
    row.targets = {peer.label: target}
    row.answer = _check_count(mine[0].argv, env, "repos", pair["changed"], wanted)
    return row


def bench_gc_preview(fixture: fixtures.Fixture, args: argparse.Namespace, env: dict, floor: dict) -> Row:
    repo = str(fixture.path)
    refs = fixture.manifest["refs"]
    mine = [Command("gc-preview", gitward_argv("gc-preview", repo, "--json"), ok_exit=(0, 1))]
    # What git itself spends on the question: every ref, then the reachability walk that
    # 'git prune' does (git cannot list a packed value that a loose file shadows at all).
    walk = 'git -C "$0" for-each-ref >/dev/null && git -C "$0" rev-list --all --reflog >/dev/null'
    peers = [
        Command("git for-each-ref", ["git", "-C", repo, "for-each-ref"]),
        Command("for-each-ref + rev-list --all --reflog", ["bash", "-c", walk, repo]),
    ]
    row = Row("G2", f"gc-preview, {refs:,} refs, {len(fixture.manifest['stale_loose'])} lost", mine, peers,
              units=refs, unit_name="ref", cold=False)
    row.answer = _check_count(mine[0].argv, env, "lost_refs", len(fixture.manifest["stale_loose"]), "all")
    return row


BENCHMARKS = {
    "F1": bench_starred,
    "F2": bench_changes,
    "F3": bench_host,
    "C3": bench_compare_hosts,
    "C2": bench_compare_repos,
    "G2": bench_gc_preview,
}
COMPARE_ROWS = ("C3", "C2")  # timed on a source/replica pair built from the F3 or F2 fixture


# --------------------------------------------------------------------------- measuring


def measure(row: Row, args: argparse.Namespace, env: dict) -> None:
    """One warm-up each, then ``args.runs`` rounds in rotated order; then the cold rounds."""
    commands = row.gitward + row.peers
    runs = min(args.runs, 3) if args.scale else args.runs
    for command in commands:  # warm-up: the page cache, and a failing command is found early
        _run_once(command, env)
    for round_ in range(runs):
        shift = round_ % len(commands)
        for command in commands[shift:] + commands[:shift]:
            if command.error is None:
                command.samples.append(_run_once(command, env))
    for _ in range(args.cold if row.cold else 0):
        for command in commands:
            if command.label == "git loop":
                continue  # a reference only, and a cold one takes a minute of a shared disk
            if command.error is None and drop_caches():
                command.cold.append(_run_once(command, env))


def _run_once(command: Command, env: dict) -> float:
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(
            command.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO_ROOT
        )
    except OSError as exc:
        command.error = f"{command.argv[0]}: {exc}"
        return 0.0
    stderr = proc.stderr.read()
    proc.stderr.close()
    # wait4: this child's own rusage (RUSAGE_CHILDREN would be the maximum over every child).
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in command.ok_exit:
        message = stderr.decode(errors="replace").strip().splitlines()
        command.error = f"exit {code}: {message[-1] if message else ''}"
        return elapsed
    rss = round(usage.ru_maxrss / 1024, 1)  # KiB on Linux
    command.peak_rss_mib = max(command.peak_rss_mib or 0.0, rss)
    return round(elapsed, 4)


_DROP_CACHES = "/proc/sys/vm/drop_caches"
_drop_caches_refused: str | None = None


def drop_caches() -> bool:
    """Empty the page cache (root only); False, with the reason kept, when not permitted."""
    global _drop_caches_refused
    if _drop_caches_refused is not None:
        return False
    os.sync()
    try:
        with open(_DROP_CACHES, "w") as handle:
            handle.write("3\n")
    except OSError as exc:
        _drop_caches_refused = f"{_DROP_CACHES}: {exc.strerror}"
        return False
    return True


# Runs in a child process: a parent that parsed a 25,000-ref JSON document would raise the
# peak RSS every later child reports (on Linux a child's peak starts from its parent's).
_COUNT_SCRIPT = """
import json, subprocess, sys
key, wanted, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
done = subprocess.run(argv, capture_output=True)
if done.returncode not in (0, 1):  # 1: compare and gc-preview found something
    print("unchecked (gitward failed)"); raise SystemExit
try:
    data = json.loads(done.stdout)
except ValueError:
    print("WRONG (output is not JSON)"); raise SystemExit
items = data if isinstance(data, list) else data.get(key) if isinstance(data, dict) else None
if not isinstance(items, list):
    print(f"unchecked (no list at top level or under {key!r})"); raise SystemExit
weights = {
    "all": lambda item: 1,
    "stale-loose": lambda item: item.get("verdict") == "stale-loose",
    "under-refs": lambda item: str(item.get("name", "")).startswith("refs/"),
    "with-findings": lambda item: bool(item.get("findings")),
    "findings": lambda item: len(item.get("findings") or ()),
}
print(sum(int(weights[wanted](item)) for item in items if isinstance(item, dict)))
"""


def _check_count(argv: list[str], env: dict, key: str, expected: int, wanted: str) -> str:
    """Run gitward once more (in a child that counts) and compare with the fixture's claim.

    ``wanted``: which items count: "all", "stale-loose" (verdict), "under-refs" (name),
    "with-findings" (compare's repositories that differ) or "findings" (how many differences).
    """
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_SCRIPT, key, wanted, *argv], capture_output=True, text=True, env=env, cwd=REPO_ROOT
    )
    answer = done.stdout.strip()
    if not answer.isdigit():
        return answer or f"unchecked ({done.stderr.strip()[-80:]})"
    got = int(answer)
    return "ok" if got == expected else f"WRONG (got {got:,}, expected {expected:,})"


def _check_floor(command: Command, env: dict, repos: int) -> str:
    """A floor that read fewer repositories than exist would flatter no one but itself."""
    done = subprocess.run(command.argv, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    found = done.stdout.split()[0] if done.returncode == 0 and done.stdout else "?"
    return f"{command.label} read {found} repos" + ("" if found == str(repos) else " (WRONG)")


# --------------------------------------------------------------------------- output


def machine_description(env: dict) -> dict:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    git = subprocess.run(["git", "--version"], capture_output=True, text=True, env=env).stdout.strip()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": _memory(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "git": git,
        "load_before": _load(),
    }


def _memory() -> str:
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return "unknown"
    return f"{kib / 1024 / 1024:.0f} GiB"


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _own_peak_rss_mib() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _met(row: Row, peer: Command) -> bool | None:
    limit = row.targets.get(peer.label)
    mine = row.gitward[0]
    if limit is None or not mine.samples or not peer.samples:
        return None
    return statistics.median(row.ratios(mine, peer)) <= limit


def _span(values: list[float], fmt: str, unit: str = "") -> str:
    """median{unit} (min-max), e.g. "0.412 s (0.398-0.530)"."""
    if not values:
        return "n/a"
    return f"{format(statistics.median(values), fmt)}{unit} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def markdown(rows: list[Row], machine: dict, args: argparse.Namespace, floor: dict) -> str:
    runs = min(args.runs, 3) if args.scale else args.runs
    lines = [
        f"## gitward benchmarks{' (scaling)' if args.scale else ''}, {machine['date']}",
        "",
        f"Machine: {machine['cpu']}, {machine['memory']} RAM; {machine['platform']}; Python {machine['python']}; "
        f"{machine['git']}; C floor: {floor.get('cc') or floor.get('why')}. Load average (1/5/15 min) "
        f"{machine['load_before']} before, {machine['load_after']} after. "
        f"{'Quick (small) fixtures: targets are for the full sizes. ' if args.quick else ''}"
        f"Warm cache: one warm-up each, then {runs} alternated rounds (order rotated each round). Times are "
        "medians (min-max) of whole processes; **ratio** is the median (min-max) of the per-round ratios "
        "gitward/peer: below 1.00x gitward is faster. Ratios carry between runs; times follow the load.",
        "",
        "| fixture | gitward command | gitward | peer | peer time | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for mine in row.gitward:
            for peer in row.peers:
                ratios = row.ratios(mine, peer)
                limit = row.targets.get(peer.label) if mine is row.gitward[0] else None
                met = "" if limit is None else {True: "yes", False: "**NO**", None: "n/a"}[_met(row, peer)]
                lines.append(
                    f"| {row.what} | `{mine.label}` | {_span(mine.samples, '.3f', ' s')} | {peer.label} | "
                    f"{_span(peer.samples, '.3f', ' s')} | {_span(ratios, '.2f', 'x')} | "
                    f"{f'<= {limit:.2f}x' if limit else ''} | {met} |"
                )
    rss_lines = [
        f"| {row.what} | `{mine.label}` | {mine.peak_rss_mib} MiB | "
        + (f"< {row.rss_target_mib:.0f} MiB | {'yes' if (mine.peak_rss_mib or 0) < row.rss_target_mib else '**NO**'} |"
           if row.rss_target_mib and mine is row.gitward[0] else " | |")
        for row in rows
        for mine in row.gitward
        if mine.peak_rss_mib is not None
    ]
    lines += [
        "",
        f"Peak RSS (the harness itself peaked at {machine['harness_rss_mib']} MiB: a child's peak cannot read lower).",
        "",
        "| fixture | gitward command | peak RSS | target | met |",
        "|---|---|---|---|---|",
        *rss_lines,
    ]
    if args.cold:
        lines += ["", _cold_section(rows, args.cold)]
    if args.scale:
        lines += ["", *_scale_section(rows)]
    lines += ["", "Answers checked against the fixtures: " + "; ".join(f"{r.what}: {r.answer}" for r in rows)]
    errors = [f"{row.what} {c.label}: {c.error}" for row in rows for c in row.gitward + row.peers if c.error]
    if errors:
        lines += ["", "Errors: " + "; ".join(errors)]
    return "\n".join(lines) + "\n"


def _cold_section(rows: list[Row], rounds: int) -> str:
    if _drop_caches_refused is not None:
        return f"Cold cache: not measured ({_drop_caches_refused}; needs root)."
    out = [
        f"Cold cache ({rounds} rounds, `sync; echo 3 > /proc/sys/vm/drop_caches` before every command):",
        "",
        "| fixture | gitward command | gitward | peer | peer time | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        for mine in row.gitward[:1]:
            for peer in row.peers:
                if peer.cold:
                    out.append(
                        f"| {row.what} | `{mine.label}` | {_span(mine.cold, '.3f', ' s')} | {peer.label} | "
                        f"{_span(peer.cold, '.3f', ' s')} | {_span(row.ratios(mine, peer, cold=True), '.2f', 'x')} |"
                    )
    return "\n".join(out)


def _scale_section(rows: list[Row]) -> list[str]:
    out = [
        "Scaling: time per repo or per ref (median), gitward and the C floor; flat columns mean linear growth.",
        "",
        "| fixture | gitward per unit | C floor per unit | git for-each-ref per unit | gitward peak RSS |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        mine = row.gitward[0]
        by_label = {p.label: p for p in row.peers}

        def per_unit(command: Command | None) -> str:
            if command is None or command.median is None or not row.units:
                return ""
            return f"{command.median / row.units * 1e6:.1f} µs/{row.unit_name}"

        out.append(
            f"| {row.what} | {per_unit(mine)} | {per_unit(by_label.get('C floor'))} | "
            f"{per_unit(by_label.get('git for-each-ref'))} | {mine.peak_rss_mib} MiB |"
        )
    return out


def _json_report(rows: list[Row], machine: dict, args: argparse.Namespace) -> dict:
    def command(c: Command) -> dict:
        return {"label": c.label, "argv": c.argv, "samples": c.samples, "cold": c.cold,
                "median": c.median, "peak_rss_mib": c.peak_rss_mib, "error": c.error}

    return {
        "machine": machine,
        "runs": args.runs,
        "quick": args.quick,
        "scale": args.scale,
        "rows": [
            {
                "fixture": row.fixture,
                "what": row.what,
                "gitward": [command(c) for c in row.gitward],
                "peers": [command(c) for c in row.peers],
                "ratios": {p.label: row.ratios(row.gitward[0], p) for p in row.peers},
                "met": {p.label: _met(row, p) for p in row.peers if p.label in row.targets},
                "answer": row.answer,
            }
            for row in rows
        ],
    }


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
