"""``gitward sync REPO``: fetch from upstream with the live log on stdout.

``register(subparsers)`` adds the command to gitward's parser; ``dispatch(args)`` runs it and
returns its exit code, or None when ``args.command`` is not ``sync``. ``python -m tui.cli.sync``
runs it on its own.

Exit codes:
  0    synced (or already up to date)
  1    the sync failed (git's error is the last line, on stderr), or it was refused: the
       preflight found stale-loose shadows (pass --force), read-only mode, or a mirror's
       fetch --prune was not confirmed (on a terminal it asks; elsewhere pass --yes)
  2    bad arguments: not a repository, no such remote, a broken config
  124  timed out (like timeout(1))
  130  cancelled with ctrl-c
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence

from tui.cli.common import Parser, clean, confirm, fail, repo_argument, run_standalone

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_TIMED_OUT = 124
EXIT_CANCELLED = 130

COMMANDS = ("sync",)
POLL_SECONDS = 0.1


def register(subparsers) -> None:
    """Add ``sync`` to gitward's ``add_subparsers()`` object."""
    sync = subparsers.add_parser(
        "sync",
        help="fetch from upstream now, with a live log (mirrors, clones, git-sync roots)",
        description="Bring a repository up to date with its upstream using the system git, "
        "streaming git's output. Mirrors and clones: git fetch --prune; git-sync roots: the "
        "whole git-sync update (worktree, checked, link swapped atomically, old worktrees cleaned).",
    )
    sync.add_argument("repo", metavar="REPO", help="repository path (git-sync: the --root)")
    sync.add_argument("--timeout", type=float, metavar="SECONDS", help="give up after this long (default: config, 300)")
    sync.add_argument("--remote", metavar="NAME", help="remote to fetch from (default: origin, or the only one)")
    sync.add_argument("--force", action="store_true", help="sync even though the preflight warns (stale-loose shadows)")
    sync.add_argument("--hooks", action="store_true", help="run the repository's hooks (default: off, core.hooksPath=/dev/null)")
    sync.add_argument("--ref", metavar="REF", help="git-sync: what to track (default: what it tracks now, else HEAD)")
    sync.add_argument("--link", metavar="NAME", help="git-sync: the link (default: the one in the root)")
    sync.add_argument("--url", metavar="URL", help="git-sync: the upstream, to initialise an empty root")
    sync.add_argument("--yes", action="store_true", help="mirrors: fetch --prune without asking (needed without a terminal)")
    sync.add_argument(
        "--json", action="store_true",
        help="print the outcome as JSON on stdout (state, exit code, duration, refs changed old -> new, "
        "log file, journal entry); the live log goes to stderr",
    )
    # Own dest: a subparser default must not overwrite gitward's global --read-only.
    sync.add_argument("--read-only", dest="sync_read_only", action="store_true", help="refuse (syncing writes)")


def dispatch(args: argparse.Namespace) -> int | None:
    """Run ``sync``; None when ``args.command`` is something else."""
    if getattr(args, "command", None) not in COMMANDS:
        return None
    return cmd_sync(args)


def cmd_sync(args: argparse.Namespace) -> int:
    # deferred: loaded only when this command runs (every gitward start stays light)
    from tui.core.config import ConfigError, load_config
    from tui.core.sync import JobRunner
    from tui.core.sync import SyncError, SyncRequest, TimedOut, call_within
    from tui.core.write.gate import write_gate

    try:
        config = load_config()
    except ConfigError as exc:
        return _fail(f"{exc}; gitward makes no changes until the config is fixed", EXIT_ERROR)
    gate = write_gate(flag=bool(getattr(args, "sync_read_only", False) or getattr(args, "read_only", False)), config=config)
    if not gate.allowed:
        return _fail(f"refusing to sync {args.repo}: {gate.reason}", EXIT_FAILED)
    if args.timeout is not None and not args.timeout > 0:
        return _fail("--timeout must be a positive number of seconds", EXIT_ERROR)
    request = SyncRequest(
        path=repo_argument(args.repo), remote=args.remote, timeout=args.timeout, force=True, ref=args.ref, link=args.link, url=args.url,
        hooks=args.hooks,
    )
    runner = JobRunner.from_config(config)
    # --timeout bounds the whole sync: gitward's own reads (planning, preflight) count too.
    began = time.monotonic()
    seconds = args.timeout if args.timeout is not None else runner.timeout
    try:
        plan = call_within(runner.plan, request, seconds=seconds, what=f"reading {args.repo}")
        plan = dataclasses.replace(plan, began=began)
        if not args.force:
            left = began + seconds - time.monotonic()
            refusal = _preflight_refusal(plan, args.repo, left)
            if refusal is not None:
                return refusal
        asked = time.monotonic()
        _confirm_sync(plan, args.yes, as_json=args.json)
        # The time the operator took to answer is not the sync's: --timeout bounds gitward and git.
        plan = dataclasses.replace(plan, began=began + (time.monotonic() - asked))
        job = runner.submit(request, plan)
    except TimedOut as exc:
        return _fail(f"sync timed-out: {exc}", EXIT_TIMED_OUT)
    except SyncError as exc:
        return _fail(str(exc), EXIT_ERROR)
    as_json = getattr(args, "json", False)
    try:
        _follow(job, sys.stderr if as_json else None)  # --json: stdout is the outcome alone
    finally:
        runner.shutdown()
    if as_json:
        _write_outcome(job)
    return _report(job)


