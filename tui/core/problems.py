"""Problems: what a scan means for the operator, in words that say what to do."""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import humanize

from tui.core.fsutil import NOT_REGULAR
from tui.core.loose import LooseWalk
from tui.core.model import LockFile, Problem, Severity, Verdict
from tui.core.verdicts import severity as verdict_severity
from tui.core.packed import Anomaly, PackedRefs
from tui.core.refstore import RefSnapshot

# Grace periods from GitLab's (Gitaly's) housekeeping: past these, nobody holds the lock.
LOCK_GRACE_SECONDS = {
    "packed-refs.lock": 3600.0,
    "packed-refs.new": 15 * 60.0,
    "HEAD.lock": 15 * 60.0,
    "config.lock": 15 * 60.0,
    "ref": 3600.0,
    "index.lock": 3600.0,
    "shallow.lock": 3600.0,
}

# Files at the top of a git dir that git creates as locks or leftovers.
TOP_LEVEL_LOCKS = ("packed-refs.lock", "packed-refs.new", "HEAD.lock", "config.lock", "index.lock", "shallow.lock")

_EXAMPLES = 3  # ref names quoted in an aggregated problem

# Anomalies where git refuses the whole file: every git command in the repo fails.
_FATAL_ANOMALY_WORDS = ("git refuses", "cannot read", "not a regular file")


def collect_locks(
    git_dir: str,
    loose: LooseWalk,
    now: float,
    worktree_dirs: dict[str, str],
    git_dir_names: list[str] | None = None,
) -> list[LockFile]:
    """Lock and leftover files with their ages. ``worktree_dirs``: id -> admin dir.

    ``git_dir_names``: ``list_names(git_dir)`` when the caller already listed it.
    """
    locks: list[LockFile] = []
    if git_dir_names is None:
        git_dir_names = list_names(git_dir) or []
    for name in _present(git_dir_names, TOP_LEVEL_LOCKS):
        mtime = _mtime(f"{git_dir}/{name}")
        if mtime is not None:
            locks.append(LockFile(name, name, max(0.0, now - mtime), LOCK_GRACE_SECONDS[name]))
    for path, mtime in loose.lock_files:
        locks.append(LockFile(path, "ref", max(0.0, now - mtime), LOCK_GRACE_SECONDS["ref"]))
    for worktree_id, admin_dir in worktree_dirs.items():
        for name in _present(list_names(admin_dir) or [], ("index.lock", "HEAD.lock")):
            mtime = _mtime(f"{admin_dir}/{name}")
            if mtime is not None:
                rel = f"worktrees/{worktree_id}/{name}"
                locks.append(LockFile(rel, name, max(0.0, now - mtime), LOCK_GRACE_SECONDS[name], worktree_id))
    return locks


def list_names(directory: str) -> list[str] | None:
    """The entries of ``directory`` (None: it cannot be listed)."""
    try:
        return os.listdir(directory)
    except OSError:
        return None


