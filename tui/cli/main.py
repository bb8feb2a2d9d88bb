"""Command line: argument parsing and text/JSON output. Calls ``tui.core`` only.

Errors are one clear line on stderr and a non-zero exit, never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tui import __version__
from tui.core.units import short
from tui.cli.common import (
    EXIT_OK,
    Parser,
    UsageError,
    clean,
    open_repo,
    print_table,
    repo_argument,
    run_command,
    suggest,
    write_json_text,
)
from tui.core import units
from tui.core.defaults import DEFAULT_MAX_DEPTH

if TYPE_CHECKING:
    from tui.core.model import Problem, RepoReport

EXIT_FINDINGS = 1

# The commands that live in their own module (tui.cli.<module>), by name: the parser for
# 'gitward ROOT' imports none of them and 'gitward sync ...' only tui.cli.sync. Each module's
# COMMANDS tuple is the truth (tests/cli/test_cli_start.py checks this table against it).
COMMAND_MODULES = {
    "shadows": "write",
    "worktree": "write",
    "locks": "write",
    "journal": "write",
    "undo": "write",
    "sync": "sync",
    "manifest": "compare",
    "compare": "compare",
    "gc-preview": "compare",
    "fleet": "fleet",
}
COMMANDS = ("scan", "refs", "worktrees", "demo", "paths", *COMMAND_MODULES)


def command_module(module: str):
    """``tui.cli.<module>`` (write, sync, compare or fleet), imported when first needed."""
    return importlib.import_module(f"tui.cli.{module}")


def build_console_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="gitward",
        description="A console for the operators of git servers. Without a command: open the TUI.",
        epilog="commands: " + ", ".join(COMMANDS) + " (gitward COMMAND --help)",
    )
    parser.add_argument("--version", action="version", version=f"gitward {__version__}")
    parser.add_argument("--demo", action="store_true", help="build the demo host (once) and open it")
    parser.add_argument("--read-only", action="store_true", help="hide and refuse every mutating action")
    parser.add_argument("--jobs", type=int, default=None, help="parallel scan processes (default: CPU count)")
    _add_max_depth(parser)
    parser.add_argument("roots", nargs="*", metavar="ROOT", help="directories to scan (default: configured roots, else .)")
    parser.set_defaults(command=None)
    return parser


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``gitward COMMAND ...``. With ``command``, only the module that defines
    that command is imported and registered: enough when ``command`` is the first argument
    (argparse then hands everything after it to that sub-parser). Without it, every command
    (``gitward --help``, an option before the command)."""
    parser = Parser(prog="gitward", description="Scriptable commands of gitward.")
    parser.add_argument("--version", action="version", version=f"gitward {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    scan = sub.add_parser("scan", help="scan roots for repositories and problems")
    scan.add_argument("roots", nargs="+", metavar="ROOT")
    scan.add_argument("--json", action="store_true", help="machine-readable output (schema in README)")
    scan.add_argument("--fail-on", choices=["error", "warning", "info"], help="exit 1 if a problem this severe or worse exists")
    scan.add_argument("--jobs", type=int, default=None, help="parallel scan processes (default: CPU count)")
    scan.add_argument("--format", choices=["text", "json", "prometheus"], default=None, help="output format")
    scan.add_argument("--output", metavar="FILE", help="prometheus: write FILE atomically (node_exporter textfile dir)")
    _add_max_depth(scan)

    refs = sub.add_parser("refs", help="every ref of one repository with its storage source")
    refs.add_argument("repo", metavar="REPO")
    refs.add_argument("--json", action="store_true")
    refs.add_argument("--shadowed", action="store_true", help="only refs that are both loose and packed")
    refs.add_argument("--prefix", default="", help="only refs whose name starts with this, e.g. refs/changes/")

    worktrees = sub.add_parser("worktrees", help="linked worktrees of one repository, as git sees them")
    worktrees.add_argument("repo", metavar="REPO")
    worktrees.add_argument("--json", action="store_true")

    demo = sub.add_parser("demo", help="build the demo host into DIR")
    demo.add_argument("dir", metavar="DIR")

    sub.add_parser("paths", help="where gitward keeps config, state and logs")
    wanted = COMMAND_MODULES.get(command) if command is not None else None
    for module in dict.fromkeys(COMMAND_MODULES.values()):  # write, sync, compare, fleet: --help's order
        if command is None or module == wanted:
            command_module(module).register(sub)
    return parser


def _add_max_depth(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-depth",
        type=int,
        default=DEFAULT_MAX_DEPTH,
        metavar="N",
        help=f"look for repositories at most N directory levels below each root (default: {DEFAULT_MAX_DEPTH}); "
        "directories at the limit that were not descended into are reported as 'depth-limit' problems",
    )


def _first_positional(argv: Sequence[str]) -> str | None:
    skip_next = False
    for token in argv:
        if skip_next:
            skip_next = False
        elif token in ("--jobs", "--max-depth"):
            skip_next = True
        elif not token.startswith("-"):
            return token
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # 'gitward ROOT...' opens the console; 'gitward COMMAND ...' runs a command. argparse
    # cannot mix optional positionals with subcommands, so pick the parser first.
    first = _first_positional(argv)
    if first is not None and first not in COMMANDS and not os.path.exists(first):
        # 'gitward scna': a typo of a command, not a directory to open.
        hint = suggest(first, COMMANDS)
        if hint or os.sep not in first:
            return run_command(lambda: _not_a_command(first, hint))
    if first in COMMANDS:
        # 'gitward refs REPO': only the refs parser is needed; '--help refs' lists every command.
        parser = build_parser(first if argv[0] == first else None)
    else:
        parser = build_console_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        parser.unrecognized(args, extras)
    return run_command(lambda: _dispatch(args))


def _not_a_command(word: str, hint: str) -> int:
    if word == "help":
        raise UsageError("'help' is not a command: gitward --help lists them, gitward COMMAND --help explains one")
    if hint:
        raise UsageError(f"{word!r} is not a gitward command{hint} (no directory {word!r} either)")
    raise UsageError(f"{word!r} is neither a gitward command nor a directory (commands: {', '.join(COMMANDS)})")


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command in COMMAND_MODULES:
        return command_module(COMMAND_MODULES[command]).dispatch(args)
    if command == "scan":
        return cmd_scan(args)
    if command == "refs":
        return cmd_refs(args)
    if command == "worktrees":
        return cmd_worktrees(args)
    if command == "demo":
        return cmd_demo(args)
    if command == "paths":
        return cmd_paths()
    return cmd_console(args)


# --- scan -------------------------------------------------------------------------------


def cmd_scan(args: argparse.Namespace) -> int:
    _check_jobs(args.jobs)
    _check_max_depth(args.max_depth)
    if args.json and args.format:
        raise UsageError(f"--json and --format {args.format} together: give one (--json is --format json)")
    fmt = args.format or ("json" if args.json else "text")
    args.roots = _check_roots(args.roots, "; scan failed, metrics not written" if fmt == "prometheus" else "")
    if getattr(args, "output", None) and fmt != "prometheus":
        raise UsageError("--output is for --format prometheus")
    # After the checks: bad input is answered before the scanning code (pygit2) is loaded.
    from tui.core.model import Severity
    from tui.core.scan import scan_host, scan_host_json_pieces

    if fmt == "json":
        pieces, severities = scan_host_json_pieces(args.roots, jobs=args.jobs, max_depth=args.max_depth)
        for piece in pieces:
            write_json_text(piece)
        write_json_text("\n")
        if args.fail_on and any(Severity(s).rank >= Severity(args.fail_on).rank for s in severities):
            return EXIT_FINDINGS
        return EXIT_OK
    if fmt == "prometheus":
        return _scan_prometheus(args)
    host = scan_host(args.roots, jobs=args.jobs, max_depth=args.max_depth)
    _print_scan(host.repos, host.problems, host.duration)
    return _exit_for_findings(host, args.fail_on)


def _scan_prometheus(args: argparse.Namespace) -> int:
    # deferred: loaded only when this command runs (every gitward start stays light)
    from tui.core import metrics
    from tui.core.scan import scan_host

    # A failed scan writes nothing: the previous file stays, its last-success timestamp stops
    # advancing and the "scan stopped reporting" alert fires.
    try:
        host = scan_host(args.roots, jobs=args.jobs, max_depth=args.max_depth)
    except OSError as exc:
        raise UsageError(f"scan failed, metrics not written: {exc.strerror or exc}") from exc
    failure = metrics.scan_failure(host)
    if failure:
        raise UsageError(f"scan failed, metrics not written: {failure}")
    text = metrics.render_scan(host, finished=time.time())
    if args.output:
        try:
            metrics.write_atomically(args.output, text)
        except OSError as exc:
            raise UsageError(f"{args.output}: cannot write: {exc.strerror or exc}") from exc
    else:
        sys.stdout.write(text)
    return _exit_for_findings(host, args.fail_on)


def _exit_for_findings(host, fail_on: str | None) -> int:
    if fail_on:
        # deferred: loaded only when this command runs (every gitward start stays light)
        from tui.core.model import Severity

        threshold = Severity(fail_on).rank
        if any(p.severity.rank >= threshold for p in host.all_problems()):
            return EXIT_FINDINGS
    return EXIT_OK


def _check_jobs(jobs: int | None) -> None:
    if jobs is not None and jobs < 1:
        raise UsageError("--jobs must be 1 or more")


def _check_max_depth(max_depth: int) -> None:
    if max_depth < 0:
        raise UsageError("--max-depth must be 0 or more")


def _check_roots(roots: Sequence[str], consequence: str = "") -> list[str]:
    """The roots to scan. A root that is not there is a typo (or a volume that is not mounted):
    exit 2 before any output. One that is there but cannot be listed is scanned and reported as
    'unreadable'. A linked worktree stands for its repository (scanning it alone finds none)."""
    for root in roots:
        if not os.path.exists(root):
            raise UsageError(f"{root}: no such directory{consequence}")
        if not os.path.isdir(root):
            raise UsageError(f"{root}: not a directory{consequence}")
    return [repo_argument(root) for root in roots]


def _print_scan(repos: list[RepoReport], root_problems: list[Problem], duration: float) -> None:
    rows = []
    for repo in repos:
        refs = repo.refs
        shadows = refs.shadows
        worst = repo.worst_problem()
        locked = sum(1 for w in repo.worktrees if w.locked)
        prunable = sum(1 for w in repo.worktrees if w.prunable)
        stale_locks = sum(1 for lock in repo.locks if lock.stale)
        rows.append(
            [
                repo.name,
                repo.layout.value,
                str(refs.total),
                str(refs.loose),
                str(refs.packed),
                f"{shadows.get('stale-loose', 0)}/{shadows.get('dead-packed', 0)}",
                f"{len(repo.worktrees)}/{locked}/{prunable}" if repo.worktrees else "-",
                f"{len(repo.locks)}" + (f" ({stale_locks} stale)" if stale_locks else ""),
                units.size(repo.packed_refs_size),
                _fmt_age(repo.last_fetch),
                f"{worst.severity.symbol} {worst.code}" if worst else "ok",
            ]
        )
    header = ["REPO", "LAYOUT", "REFS", "LOOSE", "PACKED", "STALE/DEAD", "WT/LCK/PRN", "LOCKS", "PACKED-REFS", "FETCHED", "WORST"]
    print_table(header, rows)
    problems = [(repo.name, p) for repo in repos for p in repo.problems] + [("", p) for p in root_problems]
    if problems:
        print()
        for name, problem in sorted(problems, key=lambda item: -item[1].severity.rank):
            where = f"{clean(name)}: " if name else ""
            print(f"{problem.severity.symbol} {problem.severity.value:7} {where}[{problem.code}] {clean(problem.message)}")
    print(f"\n{units.plural(len(repos), 'repository', 'repositories')} scanned in {duration:.2f} s")


def _fmt_age(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    # deferred: loaded only when this command runs (every gitward start stays light)
    import humanize

    return humanize.naturaltime(time.time() - timestamp)


# --- refs / worktrees ---------------------------------------------------------------------


def cmd_refs(args: argparse.Namespace) -> int:
    # lazy: pygit2 loads when objects are first read, not at start
    from tui.core.refstore import RefsUnavailable, iter_refs, judge_shadows, load_snapshot

    _check_prefix(args.prefix)
    candidate = open_repo(args.repo)
    try:
        # The CLI has one thread; --shadowed reads only the loose refs it lists.
        snapshot = load_snapshot(candidate.git_dir, may_fork=True, shadowed_only=args.shadowed)
    except RefsUnavailable as exc:
        raise UsageError(f"{args.repo}: {exc} (reftable-unsupported)") from exc
    judge_shadows(snapshot)
    refs = iter_refs(snapshot, prefix=args.prefix, shadowed_only=args.shadowed)
    out = sys.stdout
    if args.json:
        # deferred: json is loaded only by the commands that print it (not by the console)
        from json import dumps

        # Streamed: a 200,000-ref repository never builds one giant document in memory.
        out.write("[")
        first = True
        for ref in refs:
            out.write("\n" if first else ",\n")
            write_json_text(dumps(ref.to_json()))
            first = False
        out.write("\n]\n" if not first else "]\n")
        return EXIT_OK
    rows = []
    for ref in refs:
        rows.append(
            [
                ref.name,
                short(ref.value) if ref.value else ("-> " + ref.symbolic_target if ref.symbolic_target else "BROKEN"),
                ref.source.value,
                short(ref.packed_value) if ref.source.value == "both" else "",
                ref.verdict.value if ref.verdict else "",
            ]
        )
    print_table(["NAME", "VALUE", "SOURCE", "PACKED", "VERDICT"], rows)
    for anomaly in snapshot.packed.anomalies:
        print(f"warning: packed-refs {clean(str(anomaly))}", file=sys.stderr)
    return EXIT_OK


def _check_prefix(prefix: str) -> None:
    """``--prefix heads`` matches nothing (ref names are full: refs/heads/...): say so, not "no refs"."""
    if not prefix or prefix.startswith("refs/") or "refs/".startswith(prefix) or "HEAD".startswith(prefix):
        return
    raise UsageError(f"--prefix {prefix}: ref names start with refs/; did you mean --prefix refs/{prefix.strip('/')}/?")


def cmd_worktrees(args: argparse.Namespace) -> int:
    # deferred: loaded only when this command runs (every gitward start stays light)
    from tui.core.scan import worktree_report

    candidate = open_repo(args.repo)
    report = worktree_report(candidate)  # no refs read, no verdicts: only what is listed
    if args.json:
        _write_json([w.to_json() for w in report.worktrees])
        return EXIT_OK
    rows = []
    for w in report.worktrees:
        state = []
        if w.main:
            state.append("main")
        if w.current:
            state.append("current")
        if w.locked:
            state.append("locked" + (f": {w.lock_reason}" if w.lock_reason else ""))
        if w.prunable:
            state.append(f"prunable: {w.prunable_reason}")
        if w.missing and not w.prunable:
            state.append("missing")
        where = w.branch.removeprefix("refs/heads/") if w.branch else ("(bare)" if w.bare else "(detached)")
        rows.append([w.id or "(main)", w.path, short(w.head), where, "; ".join(state)])
    print_table(["ID", "PATH", "HEAD", "BRANCH", "STATE"], rows)
    return EXIT_OK


# --- demo, paths, console -------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    # deferred: loaded only when this command runs (every gitward start stays light)
    from tui.demo import build_demo

    started = time.time()
    try:
        root = build_demo(os.path.abspath(args.dir))
    except FileExistsError as exc:  # a file, or a directory holding something else
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{args.dir}: cannot build the demo there: {exc.strerror or exc}") from None
    print(f"demo host built in {time.time() - started:.1f} s: {clean(root)}")
    print(f"try: gitward scan {clean(root)}")
    return EXIT_OK


def cmd_paths() -> int:
    # deferred: loaded only when this command runs (every gitward start stays light)
    from tui.core import paths

    rows = [
        ["config", paths.config_dir()],
        ["state (journal)", paths.state_dir()],
        ["logs", paths.log_dir()],
        ["data (demo host)", paths.data_dir()],
    ]
    print_table(["WHAT", "PATH"], rows)
    return EXIT_OK


def demo_root() -> str:
    """Build the demo host under the user data dir once; return its host root."""
    # deferred: loaded only when this command runs (every gitward start stays light)
    from tui.core import paths
    from tui.demo import build_demo

    target = paths.demo_dir()
    marker = os.path.join(target, "host")
    if os.path.isdir(marker):
        return marker
    print(f"building the demo host in {clean(target)} ...", file=sys.stderr)
    return build_demo(target)


def cmd_console(args: argparse.Namespace) -> int:
    _check_jobs(args.jobs)
    _check_max_depth(args.max_depth)
    if args.demo:
        roots = [demo_root()]
    elif args.roots:
        roots = args.roots
    else:
        roots = _configured_roots() or ["."]
    roots = _check_roots(roots)
    if not sys.stdout.isatty():
        # No terminal (cron, pipes): print the scan instead of drawing a screen.
        return cmd_scan(
            argparse.Namespace(
                roots=roots, json=False, fail_on=None, jobs=args.jobs, format="text", max_depth=args.max_depth
            )
        )
    # Start-up allocates ~200,000 long-lived objects (modules, classes, the first screen):
    # the cyclic collector would walk them over and over (~25 ms of the first frame, every
    # full pass walks them all again). Paused here; the host screen freezes what exists and
    # resumes it after its first frame (tui/app/screens/host.py, _first_frame_drawn).
    gc.disable()
    from tui.app.app import run_console  # Textual is imported only when a screen is drawn

    return run_console(roots, read_only=args.read_only, jobs=args.jobs, max_depth=args.max_depth)


def _configured_roots() -> list[str]:
    # deferred: loaded only when this command runs (every gitward start stays light)
    from tui.core.config import ConfigError, load_config

    try:
        return list(load_config().roots)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc


# --- output helpers ---------------------------------------------------------------------------


def _write_json(data) -> None:
    # One compact document in one write: json's C encoder only runs without indent, and
    # per-token writes cost more than the whole scan on a 2,200-repo host. Pipe to jq.
    # deferred: json is loaded only by the commands that print it (not by the console)
    import json

    write_json_text(json.dumps(data, separators=(",", ":")) + "\n")
