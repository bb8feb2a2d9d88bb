"""The commands that change repositories: shadows, worktree, locks, journal, undo.

``register(subparsers)`` adds them to gitward's parser; ``dispatch(args)`` runs one and returns
its exit code, or None when ``args.command`` is not one of these. ``python -m tui.cli.write``
runs them on their own.

Exit codes:
  0  done (or a dry run / listing)
  1  refused: nothing was changed (read-only mode, wrong user, a held lock, the files moved
     since the plan, an unsupported repository, no --yes) -- also `worktree repair` when git
     would report errors for some paths
  2  error: bad arguments, not a repository, unknown journal entry, or a change that stopped
     half-way (the journal entry says what; `gitward undo ID` restores it)
Errors and refusals are one line on stderr, starting with "gitward: ".

Every change asks first (``common.confirm``): ``shadows prune``, ``worktree prune``, ``locks
clear`` and ``undo`` ask on a terminal and need ``--yes`` anywhere else (cron, pipes, ``--json``);
``--dry-run`` never asks. ``worktree lock``/``unlock`` only add or remove a marker and do not ask.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence

from tui.core.units import short
from tui.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    NotConfirmed,
    Parser,
    UsageError,
    clean,
    confirm,
    fail,
    open_repo,
    print_table,
    run_standalone,
    write_json_text,
)

COMMANDS = ("shadows", "worktree", "locks", "journal", "undo")


# --------------------------------------------------------------------------- parser


def register(subparsers) -> None:
    """Add the write commands to gitward's ``add_subparsers()`` object."""
    _add_shadows(subparsers)
    _add_worktree(subparsers)
    _add_locks(subparsers)
    journal = subparsers.add_parser(
        "journal",
        help="list what gitward changed (and what was interrupted); with ENTRY_ID, that entry in full",
    )
    journal.add_argument("entry_id", metavar="ENTRY_ID", nargs="?", help="show this entry with its before-image")
    journal.add_argument("--json", action="store_true")
    undo = subparsers.add_parser("undo", help="restore the before-image of a journal entry")
    undo.add_argument("entry_id", metavar="ENTRY_ID")
    _yes_flag(undo)
    _read_only_flag(undo)


def _yes_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="apply without asking (needed without a terminal)")


def _read_only_flag(parser: argparse.ArgumentParser) -> None:
    # Own dest: a subparser default must not overwrite gitward's global --read-only.
    parser.add_argument("--read-only", dest="write_read_only", action="store_true", help="refuse every change")


def _action(sub, name: str, help: str, *, preview: bool = True) -> argparse.ArgumentParser:
    """An ACTION taking REPO and --read-only; ``preview``: also --dry-run and --json."""
    parser = sub.add_parser(name, help=help)
    parser.add_argument("repo", metavar="REPO")
    if preview:
        parser.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
        parser.add_argument("--json", action="store_true")
    _read_only_flag(parser)
    return parser


def _add_shadows(subparsers) -> None:
    shadows = subparsers.add_parser("shadows", help="resolve refs that are both loose and packed")
    sub = shadows.add_subparsers(dest="shadows_command", metavar="ACTION", required=True)
    prune = _action(sub, "prune", "keep the packed or the loose value of shadowed refs")
    prune.add_argument(
        "--keep",
        choices=["auto", "packed", "loose"],
        default="auto",
        help="auto: by verdict (stale-loose: packed; dead-packed, identical: loose; others untouched)",
    )
    prune.add_argument("--ref", dest="refs", action="extend", nargs="+", metavar="NAME", help="only these refs")
    _yes_flag(prune)


