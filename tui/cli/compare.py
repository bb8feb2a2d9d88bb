"""The migration rehearsal commands: ``manifest``, ``compare``, ``gc-preview``. All read only.

Exit codes: 0 same (or nothing at risk), 1 differences at or above ``--fail-on`` (or something
gc would throw away), 2 error.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

from tui.cli.common import EXIT_OK, UsageError, clean, open_repo, print_table, short
from tui.core.units import plural

EXIT_DIFFERENCES = 1
COMMANDS = ("manifest", "compare", "gc-preview")


def register(sub) -> None:
    manifest = sub.add_parser("manifest", help="write a versioned JSON Lines description of a host's refs")
    manifest.add_argument("roots", nargs="+", metavar="ROOT")
    manifest.add_argument("-o", "--output", metavar="FILE", help="write FILE atomically (default: stdout)")
    manifest.add_argument("--repo", dest="repo_globs", action="append", metavar="GLOB", help="only repositories whose name matches")

    compare = sub.add_parser("compare", help="compare a replica with its source (never writes)")
    compare.add_argument("source", metavar="SOURCE", help="a directory root, a manifest file, or ssh://[user@]host[:port]/path")
    compare.add_argument("replica", metavar="REPLICA", help="same forms as SOURCE")
    compare.add_argument("--json", action="store_true", help="machine-readable output (schema in README)")
    compare.add_argument("--metrics-output", metavar="FILE",
                         help="also write gitward_compare_* metrics to FILE atomically (node_exporter textfile dir)")
    compare.add_argument("--plan", action="store_true", help="print the commands that would fix the replica (runs nothing)")
    compare.add_argument("--fail-on", default="warning", metavar="CLASS",
                         help="exit 1 only for differences this severe or worse: error, warning, info, or a class name (default: warning)")
    compare.add_argument("--repo", dest="repo_globs", action="append", metavar="GLOB", help="only repositories whose name matches")
    compare.add_argument("--read-only", dest="compare_read_only", action="store_true", help="accepted: compare never writes")

    gc = sub.add_parser("gc-preview", help="what 'git pack-refs --all' / 'git gc' would throw away here")
    gc.add_argument("repo", metavar="REPO")
    gc.add_argument("--json", action="store_true")


def dispatch(args: argparse.Namespace) -> int | None:
    command = getattr(args, "command", None)
    if command == "manifest":
        return cmd_manifest(args)
    if command == "compare":
        return cmd_compare(args)
    if command == "gc-preview":
        return cmd_gc_preview(args)
    return None


# --- manifest --------------------------------------------------------------------------------------


def cmd_manifest(args: argparse.Namespace) -> int:
    from tui.core.compare.manifest import write_manifest, write_manifest_file

    missing = [r for r in args.roots if not os.path.isdir(r)]
    if missing:
        raise UsageError(f"{missing[0]}: no such directory")
    if args.output:
        count = write_manifest_file(args.output, args.roots, repo_globs=args.repo_globs)
        print(f"{plural(count, 'repository', 'repositories')} written to {clean(args.output)}", file=sys.stderr)
    else:
        write_manifest(args.roots, sys.stdout, repo_globs=args.repo_globs)
        sys.stdout.flush()
    return EXIT_OK


# --- compare ---------------------------------------------------------------------------------------


def cmd_compare(args: argparse.Namespace) -> int:
    from tui.core.compare.diff import compare, threshold
    from tui.core.compare.sides import SideError, open_side

    try:
        at_least = threshold(args.fail_on)
    except ValueError:
        raise UsageError(f"--fail-on {args.fail_on}: not a severity (error, warning, info) nor a class") from None
    if not (args.json or args.plan) and sys.stdin.isatty() and sys.stdout.isatty():
        return _compare_in_console(args)
    sides = []
    try:
        for spec in (args.source, args.replica):
            sides.append(open_side(spec, args.repo_globs))
        result = compare(sides[0], sides[1], repo_globs=args.repo_globs)
    except SideError as exc:
        raise UsageError(str(exc)) from None
    finally:
        for side in sides:
            side.close()
    if args.metrics_output and not result.cancelled:
        _write_compare_metrics(args.metrics_output, args.replica, result)
    if args.json:
        sys.stdout.write(json.dumps(result.to_json(), separators=(",", ":")) + "\n")
    else:
        print_comparison(result)
    if args.plan:
        print_plan(result, args.source, args.replica, sides)
    return EXIT_DIFFERENCES if result.fails(at_least) else EXIT_OK


def _write_compare_metrics(path: str, replica: str, result) -> None:
    """The comparison as textfile metrics: differences by class (every class, zeros included, so
    an alert can tell "fixed" from "not reported") and when this replica was compared."""
    from tui.core import metrics
    from tui.core.compare.diff import Kind

    counts = result.counts()
    text = metrics.render(metrics.compare_families({replica: {k.value: counts.get(k.value, 0) for k in Kind}},
                                                  {replica: result.started + result.duration}))
    try:
        metrics.write_atomically(path, text)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the metrics: {exc.strerror or exc}") from exc


def _compare_in_console(args: argparse.Namespace) -> int:
    """In a terminal, the comparison opens in the console (read only, like the command)."""
    from tui.app.app import run_console  # Textual is imported only when a screen is drawn

    for spec in (args.source, args.replica):
        if "://" not in spec and not os.path.exists(spec):
            raise UsageError(f"{spec}: no such directory or manifest")
    roots = [args.replica] if os.path.isdir(args.replica) else []
    return run_console(roots, read_only=True, compare=(args.source, args.replica, args.repo_globs))


def print_comparison(result) -> None:
    rows = []
    for repo in result.sorted_repos():
        worst = repo.worst
        counts = ", ".join(f"{count} {kind}" for kind, count in repo.counts().items())
        state = "same" if not repo.findings else f"{worst.severity.symbol} {worst.value}"
        rows.append([repo.name, state, counts or ("refs identical (checksum)" if repo.same_refs else "-")])
    print(f"compare {clean(result.source)} (source) with {clean(result.replica)} (replica)")
    print_table(["REPO", "WORST", "COUNTS"], rows)
    details = [(repo, f) for repo in result.sorted_repos() for f in sorted(repo.findings, key=lambda f: (f.kind.rank, f.subject))]
    if details:
        print()
    for repo, finding in details:
        values = ""
        if finding.source_value or finding.replica_value or finding.source_storage or finding.replica_storage:
            values = (f" source {short(finding.source_value) if finding.source_value and len(finding.source_value) >= 40 else finding.source_value or '-'}"
                      f" ({finding.source_storage or '-'}), replica "
                      f"{short(finding.replica_value) if finding.replica_value and len(finding.replica_value) >= 40 else finding.replica_value or '-'}"
                      f" ({finding.replica_storage or '-'})")
        subject = f" {finding.subject}" if finding.subject else ""
        print(clean(f"{finding.kind.severity.symbol} {repo.name}: [{finding.kind.value}]{subject}{values}"
                    + (f": {finding.detail}" if finding.detail else "")).replace("\n", " "))
    for repo in result.sorted_repos():
        preview = repo.gc_preview
        if preview and preview["lost_refs"]:
            print(clean(f"! {repo.name}: 'git gc' on the replica now would throw away "
                        f"{plural(len(preview['lost_refs']), 'packed value')}; {plural(preview['unreachable_count'], 'commit')} "
                        f"would then be reachable from nothing ({preview['reflog_only_count']} more only from reflogs). "
                        "Fix the shadows first."))
    moving = result.moving
    reread = "the source was read again at the end" if result.source_reread else "the source could not be read again (a manifest)"
    print(f"\n{plural(len(result.repos), 'repository', 'repositories')} compared in {result.duration:.2f} s; {reread}"
          + (f"; {plural(moving, 'ref')} moved during the run: re-run" if moving else ""))


def print_plan(result, source_spec: str, replica_spec: str, sides) -> None:
    """What to run, with real paths. Printed only: nothing here is ever executed."""
    from tui.core.compare.diff import Kind

    q = shlex.quote
    out = ["", "# Plan (printed, not run). Review each command; preview with --dry-run first."]
    copy_from = _rsync_source(source_spec, sides[0])
    copy_to = _rsync_target(replica_spec)
    if copy_from and copy_to:
        out.append("# What a copy with --delete would change (dry run):")
        out.append(f"rsync --archive --delete --dry-run --itemize-changes {q(copy_from)} {q(copy_to)}")
    for repo in result.sorted_repos():
        target = repo.replica_git_dir if repo.replica_local else None
        shown = target or f"REPLICA/{repo.name}"
        stale = [f.subject for f in repo.of_kind(Kind.REPLICA_STALE_LOOSE)]
        leftover = [f.subject for f in repo.of_kind(Kind.LOOSE_ONLY_ON_REPLICA) if f.replica_storage == "both"]
        names = stale + leftover
        if names:
            out.append(f"# {repo.name}: loose files hide or shadow the packed values the source has; keep packed-refs:")
            out.append(f"gitward shadows prune {q(shown)} --keep packed --ref {' '.join(q(n) for n in names)} --yes")
            if stale:
                out.append(f"#   and before any gc there: gitward gc-preview {q(shown)}")
        fetched = [f for f in repo.of_kind(Kind.REPLICA_BEHIND, Kind.MISSING_ON_REPLICA) if f.subject != "HEAD"]
        if fetched:
            source_repo = repo.source_path or f"SOURCE/{repo.name}"
            refspecs = " ".join(q(f"{f.subject}:{f.subject}") for f in fetched)
            out.append(f"# {repo.name}: the replica is behind; fetch from the source:")
            out.append(f"git -C {q(shown)} fetch {q(source_repo)} {refspecs}")
        # Loose files the source does not have, holding the source's value (or about to, after the
        # fetch): packing makes the storage match. Only once no stale loose file is left.
        loose_only = [f for f in repo.of_kind(Kind.LOOSE_ONLY_ON_REPLICA) if f.replica_storage == "loose"]
        if loose_only or any(f.source_storage == "packed" for f in fetched):
            out.append(f"# {repo.name}: then pack the replica's loose refs as the source's are "
                       f"(after the steps above; 'gitward gc-preview {q(shown)}' must show nothing at risk):")
            out.append(f"git -C {q(shown)} pack-refs --all")
        for finding in repo.of_kind(Kind.DIVERGED, Kind.REPLICA_AHEAD, Kind.UNKNOWN, Kind.SYMREF_DIFFERS):
            out.append(f"# {repo.name}: check by hand ({finding.kind.value}) {finding.subject}: "
                       f"git -C {q(shown)} log --oneline -3 {finding.replica_value or ''}; "
                       f"on the source: {finding.source_value or '-'}")
        for finding in repo.of_kind(Kind.EXTRA_ON_REPLICA):
            out.append(f"# {repo.name}: {finding.subject} exists only on the replica; if the source deleted it: "
                       f"git -C {q(shown)} update-ref -d {q(finding.subject)}")
        for finding in repo.of_kind(Kind.TEMP_FILE):
            out.append(f"# {repo.name}: {finding.subject} was copied mid-write; when no git runs there: "
                       f"gitward locks clear {q(shown)} {q(finding.subject)}")
        for finding in repo.of_kind(Kind.MISSING_OBJECT):
            out.append(f"# {repo.name}: {finding.subject} names a missing object; copy objects again, then: git -C {q(shown)} fsck")
        for finding in repo.of_kind(Kind.CONFIG_DIFFERS, Kind.HOOK_DIFFERS, Kind.ALTERNATE_MISSING, Kind.WORKTREE_PATH_MISSING):
            out.append(f"# {repo.name}: check by hand ({finding.kind.value}) {finding.subject}")
        if repo.of_kind(Kind.REPO_ONLY_ON_SOURCE):
            out.append(f"# {repo.name}: not on the replica; the rsync line above copies it")
    for line in out:
        print(clean(line))


def _rsync_source(spec: str, side) -> str | None:
    if spec.startswith("ssh://"):
        url = side.url
        return f"{url.destination}:{url.path.rstrip('/')}/"
    if os.path.isdir(spec):
        return os.path.abspath(spec).rstrip("/") + "/"
    roots = getattr(side, "roots", [])
    host = getattr(side, "host", None)
    if len(roots) == 1:
        return f"{host}:{roots[0].rstrip('/')}/" if host else roots[0].rstrip("/") + "/"
    return None


def _rsync_target(spec: str) -> str | None:
    if os.path.isdir(spec):
        return os.path.abspath(spec).rstrip("/") + "/"
    return None


# --- gc-preview ------------------------------------------------------------------------------------


def cmd_gc_preview(args: argparse.Namespace) -> int:
    from tui.core.compare.gcpreview import gc_preview
    from tui.core.refstore import RefsUnavailable

    candidate = open_repo(args.repo)
    try:
        preview = gc_preview(candidate.git_dir)
    except RefsUnavailable as exc:
        raise UsageError(f"{args.repo}: {exc}") from None
    if args.json:
        sys.stdout.write(json.dumps(preview.to_json(), separators=(",", ":")) + "\n")
        return EXIT_DIFFERENCES if preview.harmful or not preview.complete else EXIT_OK
    if not preview.lost_refs:
        print("git pack-refs --all would throw no packed value away here.")
        return EXIT_OK
    print(f"git pack-refs --all (and git gc) would replace {plural(len(preview.lost_refs), 'packed value')} with the loose one:")
    print_table(
        ["REF", "KEPT (LOOSE)", "THROWN AWAY (PACKED)", "VERDICT"],
        [[r.name, short(r.loose_value), short(r.packed_value), r.verdict.value if r.verdict else "-"] for r in preview.lost_refs],
        indent="  ",
    )
    if not preview.complete:
        print(f"commits at risk: unknown ({clean(preview.note)})")
        return EXIT_DIFFERENCES
    print(f"\n{plural(preview.unreachable_count, 'commit')} then reachable from no ref, HEAD or reflog "
          "(git prune deletes them once older than gc.pruneExpire):")
    for commit in preview.unreachable:
        print(f"  {commit}")
    if preview.reflog_only_count:
        print(f"{plural(preview.reflog_only_count, 'more commit')} kept only by reflog entries "
              "(lost when 'git reflog expire' drops them, gc.reflogExpireUnreachable):")
        for commit in preview.reflog_only:
            print(f"  {commit}")
    if not preview.harmful:
        print("Nothing at risk: every value thrown away is older than the loose one that stays.")
        return EXIT_OK
    print("\nDo NOT run git gc or git pack-refs here before fixing the shadows "
          f"(gitward shadows prune {shlex.quote(args.repo)} --keep packed).")
    return EXIT_DIFFERENCES

