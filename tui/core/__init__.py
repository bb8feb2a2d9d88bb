"""gitward's core: reads git hosts and writes with git's protocol. Never imports Textual.

The read side is flat (the modules below); the write side is ``tui.core.write``, the sync side
``tui.core.sync``, replica comparison ``tui.core.compare`` (each package names its own API).
``__all__`` names the read side's public modules; nothing is imported here, so importing one
module of the core never loads the others (the scan path stays fast and pygit2 stays lazy).
"""

__all__ = [
    "config",  # gitward's config file, validated
    "defaults",  # constants --help and the first frame show (no imports)
    "discovery",  # roots to repositories
    "fetch_status",  # the last successful fetch, and a newer failed one
    "fleet",  # many hosts, as Prometheus sees them
    "fsutil",  # small reads a hostile tree cannot hang; atomic replace
    "gitconfig",  # git's config files, parsed
    "gitfile",  # the one reader of .git files (git's rules)
    "gitsync_layout",  # the one git-sync-root test; git-sync's view of a root
    "libgit2",  # pygit2, loaded lazily
    "loose",  # loose refs
    "metrics",  # Prometheus textfile output
    "model",  # the objects: Repo, Ref, Worktree, Problem
    "packed",  # packed-refs
    "paths",  # where config, state and logs live
    "problems",  # problems found in what was read
    "redact",  # credentials out of URLs and text
    "refstore",  # loose + packed: every ref's source and verdict
    "scan",  # a host, in parallel
    "worktree_head",  # a worktree's HEAD, resolved as git does
    "worktrees",  # worktrees exactly as git sees them
]