def _add_worktree(subparsers) -> None:
    worktree = subparsers.add_parser("worktree", help="lock, unlock, prune or repair linked worktrees")
    sub = worktree.add_subparsers(dest="worktree_command", metavar="ACTION", required=True)
    lock = _action(sub, "lock", "protect a worktree from 'git worktree prune'", preview=False)
    lock.add_argument("worktree", metavar="WORKTREE", help="id, path, or a unique path suffix")
    lock.add_argument("--reason", default=None)
    unlock = _action(sub, "unlock", "remove a worktree's lock", preview=False)
    unlock.add_argument("worktree", metavar="WORKTREE")
    prune = _action(sub, "prune", "remove admin dirs of worktrees git considers prunable")
    prune.add_argument("--expire", metavar="TIME", default=None, help="only worktrees older than TIME (e.g. 2.weeks.ago)")
    _yes_flag(prune)
    prune.add_argument(
        "--force-moved",
        action="store_true",
        help="prune even when every linked worktree looks gone (an unmounted volume looks like this)",
    )
    repair = _action(sub, "repair", "rewrite gitdir and .git files after paths changed")
    repair.add_argument("paths", nargs="*", metavar="PATH", help="where moved worktrees are now")


def _add_locks(subparsers) -> None:
    locks = subparsers.add_parser("locks", help="stale lock files")
    sub = locks.add_subparsers(dest="locks_command", metavar="ACTION", required=True)
    clear = _action(sub, "clear", "remove a lock file older than its grace period")
    clear.add_argument("lockfile", metavar="LOCKFILE", help="relative to the git dir, as 'gitward scan' lists it")
    _yes_flag(clear)


# --------------------------------------------------------------------------- dispatch


def dispatch(args: argparse.Namespace) -> int | None:
    """Run a write command; None when ``args.command`` is not one of them."""
    command = getattr(args, "command", None)
    if command not in COMMANDS:
        return None
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write.errors import RefusedError, WriteError

    handler = {
        "shadows": cmd_shadows_prune,
        "worktree": _worktree_handler(args),
        "locks": cmd_locks_clear,
        "journal": cmd_journal,
        "undo": cmd_undo,
    }[command]
    try:
        return handler(args)
    except RefusedError as exc:
        return fail(str(exc), EXIT_REFUSED)
    except (WriteError, UsageError) as exc:  # ApplyError included: stopped half-way
        return fail(str(exc), EXIT_ERROR)
    except BrokenPipeError:
        raise  # 'gitward journal --json | head': the caller's business, not an error here
    except OSError as exc:
        # Before any journal entry (an unreadable repository, a full disk for the journal).
        where = f"{exc.filename}: " if exc.filename else ""
        return fail(f"{where}{exc.strerror or exc}; nothing was changed", EXIT_ERROR)


def _worktree_handler(args: argparse.Namespace):
    return {
        "lock": cmd_worktree_lock,
        "unlock": cmd_worktree_unlock,
        "prune": cmd_worktree_prune,
        "repair": cmd_worktree_repair,
    }.get(getattr(args, "worktree_command", None), cmd_worktree_lock)


def _journal_for(args: argparse.Namespace):
    """The journal, holding the write gate: --read-only (here or global) or the config closes it."""
    # deferred: loaded only when this command runs (every gitward start stays light)
    from tui.core.config import ConfigError
    from tui.core.write.gate import load_write_gate
    from tui.core.write.journal import Journal

    flag = bool(getattr(args, "write_read_only", False) or getattr(args, "read_only", False))
    try:
        gate = load_write_gate(flag=flag)
    except ConfigError as exc:
        # Cannot tell whether writes are allowed: that is a no.
        raise UsageError(f"{exc}; gitward makes no changes until the config is fixed") from None
    return Journal(gate=gate)


def _writable_journal(args: argparse.Namespace):
    """The journal for a change about to be made: refused up front in read-only mode."""
    journal = _journal_for(args)
    journal.check_writable()
    return journal


# --------------------------------------------------------------------------- shadows prune


