"""Plan a sync: which repository, which remote, which host, and what to confirm first.

On a git host "sync" means: bring this repository up to date with its upstream now, and show
what happens while it happens. Mirrors (``remote.<name>.mirror`` or ``+refs/*:refs/*``) and
ordinary clones get ``git fetch --prune --progress <remote>`` with their own refspecs
(``fetch_remote``); git-sync roots get git-sync's whole update (``tui.core.sync.gitsync``). The
job machinery (queue, states, listeners) is in ``tui.core.sync.jobs``; running git is
``tui.core.sync.git``. This module holds:

- ``plan_sync(request)``: what will run, against which remote and host; cheap file reads, raises
  ``SyncError`` for input that cannot be synced (not a repository, no such remote).
- ``preflight(plan)``: warnings the operator must confirm first (stale-loose shadows: the fetch
  overwrites the evidence of the migration incident).
- git-sync's defaults: the ``--link`` name (``default_link_name``) and the tracked ref
  (``tracked_ref``), as git-sync itself chooses them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from tui.core.discovery import Candidate, NotARepository, repository_at
from tui.core.fsutil import read_bytes
from tui.core.gitconfig import GitConfig, read_config, repo_settings
from tui.core.gitsync_layout import find_link
from tui.core.model import Layout
from tui.core.redact import redact_url
from tui.core.sync.git import GitRunner, RefChange, SyncError, diff_refs, read_refs

__all__ = [
    "DEFAULT_REMOTE", "DEFAULT_TIMEOUT_SECONDS", "PreflightWarning", "SyncKind", "SyncPlan", "SyncRequest",
    "default_link_name", "fetch_remote", "host_key", "plan_sync", "preflight", "tracked_ref",
]

DEFAULT_REMOTE = "origin"
DEFAULT_TIMEOUT_SECONDS = 300.0
LOCAL_HOST = "local"  # host key for file:// URLs and paths


# --------------------------------------------------------------------------- request and plan


class SyncKind(StrEnum):
    MIRROR = "mirror"  # remote.<name>.mirror or a +refs/*:refs/* refspec
    CLONE = "clone"  # an ordinary remote with its own refspecs
    GIT_SYNC = "git-sync"  # a git-sync root: fetch, worktree, link swap, cleanup


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """What the operator asked for. Only ``path`` is required."""

    path: str  # the repository: work tree, bare git dir, or git-sync root
    remote: str | None = None  # default: origin, else the only remote
    timeout: float | None = None  # seconds for the whole sync; default from the config
    force: bool = False  # the operator confirmed the preflight warnings
    # git-sync roots only:
    ref: str | None = None  # what to track; default: what the last fetch fetched, else HEAD
    link: str | None = None  # the --link (relative to the root or absolute); default: the one there
    url: str | None = None  # the upstream, to initialise an empty root (git-sync's --repo)
    hooks: bool = False  # run the repository's hooks (off by default: see NO_HOOKS)


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """A request resolved against the repository on disk."""

    request: SyncRequest
    path: str  # absolute
    git_dir: str
    name: str  # for display: the path as given, or the repo's name
    kind: SyncKind
    remote: str
    url: str  # redacted
    host: str  # the remote host (for the per-host limit); "local" for paths and file://
    repo_key: str  # one per repository: real path of its git dir
    timeout: float
    ref: str | None = None  # git-sync: the tracked ref
    link: str | None = None  # git-sync: absolute path of the link
    initialise: bool = False  # git-sync: the root is empty and will be `git init`ed
    began: float | None = None  # time.monotonic() when the sync began (None: when its job starts)

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "name": self.name,
            "kind": self.kind.value,
            "remote": self.remote,
            "url": self.url,
            "host": self.host,
            "timeout": self.timeout,
            "ref": self.ref,
            "link": self.link,
        }


def plan_sync(request: SyncRequest, *, default_timeout: float = DEFAULT_TIMEOUT_SECONDS) -> SyncPlan:
    """Resolve a request: which repository, which remote, which host. Reads files, runs nothing."""
    path = os.path.abspath(request.path)
    timeout = request.timeout if request.timeout is not None else default_timeout
    if not timeout > 0:
        raise SyncError(f"timeout must be a positive number of seconds, got {timeout}")
    if request.url is not None and _is_empty_or_absent(path):
        return _plan_new_git_sync_root(request, path, timeout)
    candidate = _candidate(path, request.path)
    config, error = read_config(os.path.join(candidate.git_dir, "config"))
    if error:
        raise SyncError(f"{request.path}: {error}")
    remote = _choose_remote(config, request.remote, request.path)
    raw_url = config.get("remote", remote, "url") or ""
    if candidate.layout is Layout.GIT_SYNC:  # tui.core.gitsync_layout.is_git_sync_root, via discovery
        return _plan_git_sync(request, candidate, config, remote, raw_url, timeout)
    if request.ref or request.link or request.url:
        raise SyncError(f"{request.path}: --ref, --link and --url apply to git-sync roots only")
    kind = SyncKind.MIRROR if _is_mirror(config, remote) else SyncKind.CLONE
    return SyncPlan(
        request=request,
        path=candidate.path,
        git_dir=candidate.git_dir,
        name=request.path,
        kind=kind,
        remote=remote,
        url=redact_url(raw_url),
        host=host_key(raw_url),
        repo_key=os.path.realpath(candidate.git_dir),
        timeout=timeout,
    )


def _candidate(path: str, shown: str) -> Candidate:
    try:
        return repository_at(path, shown)
    except NotARepository as exc:
        raise SyncError(str(exc)) from None


def _is_empty_or_absent(path: str) -> bool:
    try:
        return not os.listdir(path)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise SyncError(f"{path}: {exc.strerror or exc}") from None


def _choose_remote(config: GitConfig, wanted: str | None, shown: str) -> str:
    names = [n for n in config.subsections("remote") if config.get("remote", n, "url")]
    if wanted is not None:
        if wanted not in names:
            known = ", ".join(names) or "none"
            raise SyncError(f"{shown}: no remote named {wanted!r} with a url (remotes: {known})")
        return wanted
    if DEFAULT_REMOTE in names:
        return DEFAULT_REMOTE
    if len(names) == 1:
        return names[0]
    if not names:
        raise SyncError(f"{shown}: nothing to sync from: no remote is configured")
    raise SyncError(f"{shown}: no 'origin' remote; choose one of {', '.join(names)} (--remote NAME)")


def _is_mirror(config: GitConfig, remote: str) -> bool:
    if config.get_bool("remote", remote, "mirror", default=False):
        return True
    return any(spec.lstrip("+") == "refs/*:refs/*" for spec in config.get_all("remote", remote, "fetch"))


def _plan_git_sync(
    request: SyncRequest, candidate: Candidate, config: GitConfig, remote: str, raw_url: str, timeout: float
) -> SyncPlan:
    root = candidate.path
    if request.url is not None and request.url != raw_url:
        raise SyncError(
            f"{request.path}: its {remote} is {redact_url(raw_url)}, not {redact_url(request.url)}; "
            "gitward does not repoint an existing root"
        )
    link = request.link
    if link is None:
        link = find_link(root) or default_link_name(raw_url)
    return SyncPlan(
        request=request,
        path=root,
        git_dir=candidate.git_dir,
        name=request.path,
        kind=SyncKind.GIT_SYNC,
        remote=remote,
        url=redact_url(raw_url),
        host=host_key(raw_url),
        repo_key=os.path.realpath(candidate.git_dir),
        timeout=timeout,
        ref=request.ref or tracked_ref(candidate.git_dir),
        link=os.path.normpath(os.path.join(root, link)),
    )


def _plan_new_git_sync_root(request: SyncRequest, path: str, timeout: float) -> SyncPlan:
    url = request.url or ""
    link = request.link or default_link_name(url)
    return SyncPlan(
        request=request,
        path=path,
        git_dir=os.path.join(path, ".git"),
        name=request.path,
        kind=SyncKind.GIT_SYNC,
        remote=request.remote or DEFAULT_REMOTE,
        url=redact_url(url),
        host=host_key(url),
        repo_key=os.path.join(os.path.realpath(path), ".git"),
        timeout=timeout,
        ref=request.ref or "HEAD",
        link=os.path.normpath(os.path.join(path, link)),
        initialise=True,
    )


_SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?(\[[^\]]+\]|[^:/]+):(?!//)")


def host_key(url: str) -> str:
    """The server a URL talks to, for the per-host limit: ``git.example.com``; ``local`` for
    paths and ``file://``. ``url.<base>.insteadOf`` rewrites are not applied."""
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme == "file":
            return LOCAL_HOST
        return (parts.hostname or parts.netloc or url).lower()
    match = _SCP_LIKE.match(url)
    if match and not url.startswith(("/", ".")):
        return match.group(1).strip("[]").lower()
    return LOCAL_HOST


