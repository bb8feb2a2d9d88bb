"""Prometheus text exposition of a host scan, for node_exporter's textfile collector.

Conventions (https://prometheus.io/docs/practices/naming/): base units (``_seconds``), no
``_total`` on gauges, ``_info``-style build info, no label inside a metric name. Cardinality is
bounded: per-repository series exist only for repositories with findings; every host also gets
totals whose label values are a fixed set (severities, verdicts, worktree states, layouts).

``write_atomically`` is how ``--output`` lands: a temp file in the same directory (its name does
not end in ``.prom``, which the collector would read), fsync, rename. A reader sees the old file
or the new one, never half of one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tui import __version__
from tui.core.fsutil import replacing
from tui.core.model import Layout, RepoReport, Severity, Verdict
from tui.core.scan import HostScan

WORKTREE_STATES = ("linked", "locked", "prunable", "missing")
# The textfile collector runs as its own user (prometheus) and must be able to read the file.
OUTPUT_MODE = 0o644


@dataclass(slots=True)
class Family:
    """One metric: name, HELP, TYPE and its samples (label pairs -> value)."""

    name: str
    help: str
    type: str = "gauge"
    samples: dict[tuple[tuple[str, str], ...], float] = field(default_factory=dict)

    def add(self, value: float, **labels: str) -> None:
        key = _series_key(labels)
        self.samples[key] = self.samples.get(key, 0) + value

    def set(self, value: float, **labels: str) -> None:
        self.samples[_series_key(labels)] = value


def _series_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    # Escaped here, so two raw values that escape alike are one series (``add`` sums them)
    # instead of a duplicate series, which would fail the whole scrape.
    return tuple((name, escape_label_value(str(text))) for name, text in labels.items())


# C0 controls (tab included), DEL, C1 controls, and lone surrogates (undecodable path bytes).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def escape_label_value(text: str) -> str:
    """A label value as the exposition format needs it: backslash, quote and newline escaped
    (the only escapes the format has), and no raw control character ever (they become the
    visible text ``\\xNN``; a path is untrusted text and the file ends up in terminals too)."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return _UNPRINTABLE.sub(lambda m: f"\\\\x{ord(m.group()):02x}", text)


def render(families: Iterable[Family]) -> str:
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.type}")
        for labels, value in sorted(family.samples.items()):
            label_text = ",".join(f'{name}="{text}"' for name, text in labels)
            lines.append(f"{family.name}{{{label_text}}} {_number(value)}" if labels else f"{family.name} {_number(value)}")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


# --- the scan ----------------------------------------------------------------------------------