def cmd_shadows_prune(args: argparse.Namespace) -> int:
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write import shadows as refedit

    candidate = open_repo(args.repo)
    if args.dry_run:
        plan = refedit.plan_shadow_prune(candidate.git_dir, args.keep, args.refs)
        _show_shadow_plan(plan, args.json, entry_id=None, dry_run=True)
        return EXIT_REFUSED if plan.refusals else EXIT_OK
    journal = _writable_journal(args)
    # Before planning: lock files and a packed-refs.new left by an interrupted gitward would
    # otherwise refuse the plan; they are provably its own, so they go first.
    _recover(journal, candidate.git_dir, args.json)
    plan = refedit.plan_shadow_prune(candidate.git_dir, args.keep, args.refs)
    if plan.changes and not plan.refusals and not args.yes:
        # The preview first, then the question (the TUI asks the same in its dialog).
        _show_shadow_plan(plan, args.json, entry_id=None, dry_run=True)
        name = _repo_name(candidate.path)
        confirm(f"Apply {_changes(len(plan.changes))} to {clean(name)}?", yes=args.yes, as_json=args.json, typed=name)
        result = refedit.apply(plan, journal)
        _show_applied(result)
        return EXIT_OK
    result = refedit.apply(plan, journal)
    _show_shadow_plan(plan, args.json, entry_id=result.entry_id, dry_run=False, recovered=result.recovered_locks)
    return EXIT_OK


def _show_applied(result) -> None:
    _show_recovered(result.recovered_locks, as_json=False)
    print(f"applied; journal entry {result.entry_id} (undo: gitward undo {result.entry_id})")


def _show_recovered(paths, as_json: bool) -> None:
    # With --json, stdout is the document; these notes go to stderr.
    for path in paths:
        print(f"removed {clean(path)}, left by an interrupted gitward", file=sys.stderr if as_json else sys.stdout)


def _recover(journal, git_dir: str | None, as_json: bool = False) -> None:
    """Before a change (or a listing): remove what interrupted gitward runs left, and say so."""
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write.recovery import recover_interrupted

    _show_recovered(recover_interrupted(journal, git_dir), as_json)


def _show_refusals(refusals) -> None:
    for refusal in refusals:
        print(f"gitward: refused: {clean(refusal)}", file=sys.stderr)


def _show_undo_hint(entry_id: str | None) -> None:
    if entry_id:
        print(f"journal entry {entry_id} (undo: gitward undo {entry_id})")


def _write_plan_json(plan, dry_run: bool, entry_id: str | None, **extra) -> None:
    _write_json({**plan.to_json(), "dry_run": dry_run, **extra, "journal_entry": entry_id})


def _repo_name(path: str) -> str:
    """What the operator types to confirm a bulk change: the repository's directory name."""
    return os.path.basename(os.path.normpath(path))


def _changes(count: int) -> str:
    return _plural(count, "change")


def _plural(count: int, singular: str, plural_form: str | None = None) -> str:
    # deferred: loaded only when this command runs (every gitward start stays light)
    from tui.core.units import plural

    return plural(count, singular, plural_form)


def _show_shadow_plan(plan, as_json: bool, *, entry_id: str | None, dry_run: bool, recovered=()) -> None:
    if as_json:
        _write_plan_json(plan, dry_run, entry_id, applied=entry_id is not None)
        return
    rows = [
        [item.name, _verdict(item), item.action.value, short(item.before), short(item.after)]
        for item in plan.changes
    ]
    if rows:
        print("would change:" if dry_run or entry_id is None else "changed:")
        print_table(["REF", "VERDICT", "ACTION", "BEFORE", "AFTER"], rows, indent="  ")
        for item in plan.changes:
            if item.note.startswith("WARNING"):
                print(f"  {clean(item.name)}: {clean(item.note)}")
    if plan.skipped:
        print("untouched:")
        print_table(["REF", "VERDICT", "WHY"], [[i.name, _verdict(i), i.note] for i in plan.skipped], indent="  ")
    if not plan.items:
        print("no ref is both loose and packed" if not plan.refusals else "no plan")
    _show_refusals(plan.refusals)
    _show_recovered(recovered, as_json=False)
    _show_undo_hint(entry_id)


def _verdict(item) -> str:
    return item.verdict.value if item.verdict else "-"


# --------------------------------------------------------------------------- worktree