# --------------------------------------------------------------------------- git-sync's defaults


def default_link_name(url: str) -> str:
    """git-sync's default ``--link``: the last ``/``-separated element of the repository URL,
    exactly as git-sync takes it (``up.git`` stays ``up.git``), so that gitward and git-sync
    serve one link on a root they take turns on."""
    leaf = url.strip("/").rsplit("/", 1)[-1]
    return leaf if leaf and leaf not in (".", "..") else "current"


_FETCH_HEAD_DESCRIPTION = re.compile(r"^(?:(branch|tag) )?'(.+)' of ")


def tracked_ref(git_dir: str) -> str:
    """What the last fetch fetched, from FETCH_HEAD (git-sync fetches exactly its ``--ref``).

    ``branch 'main' of URL`` -> ``refs/heads/main``; ``tag 'v1' of URL`` -> ``refs/tags/v1``;
    ``'refs/x' of URL`` -> ``refs/x``; a bare ``URL`` (HEAD was fetched) or no FETCH_HEAD -> HEAD.
    """
    try:
        first = read_bytes(os.path.join(git_dir, "FETCH_HEAD"), 4096).split(b"\n", 1)[0].decode("utf-8", "replace")
    except OSError:
        return "HEAD"
    fields = first.rstrip("\n").split("\t")
    if len(fields) < 3:
        return "HEAD"
    match = _FETCH_HEAD_DESCRIPTION.match(fields[2])
    if match is None:
        return "HEAD"
    kind, name = match.groups()
    if kind == "branch":
        return f"refs/heads/{name}"
    if kind == "tag":
        return f"refs/tags/{name}"
    return name