def scan_families(host: HostScan, *, finished: float) -> list[Family]:
    """The metrics of one successful scan that ended at ``finished`` (epoch seconds)."""
    build = Family("gitward_build_info", "gitward's version; the value is always 1.")
    build.set(1, version=__version__)
    last_success = Family(
        "gitward_scan_last_success_timestamp_seconds",
        "When the last successful scan ended (Unix time). A failed scan leaves the file as it was, so time() minus this grows.",
    )
    last_success.set(round(finished, 3))
    duration = Family("gitward_scan_duration_seconds", "How long the last successful scan took.")
    duration.set(round(host.duration, 3))
    repositories = Family("gitward_repositories", "Repositories found, by layout.")
    for layout in Layout:
        repositories.set(0, layout=layout.value)
    for repo in host.repos:
        repositories.add(1, layout=repo.layout.value)

    host_problems = Family("gitward_host_problems", "Problems on this host (all repositories and roots), by severity.")
    for severity in Severity:
        host_problems.set(0, severity=severity.value)
    problems = Family(
        "gitward_problems",
        "Problems by repository, code and severity; only repositories with findings have series.",
    )
    host_shadows = Family("gitward_host_ref_shadows", "Refs that are both loose and packed on this host, by verdict.")
    for verdict in Verdict:
        host_shadows.set(0, verdict=verdict.value)
    shadows = Family("gitward_ref_shadows", "Refs that are both loose and packed, by repository and verdict (repositories with findings).")
    locks = Family(
        "gitward_lock_file_oldest_age_seconds",
        "Age of the oldest lock file of each kind, by repository (repositories with findings).",
    )
    host_worktrees = Family("gitward_host_worktrees", "Linked worktrees on this host, by state (linked counts all).")
    for state in WORKTREE_STATES:
        host_worktrees.set(0, state=state)
    worktrees = Family("gitward_worktrees", "Linked worktrees by repository and state (repositories with findings).")
    link_change = Family(
        "gitward_gitsync_link_change_timestamp_seconds",
        "When git-sync last swapped the link of this root (Unix time, the link's mtime).",
    )
    stale_worktrees = Family(
        "gitward_gitsync_stale_worktrees",
        "Worktrees of a git-sync root that its link does not point to (git-sync removes them on cleanup).",
    )

    for problem in host.problems:  # about roots, not repositories
        problems.add(1, repo=problem.subject, code=problem.code, severity=problem.severity.value)
        host_problems.add(1, severity=problem.severity.value)
    for repo in host.repos:
        counts = _worktree_counts(repo)
        for state, count in counts.items():
            host_worktrees.add(count, state=state)
        for verdict, count in repo.refs.shadows.items():
            host_shadows.add(count, verdict=verdict)
        if repo.layout is Layout.GIT_SYNC:
            changed = _link_mtime(repo.sync_link)
            if changed is not None:
                link_change.set(round(changed, 3), root=repo.path)
            stale_worktrees.set(sum(1 for w in repo.worktrees if not w.main and not w.current), root=repo.path)
        for problem in repo.problems:
            host_problems.add(1, severity=problem.severity.value)
        if not repo.problems:
            continue
        for problem in repo.problems:
            problems.add(1, repo=repo.path, code=problem.code, severity=problem.severity.value)
        for verdict, count in repo.refs.shadows.items():
            if count:
                shadows.set(count, repo=repo.path, verdict=verdict)
        oldest: dict[str, float] = {}
        for lock in repo.locks:
            oldest[lock.kind] = max(oldest.get(lock.kind, 0.0), lock.age_seconds)
        for kind, age in oldest.items():
            locks.set(round(age, 1), repo=repo.path, kind=kind)
        if counts["linked"]:
            for state, count in counts.items():
                worktrees.set(count, repo=repo.path, state=state)
    return [
        build, last_success, duration, repositories, host_problems, problems, host_shadows, shadows,
        locks, host_worktrees, worktrees, link_change, stale_worktrees,
    ]  # fmt: skip


def _worktree_counts(repo: RepoReport) -> dict[str, int]:
    linked = [w for w in repo.worktrees if not w.main]
    return {
        "linked": len(linked),
        "locked": sum(1 for w in linked if w.locked),
        "prunable": sum(1 for w in linked if w.prunable),
        "missing": sum(1 for w in linked if w.missing),
    }


def _link_mtime(link: str | None) -> float | None:
    # git-sync swaps its link by renaming a new symlink over it: the link's own mtime (lstat,
    # not the target's) is when the content last changed. Unreadable: no sample, not a guess.
    if not link:
        return None
    try:
        return os.lstat(link).st_mtime
    except OSError:
        return None


def render_scan(host: HostScan, *, finished: float, compare: list[Family] | None = None) -> str:
    return render(scan_families(host, finished=finished) + (compare or []))


def scan_failure(host: HostScan) -> str | None:
    """Why this scan must not be published, or None. A root that does not exist or cannot be
    listed is *unknown*, not "no problems": publishing it would resolve every alert."""
    roots = set(host.roots)
    for problem in host.problems:
        if problem.code == "unreadable" and problem.subject in roots:
            return problem.message
    return None


# --- compare (built by ``gitward compare``; wired by its caller) -------------------------------


def compare_families(differences: Mapping[str, Mapping[str, int]], last_runs: Mapping[str, float]) -> list[Family]:
    """``differences``: replica -> difference class -> count; ``last_runs``: replica -> when its
    compare ran (Unix time). Plain mappings, so any compare implementation can feed them."""
    diff = Family("gitward_compare_differences", "Differences a compare found between a replica and its source, by class.")
    for replica, classes in differences.items():
        for klass, count in classes.items():
            diff.set(count, replica=replica, **{"class": klass})
    last = Family("gitward_compare_last_run_timestamp_seconds", "When the last compare of a replica ran (Unix time).")
    for replica, when in last_runs.items():
        last.set(round(when, 3), replica=replica)
    return [diff, last]


# --- output ------------------------------------------------------------------------------------


def write_atomically(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` as the textfile collector needs: never half written, and
    readable by node_exporter's user (OUTPUT_MODE)."""
    with replacing(path, mode=OUTPUT_MODE) as handle:
        handle.write(text.encode("utf-8"))