def _worktree_repo(path: str):
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write.worktree_edit import WorktreeRepo

    return WorktreeRepo.from_candidate(open_repo(path))


def cmd_worktree_lock(args: argparse.Namespace) -> int:
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write import worktree_edit

    repo = _worktree_repo(args.repo)
    journal = _writable_journal(args)
    _recover(journal, repo.common_dir)
    plan = worktree_edit.plan_lock(repo, args.worktree, args.reason)
    entry = worktree_edit.apply(plan, journal)
    why = f" ({clean(args.reason)})" if args.reason else ""
    print(f"locked worktrees/{clean(plan.worktree.id)} at {clean(plan.worktree.path or '-')}{why}; journal entry {entry.id}")
    return EXIT_OK


def cmd_worktree_unlock(args: argparse.Namespace) -> int:
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write import worktree_edit

    repo = _worktree_repo(args.repo)
    journal = _writable_journal(args)
    _recover(journal, repo.common_dir)
    plan = worktree_edit.plan_unlock(repo, args.worktree)
    entry = worktree_edit.apply(plan, journal)
    print(f"unlocked worktrees/{clean(plan.worktree.id)} at {clean(plan.worktree.path or '-')}; journal entry {entry.id}")
    return EXIT_OK


def cmd_worktree_prune(args: argparse.Namespace) -> int:
    # Deferred, as every write-side import here: read-only commands start without loading it.
    from tui.core.scan import scan_repo
    from tui.core.write import RefusedError, apply_worktree_plan, parse_expire, preview_prune

    candidate = open_repo(args.repo)
    expire = None
    if args.expire is not None:
        try:
            expire = parse_expire(args.expire)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    # The cautions need the scan's view (git-sync link, moved paths); refs are not judged.
    preview = preview_prune(scan_repo(candidate, judge=False), expire=expire)
    plan = preview.plan
    if args.dry_run:
        if plan.refusals and plan.items:
            _show_refusals(plan.refusals)
        _show_prune(preview, args.json, entry_id=None, dry_run=True)
        return EXIT_REFUSED if plan.refusals and plan.items else EXIT_OK
    journal = _writable_journal(args)
    if not preview.cautions:
        _confirm_prune(plan, plan.repo, args)
    elif not _moved_consent(args, preview):
        # DESIGN.md incident 2: a volume that is away looks deleted to git. The preview
        # first, then the question; every worktree gone asks for --force-moved, nothing less.
        _show_prune(preview, args.json, entry_id=None, dry_run=True)
        if preview.every_worktree_gone:
            raise RefusedError(_moved_refusal(preview, candidate.path))
        try:
            name = _repo_name(candidate.path)
            confirm(f"Prune {_plural(len(plan.items), 'worktree')} of {clean(name)} anyway?", yes=False, as_json=args.json, typed=name)
        except NotConfirmed:
            raise RefusedError(_moved_refusal(preview, candidate.path)) from None
    _recover(journal, plan.repo.common_dir, args.json)
    entry = apply_worktree_plan(plan, journal)
    _show_prune(preview, args.json, entry_id=entry.id if entry else None, dry_run=False)
    return EXIT_OK


def _moved_consent(args: argparse.Namespace, preview) -> bool:
    """Did the command line say to prune worktrees that look moved or away?"""
    if preview.every_worktree_gone:
        return args.force_moved
    return args.yes or args.force_moved


def _moved_refusal(preview, repo_path: str) -> str:
    count = len(preview.cautions)
    ids = ", ".join(clean(c.worktree_id) for c in preview.cautions)
    lock = f"lock them ('gitward worktree lock {shlex.quote(clean(repo_path))} ID --reason ...', ID: {ids})"
    if preview.every_worktree_gone:
        return (
            f"every linked worktree of {clean(repo_path)} is missing and {count} look moved or away "
            f"(an unmounted volume looks like this); nothing was pruned. Mount the volume, or {lock}; "
            "--force-moved prunes them anyway"
        )
    repair = "; repair a moved one ('gitward worktree repair REPO PATH')" if preview.suggests_repair else ""
    return (
        f"{_plural(count, 'worktree')} look{'s' if count == 1 else ''} moved or away, not deleted; nothing was pruned. "
        f"Check them, {lock}{repair}, or add --yes to prune anyway"
    )