def _confirm_sync(plan, yes: bool, *, as_json: bool = False) -> None:
    """A mirror's fetch --prune deletes every ref the upstream no longer has: asked first, as
    every change gitward makes from the command line is (common.confirm)."""
    # lazy: the sync side loads with the first sync command
    from tui.core.sync import SyncKind

    if plan.kind is not SyncKind.MIRROR:
        return
    confirm(
        f"Fetch {_clean(plan.name)} from {_clean(plan.url)} with --prune (refs the upstream no longer has are deleted)?",
        yes=yes,
        as_json=as_json,  # a question on stdout would corrupt the JSON: refuse instead of asking
        dry_run=False,
    )


def _preflight_refusal(plan, shown: str, seconds: float) -> int | None:
    # lazy: the sync side loads with the first sync command
    from tui.core.sync import call_within, preflight

    warnings = call_within(preflight, plan, seconds=seconds, what=f"reading the refs of {shown}")
    if not warnings:
        return None
    for warning in warnings:
        print(f"gitward: warning: {_clean(warning.message)}", file=sys.stderr)
    return _fail(
        f"refusing to sync {shown}: the fetch would overwrite the refs above and the evidence they "
        "hold; record or resolve them first, or pass --force to sync anyway",
        EXIT_FAILED,
    )


class _Printer:
    """Writes a job's log lines to stdout as they arrive. On a terminal a progress line is
    redrawn in place; elsewhere (pipes, files, CI) only final lines are written."""

    def __init__(self, job, stream=None) -> None:
        self.job = job
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.version = 0
        self.last_final_seq = 0
        self.open_drawn = False

    def pump(self) -> None:
        chunk = self.job.log.read(self.version)
        self.version = chunk.version
        for line in chunk.lines:
            missed = line.seq - self.last_final_seq - 1
            if missed > 0:
                self._write_final(f"[{missed} lines dropped from the live buffer; the log file has them]")
                self.last_final_seq = line.seq - 1
            if line.final:
                self._write_final(line.render())
                self.last_final_seq = line.seq
            elif self.tty:
                self.stream.write("\r" + line.render() + "\x1b[K")
                self.open_drawn = True
        self.stream.flush()

    def _write_final(self, text: str) -> None:
        prefix = "\r" if self.open_drawn else ""
        suffix = "\x1b[K\n" if self.open_drawn else "\n"
        self.stream.write(prefix + text + suffix)
        self.open_drawn = False


def _follow(job, stream=None) -> None:
    """Print the live log until the job ends; ctrl-c cancels it (git's process group is
    terminated) and the log goes on until the job has ended.

    ctrl-c only records the press. Python's default raises KeyboardInterrupt wherever the main
    thread is, and inside ``job.log.read`` that can leave the log's lock held: the job thread then
    blocks for ever appending its last line, and the command never exits."""
    printer = _Printer(job, stream)
    pressed = threading.Event()
    previous = _on_sigint(lambda _signum, _frame: pressed.set())
    try:
        cancelling = False
        while True:
            finished = job.wait(POLL_SECONDS)
            printer.pump()
            if finished:
                return
            if pressed.is_set() and not cancelling:
                print("gitward: cancelling (the git process group is being terminated)", file=sys.stderr)
                job.cancel()
                cancelling = True
    finally:
        _on_sigint(previous)


def _on_sigint(handler):
    """Install ``handler`` for SIGINT and return the one it replaces; off the main thread (where
    Python allows no handler) nothing changes and ctrl-c keeps its default."""
    if threading.current_thread() is not threading.main_thread() or handler is None:
        return None
    return signal.signal(signal.SIGINT, handler)


def _write_outcome(job) -> None:
    """``gitward sync --json``: the job as ``SyncJob.to_json`` gives it, its texts redacted."""
    # deferred: loaded only when this command runs (every gitward start stays light)
    from tui.core.redact import redact_text

    data = job.to_json()
    for key in ("error", "hint"):
        if data[key]:
            data[key] = redact_text(data[key])
    data["warnings"] = [redact_text(w) for w in data["warnings"]]
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    sys.stdout.flush()


def _report(job) -> int:
    # lazy: the sync side loads with the first sync command
    from tui.core.sync import JobState

    if job.state is JobState.OK:
        for warning in job.warnings:
            print(f"gitward: warning: {_clean(warning)}", file=sys.stderr)
        return EXIT_OK
    if job.hint:
        print(f"gitward: {_clean(job.hint)}", file=sys.stderr)
    if job.log_path:
        print(f"gitward: log: {clean(job.log_path)}", file=sys.stderr)
    code = {JobState.TIMED_OUT: EXIT_TIMED_OUT, JobState.CANCELLED: EXIT_CANCELLED}.get(job.state, EXIT_FAILED)
    # Last line: git's own error (or why gitward stopped), so `| tail -1` tells the story.
    return _fail(f"sync {job.state.value}: {job.error or 'no reason given'}", code)


def _fail(message: str, code: int) -> int:
    # Redacted too: git's errors and the upstream URL may carry credentials.
    return fail(message, code, redact=True)


def _clean(text: str) -> str:
    return clean(text, redact=True)


# --------------------------------------------------------------------------- standalone


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="gitward", description="gitward sync")
    register(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_standalone(build_parser(), dispatch, argv)


if __name__ == "__main__":
    sys.exit(main())
