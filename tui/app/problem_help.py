"""What each problem code means and what the operator should do, shown under the message.

The message (from the core) says what was found, with names and values; this adds the
standing explanation and the suggested action, so the Overview tab answers "so what?".
"""

from __future__ import annotations

from typing import NamedTuple


class ProblemHelp(NamedTuple):
    meaning: str
    action: str


HELP: dict[str, ProblemHelp] = {
    "stale-loose-ref": ProblemHelp(
        "A loose ref file holds an OLDER value than packed-refs; git reads the loose file, so "
        "clients see an old state (merged changes look open, NoteDB comments vanish).",
        "Do not run git gc / pack-refs / prune here. Drop the stale loose files, keeping the "
        "packed values: gitward shadows prune REPO --keep packed (dry-run first).",
    ),
    "broken-loose-ref": ProblemHelp(
        "A loose ref file cannot be parsed; git does not fall back to packed-refs, so the ref is broken.",
        "Check the packed value, then remove the broken file (gitward shadows prune --keep packed --ref NAME).",
    ),
    "diverged-shadow": ProblemHelp(
        "Loose and packed values are on unrelated histories; git shows the loose one.",
        "Decide by hand which value is right before any git pack-refs or gc.",
    ),
    "missing-object": ProblemHelp(
        "A ref names an object that is not in the object store.",
        "Run git fsck; fetch the object from the source of this copy.",
    ),
    "undecidable-shadow": ProblemHelp(
        "Loose and packed values differ but are not both commits, so age cannot be compared.",
        "Inspect both values (git cat-file -p) and keep the right one.",
    ),
    "loose-ref-backlog": ProblemHelp(
        "Many loose refs make every ref read slower.",
        "git pack-refs --all, but only when no stale-loose shadows remain.",
    ),
    "empty-ref-dirs": ProblemHelp("Empty directories under refs/.", "Harmless; git pack-refs removes them."),
    "stale-lock": ProblemHelp(
        "A lock file older than its grace period: a git process probably died holding it.",
        "Check no git process uses the repository (fuser/lsof), then remove the lock file.",
    ),
    "packed-refs-anomaly": ProblemHelp(
        "packed-refs does not follow git's format; git may refuse it or miss refs.",
        "Compare with git for-each-ref; restore packed-refs from a good copy or rewrite it with git pack-refs on a healthy repo.",
    ),
    "reftable-unsupported": ProblemHelp(
        "gitward reads only the files ref backend.", "Use git for-each-ref and git refs verify."
    ),
    "unreadable": ProblemHelp(
        "gitward could not read part of the repository; its state there is unknown, not broken.",
        "Run as the repositories' owner, or check the volume; rescan with r.",
    ),
    "vanished": ProblemHelp(
        "A path disappeared during the scan (volume blinked, or a repo was moved).", "Rescan with r."
    ),
    "symlink-loop": ProblemHelp("A symlink leads back into an already scanned tree.", "Nothing; it is scanned once."),
    "prunable-worktree": ProblemHelp(
        "git worktree prune would delete this worktree's admin data.",
        "If its directory is only temporarily away (NFS, unmounted volume): git worktree lock --reason ...",
    ),
    "missing-worktree": ProblemHelp(
        "The worktree directory does not exist.",
        "Remount the volume, git worktree repair if it moved, or prune if it is really gone.",
    ),
    "unlisted-worktree": ProblemHelp(
        "An admin directory under worktrees/ that git worktree list skips.", "Inspect it; git worktree prune removes it."
    ),
    "broken-worktree-gitfile": ProblemHelp(
        "The worktree's .git file does not point back to its admin directory.", "git worktree repair in the worktree."
    ),
    "broken-commondir": ProblemHelp("The worktree's commondir file is broken.", "git worktree repair."),
    "broken-head": ProblemHelp("The worktree's HEAD cannot be resolved.", "Check out a valid commit in that worktree."),
    "duplicate-worktree": ProblemHelp(
        "Two admin directories claim the same worktree path.", "Prune the stale one after checking which is live."
    ),
    "link-to-missing-worktree": ProblemHelp(
        "git-sync's link points at a worktree that does not exist: the served content is gone.",
        "Check the volume; let git-sync re-sync; do not delete on an unknown state.",
    ),
    "link-to-unregistered-worktree": ProblemHelp(
        "git-sync's link points at a directory git no longer knows.", "Let git-sync re-sync, then prune."
    ),
    "current-worktree-prunable": ProblemHelp(
        "The worktree being served would be removed by git worktree prune.",
        "git worktree lock --reason 'served by git-sync' until the volume is healthy.",
    ),
    "worktree-path-mismatch": ProblemHelp(
        "The worktree is registered under another path (volume remounted elsewhere?).", "git worktree repair."
    ),
    "stray-worktree-entry": ProblemHelp(
        "An entry under .worktrees/ that git does not know (NFS silly-rename files look like this).",
        "Harmless unless it grows; remove once no process holds it.",
    ),
    "stale-tmp-link": ProblemHelp("A temporary link left by an interrupted git-sync swap.", "Remove it."),
    "multiple-sync-links": ProblemHelp("Several links point into .worktrees/.", "Check which one consumers use."),
    "no-sync-link": ProblemHelp("No git-sync link found at the root.", "Check git-sync's --link setting and its logs."),
}


def help_for(code: str) -> ProblemHelp | None:
    return HELP.get(code)