def _show_prune(preview, as_json: bool, *, entry_id: str | None, dry_run: bool) -> None:
    plan = preview.plan
    if as_json:
        cautions = [c.to_json() for c in preview.cautions]
        _write_plan_json(plan, dry_run, entry_id, cautions=cautions, every_worktree_gone=preview.every_worktree_gone)
        return
    verb = "Would remove" if dry_run or entry_id is None else "Removed"
    for item in plan.items:
        print(f"{verb} worktrees/{clean(item.id)}: {clean(item.reason)}")
    for item in plan.kept:
        print(f"Kept worktrees/{clean(item.id)}: {clean(item.reason)}")
    for caution in preview.cautions:
        print(f"Caution: {clean(caution.message)} (suggest: {caution.suggest})")
    _show_undo_hint(entry_id)


def _confirm_prune(plan, repo, args: argparse.Namespace) -> None:
    """What goes, then the question (a refused plan is refused by apply, not asked about)."""
    if not plan.items or plan.refusals or args.yes:
        return
    if not args.json:
        for item in plan.items:
            print(f"Would remove worktrees/{clean(item.id)}: {clean(item.reason)}")
    name = _repo_name(repo.main_path or repo.common_dir)
    confirm(f"Remove {_plural(len(plan.items), 'worktree')} of {clean(name)}?", yes=args.yes, as_json=args.json, typed=name)


def cmd_worktree_repair(args: argparse.Namespace) -> int:
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write import worktree_edit

    repo = _worktree_repo(args.repo)
    plan = worktree_edit.plan_repair(repo, args.paths)
    entry = None
    if not args.dry_run and plan.items:
        journal = _writable_journal(args)
        _recover(journal, repo.common_dir, args.json)
        entry = worktree_edit.apply(plan, journal)
    entry_id = entry.id if entry else None
    if args.json:
        _write_plan_json(plan, args.dry_run, entry_id)
    else:
        prefix = "would repair" if args.dry_run else "repair"
        for item in plan.items:
            # git: fprintf_ln(stderr, "repair: %s: %s", msg, path)
            print(f"{prefix}: {clean(item.message)}: {clean(item.shown)}")
        for path, message in plan.errors:
            print(f"error: {clean(message)}: {clean(path)}", file=sys.stderr)
        _show_undo_hint(entry_id)
    return EXIT_REFUSED if plan.errors else EXIT_OK


# --------------------------------------------------------------------------- locks clear