# --------------------------------------------------------------------------- preflight


@dataclass(frozen=True, slots=True)
class PreflightWarning:
    code: str
    message: str
    refs: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"code": self.code, "message": self.message, "refs": list(self.refs)}


# Shadow verdicts whose loose file is evidence a fetch would overwrite, in report order.
_EVIDENCE_VERDICTS = ("stale-loose", "diverged")


def preflight(plan: SyncPlan) -> list[PreflightWarning]:
    """What the operator must confirm before this sync runs (empty: nothing).

    Stale-loose shadows (incident 1): the fetch rewrites those refs, so the loose files that show
    what the replica looked like are gone afterwards. Record them first (``gitward refs REPO
    --shadowed``), or resolve them (``gitward shadows prune``). Diverged shadows likewise.
    """
    if plan.initialise:
        return []
    # Deferred: the ref store (and pygit2 behind its verdicts) only when a preflight runs, not
    # for every importer of the sync package (`gitward sync --help`, the console's start-up).
    from tui.core.refstore import iter_refs, judge_shadows, read_snapshot

    config, _ = read_config(os.path.join(plan.git_dir, "config"))
    settings = repo_settings(config)
    if settings.ref_storage != "files":
        return []  # reftable has no loose/packed shadows
    snapshot = read_snapshot(plan.git_dir, settings.object_format)
    judge_shadows(snapshot)
    by_verdict: dict[str, list[str]] = {}
    for ref in iter_refs(snapshot, shadowed_only=True):
        if ref.verdict is not None and ref.verdict.value in _EVIDENCE_VERDICTS:
            by_verdict.setdefault(ref.verdict.value, []).append(ref.name)
    return [_evidence_warning(v, tuple(by_verdict[v])) for v in _EVIDENCE_VERDICTS if v in by_verdict]


def _evidence_warning(label: str, names: tuple[str, ...]) -> PreflightWarning:
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    what = (
        "a stale loose file hides a newer packed value (the rsync-without---delete incident)"
        if label == "stale-loose"
        else "the loose and packed values have diverged"
    )
    message = (
        f"{len(names)} ref{'s' if len(names) != 1 else ''} with {label} shadows ({shown}): {what}. "
        "The fetch will overwrite them and with them the evidence of what this replica showed; "
        "record them first (gitward refs REPO --shadowed --json)"
    )
    return PreflightWarning(f"{label}-shadows", message, names)


# --------------------------------------------------------------------------- mirrors and clones


def fetch_remote(runner: GitRunner, plan: SyncPlan) -> list[RefChange]:
    """Mirror or clone: ``git fetch --prune --progress <remote>`` with the repo's own refspecs.

    ``--no-auto-gc``: a sync never starts housekeeping. gc detaches into its own session (a
    cancel could not stop it), and on a repo with stale loose refs gc is the incident itself.
    """
    cwd = plan.path
    before = read_refs(runner, cwd)
    runner.run_checked(["fetch", "--prune", "--progress", "--no-auto-gc", plan.remote], cwd, what="fetch")
    after = read_refs(runner, cwd)
    return diff_refs(before, after)