def _present(names_in_dir: list[str], names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` exist: one directory read instead of a stat each."""
    return [name for name in names_in_dir if name in names]


def _mtime(path: str) -> float | None:
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return None


def lock_problems(locks: list[LockFile]) -> list[Problem]:
    problems = []
    for lock in locks:
        if not lock.stale:
            continue
        age = humanize.naturaldelta(lock.age_seconds)
        grace = _duration(lock.grace_seconds)
        problems.append(
            Problem(
                "stale-lock",
                Severity.WARNING,
                f"{lock.path} is {age} old, past the {grace} grace period: {_lock_effect(lock)} "
                "If no git process is running on this repository (check with fuser/lsof), "
                "remove it.",
                lock.path,
            )
        )
    return problems


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 60)} min"


def _lock_effect(lock: LockFile) -> str:
    return {
        "packed-refs.lock": "every ref deletion, 'git pack-refs' and 'git gc' fail until it is gone.",
        "packed-refs.new": "left behind by an interrupted 'git pack-refs'; writers refuse to run.",
        "HEAD.lock": "HEAD cannot be updated.",
        "config.lock": "'git config' writes fail.",
        "index.lock": "commands that update the index fail.",
        "shallow.lock": "fetches into this shallow repository fail.",
    }.get(lock.kind, "updates of this ref fail ('cannot lock ref').")


def packed_refs_problems(packed: PackedRefs, limit: int = 20) -> list[Problem]:
    problems = []
    for anomaly in packed.anomalies[:limit]:
        kind = _special_kind(anomaly)
        if kind is not None:
            problems.append(special_file_problem("packed-refs", kind, "packed refs"))
            continue
        problems.append(
            Problem(
                "packed-refs-anomaly",
                _anomaly_severity(anomaly),
                f"packed-refs {anomaly}",
                "packed-refs",
            )
        )
    extra = len(packed.anomalies) - limit
    if extra > 0:
        problems.append(
            Problem("packed-refs-anomaly", Severity.WARNING, f"packed-refs: {extra} more anomalies not listed", "packed-refs")
        )
    return problems


def _special_kind(anomaly: Anomaly) -> str | None:
    """What packed-refs is, when the anomaly says it is no regular file (``fsutil.SpecialFile``)."""
    text = anomaly.message
    prefix, suffix = "packed-refs is ", f", {NOT_REGULAR}"
    if anomaly.line == 0 and text.startswith(prefix) and text.endswith(suffix):
        return text[len(prefix) : -len(suffix)]
    return None


def _anomaly_severity(anomaly: Anomaly) -> Severity:
    text = anomaly.message
    if any(word in text for word in _FATAL_ANOMALY_WORDS) or "false 'sorted'" in text or "duplicate" in text:
        return Severity.ERROR
    if text.startswith("missing header"):
        return Severity.INFO
    return Severity.WARNING


class _ShadowProblem(NamedTuple):
    verdict: Verdict
    code: str
    severity: Severity
    counted: str  # what {count} counts: "3 refs", "1 loose ref file"
    # str.format fields: count, examples, first (the first name), loose_value, packed_value,
    # broken_reason (the values and the reason are the first name's).
    message: str


def _severity(verdict: Verdict) -> Severity:
    """A harmful verdict's severity, as every view shows it (tui/core/verdicts.py)."""
    level = verdict_severity(verdict)
    assert level is not None, verdict  # only harmful verdicts become problems
    return level


# One aggregated problem per harmful verdict, in the order they are reported.
_SHADOW_PROBLEMS = (
    _ShadowProblem(
        Verdict.STALE_LOOSE,
        "stale-loose-ref",
        _severity(Verdict.STALE_LOOSE),
        "ref",
        "{count} shadowed by an OLDER loose file ({examples}): "
        "e.g. {first} shows {loose_value} while packed-refs holds the "
        "newer {packed_value}. This is what a copy without --delete leaves after "
        "the source packed its refs. Do NOT run 'git gc' or 'git pack-refs' here: they fold "
        "the stale values into packed-refs and throw the newer ones away, and 'git prune' "
        "may then delete the newer commits (see 'gitward gc-preview REPO'). Fix: 'gitward shadows prune REPO --keep packed'.",
    ),
    _ShadowProblem(
        Verdict.BROKEN_LOOSE,
        "broken-loose-ref",
        _severity(Verdict.BROKEN_LOOSE),
        "loose ref file",
        "{count} cannot be parsed and hide their packed value "
        "({examples}): {first}: {broken_reason}; git does not fall "
        "back to packed-refs ({packed_value}), so the ref is broken. Fix: "
        "'gitward shadows prune REPO --keep packed --ref NAME' after checking the value.",
    ),
    _ShadowProblem(
        Verdict.DIVERGED,
        "diverged-shadow",
        _severity(Verdict.DIVERGED),
        "ref",
        "{count} loose and packed on unrelated histories "
        "({examples}); git shows the loose value. Decide by hand which one is "
        "right before any 'git pack-refs'.",
    ),
    _ShadowProblem(
        Verdict.MISSING_OBJECT,
        "missing-object",
        _severity(Verdict.MISSING_OBJECT),
        "shadowed ref",
        "{count} name an object that is not in the object store "
        "({examples}); run 'git fsck' and look for the object in the source "
        "of this copy.",
    ),
    _ShadowProblem(
        Verdict.UNDECIDABLE,
        "undecidable-shadow",
        _severity(Verdict.UNDECIDABLE),
        "ref",
        "{count} loose and packed with different non-commit values "
        "({examples}); gitward cannot tell which is newer.",
    ),
)


def special_file_problem(path: str, kind: str, what: str) -> Problem:
    """``path`` (where git keeps ``what``) is ``kind``: a FIFO, a device, a socket, a directory."""
    return Problem(
        "special-file",
        Severity.ERROR,
        f"{path} is {kind} where git keeps {what}: {_special_effect(kind)}; gitward did not read "
        "it. git never creates such a file: find out who put it there before removing it.",
        path,
    )


def _special_effect(kind: str) -> str:
    if "FIFO" in kind:
        return "git commands that read it block forever"
    if "device" in kind:
        return "git commands that read it may block or read without end"
    return "git cannot read it as a file"


def special_file_problems(snapshot: RefSnapshot, limit: int = 20) -> list[Problem]:
    """HEAD and loose ref paths that are not regular files (never read, so never a value)."""
    found = [(name, ref.special) for name, ref in sorted(snapshot.loose.refs.items()) if ref.special]
    if snapshot.head is not None and snapshot.head.special:
        found.insert(0, ("HEAD", snapshot.head.special))
    problems = [special_file_problem(name, kind, "HEAD" if name == "HEAD" else "a loose ref") for name, kind in found[:limit]]
    if len(found) > limit:
        problems.append(
            Problem(
                "special-file",
                Severity.ERROR,
                f"{len(found) - limit} more loose refs are not regular files (not listed)",
                found[limit][0],
            )
        )
    return problems


def shadow_problems(snapshot: RefSnapshot) -> list[Problem]:
    """One aggregated problem per kind of harmful shadow (special files: ``special_file_problems``)."""
    by_verdict: dict[Verdict, list[str]] = {}
    loose = snapshot.loose.refs
    for name, verdict in sorted(snapshot.verdicts.items()):
        if verdict is Verdict.BROKEN_LOOSE and loose[name].special:
            continue
        by_verdict.setdefault(verdict, []).append(name)
    problems = []
    for spec in _SHADOW_PROBLEMS:
        names = by_verdict.get(spec.verdict)
        if not names:
            continue
        first = names[0]
        loose = snapshot.loose.refs.get(first)
        message = spec.message.format(
            count=_count(names, spec.counted),
            examples=_examples(names),
            first=first,
            loose_value=_short(loose.value if loose else None),
            packed_value=_short(snapshot.packed.get(first)),
            broken_reason=loose.broken_reason if loose else None,
        )
        problems.append(Problem(spec.code, spec.severity, message, first))
    return problems


def broken_loose_problems(snapshot: RefSnapshot) -> list[Problem]:
    """Broken loose files that shadow nothing (broken-loose shadows are reported above)."""
    packed = snapshot.packed
    broken = sorted(
        name
        for name, ref in snapshot.loose.refs.items()
        if ref.broken_reason and not ref.special and name not in packed
    )
    if not broken:
        return []
    first = broken[0]
    return [
        Problem(
            "broken-loose-ref",
            Severity.ERROR,
            f"{_count(broken, 'loose ref file')} cannot be parsed ({_examples(broken)}): {first}: "
            f"{snapshot.loose.refs[first].broken_reason}; git reports these refs as broken.",
            first,
        )
    ]


def loose_backlog_threshold(packed_count: int) -> int:
    # Gitaly's heuristic: the allowed loose refs grow logarithmically with packed refs.
    if packed_count <= 1:
        return 16
    return max(16, int(math.log(packed_count) / math.log(1.15)))


def backlog_problems(loose_count: int, packed_count: int, empty_dirs: list[str]) -> list[Problem]:
    problems = []
    threshold = loose_backlog_threshold(packed_count)
    if loose_count > threshold:
        problems.append(
            Problem(
                "loose-ref-backlog",
                Severity.INFO,
                f"{loose_count} loose refs (threshold {threshold} for {packed_count} packed): "
                "reads get slower; 'git pack-refs --all' would help, but only once no "
                "stale-loose shadows remain.",
            )
        )
    # git init/clone leave refs/heads and refs/tags empty: only deeper dirs are leftovers.
    empty_dirs = [d for d in empty_dirs if d.count("/") >= 2]
    if empty_dirs:
        problems.append(
            Problem(
                "empty-ref-dirs",
                Severity.INFO,
                f"{_count(empty_dirs, 'empty ref directory', 'empty ref directories')} "
                f"({_examples(empty_dirs)}); leftovers of deleted refs. git ignores them (they "
                "do not hide packed refs); remove them with 'find refs -type d -empty -delete' "
                "if they get in the way.",
                empty_dirs[0],
            )
        )
    return problems


def _short(value: str | None) -> str:
    return value[:12] if value else "(none)"


def _count(items: list, singular: str, plural: str | None = None) -> str:
    if len(items) == 1:
        return f"1 {singular}"
    return f"{len(items)} {plural or singular + 's'}"


def _examples(names: list[str]) -> str:
    shown = ", ".join(names[:_EXAMPLES])
    more = len(names) - _EXAMPLES
    return f"{shown}, and {more} more" if more > 0 else shown