def cmd_locks_clear(args: argparse.Namespace) -> int:
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write import lock_clear

    candidate = open_repo(args.repo)
    journal = _journal_for(args)
    plan = lock_clear.plan_lock_clear(candidate.git_dir, args.lockfile, journal=journal)
    if not args.json:
        # Show the age before anything happens: the operator sees what is being judged stale.
        left = f"; left by interrupted gitward entry {plan.left_by}" if plan.left_by else ""
        print(
            f"{clean(plan.relpath)}: {_age(plan.age_seconds)} old, grace period {_age(plan.grace_seconds)}{left}"
        )
    entry_id = None
    if not args.dry_run:
        journal.check_writable()
        if not plan.refusals:  # a refusal is said as one, not asked about
            where = _repo_name(candidate.path)
            confirm(f"Remove {clean(plan.relpath)} from {clean(where)}?", yes=args.yes, as_json=args.json)
        entry_id = lock_clear.apply(plan, journal).entry_id
        _recover(journal, candidate.git_dir, args.json)  # whatever else interrupted runs left here
    if args.json:
        _write_plan_json(plan, args.dry_run, entry_id)
    elif entry_id:
        print(f"removed {clean(plan.relpath)}; journal entry {entry_id}")
    if args.dry_run and plan.refusals:
        print(f"gitward: refused: {clean(plan.refusals[0])}", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def _age(seconds: float) -> str:
    # deferred: loaded only when this command runs (every gitward start stays light)
    import humanize

    return humanize.naturaldelta(seconds)


# --------------------------------------------------------------------------- journal, undo


def cmd_journal(args: argparse.Namespace) -> int:
    try:
        journal = _journal_for(args)
    except UsageError:
        # lazy: the write side loads with the first write (read-only runs never load it)
        from tui.core.write.journal import Journal

        journal = Journal(read_only=True)  # a broken config: list, change nothing
    if not journal.read_only:
        # Locks and staging dirs interrupted runs left, in any repository: gone, and said so.
        _recover(journal, None, args.json)
    if args.entry_id:
        return _show_entry(journal.get(args.entry_id), args.json)
    entries = journal.entries()  # JSON: oldest first, as it always was; text: as the console lists them
    if args.json:
        # One entry per line: 10,000 entries print in a second (an indented dump takes 10 s).
        out = sys.stdout
        out.write("[")
        for n, entry in enumerate(entries):
            out.write(("\n" if n == 0 else ",\n") + json.dumps(entry.to_json()))
        out.write("\n]\n")
        return EXIT_OK
    if not entries:
        print("the journal is empty")
        return EXIT_OK
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write.journal_words import newest_first, status_words, when

    rows = [[entry.id, when(entry), status_words(entry), entry.kind, entry.summary] for entry in newest_first(entries)]
    print_table(["ID", "WHEN (UTC)", "STATUS", "KIND", "WHAT"], rows)
    return EXIT_OK


def _show_entry(entry, as_json: bool) -> int:
    """One entry in full: every item (the before-image once recorded) and every lock."""
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write.journal_words import links, status_words, when

    data = entry.to_json(full=True)
    if as_json:
        _write_json(data)
        return EXIT_OK
    print(f"entry {clean(entry.id)}  {clean(entry.kind)}  {status_words(entry)}")
    print(f"repository {clean(entry.repo)}")
    print(f"by {clean(entry.user) or '?'} on {clean(entry.host) or '?'}, pid {entry.pid}, at {when(entry)} UTC")
    print(clean(entry.summary))
    if entry.failed:
        print(f"failed: {clean(entry.failed)}")
    for link, other in links(entry):
        print(f"{link} {clean(other)}")
    if entry.expired:
        print(f"{entry.undo_expired}: {clean(entry.expired)}")
    for item in data["items"]:
        shown = {k: v for k, v in item.items() if not k.endswith("_b64")}
        print("  " + clean(json.dumps(shown, sort_keys=True)))
    for path in data["locks"]:
        print(f"  lock {clean(path)}")
    for path in entry.recovered:
        print(f"  removed later: {clean(path)}")
    return EXIT_OK


def cmd_undo(args: argparse.Namespace) -> int:
    # lazy: the write side loads with the first write (read-only runs never load it)
    from tui.core.write.undo import undo

    journal = _journal_for(args)
    entry = journal.get(args.entry_id)  # an unknown id: exit 2 before anything is asked
    journal.check_writable()
    confirm(f"Undo {clean(entry.id)} ({clean(entry.summary)})?", yes=args.yes, dry_run=False)
    _recover(journal, entry.repo)
    undo_entry = undo(journal, args.entry_id)
    print(f"undone {clean(args.entry_id)}: {clean(undo_entry.summary)}; journal entry {undo_entry.id}")
    return EXIT_OK


# --------------------------------------------------------------------------- output


def _write_json(data) -> None:
    write_json_text(json.dumps(data, indent=2) + "\n")


# --------------------------------------------------------------------------- standalone


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="gitward", description="gitward's write commands")
    parser.add_argument("--read-only", action="store_true", help="refuse every change")
    register(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_standalone(build_parser(), dispatch, argv)


if __name__ == "__main__":
    sys.exit(main())
