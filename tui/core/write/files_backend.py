"""The repository side of a ref change, as git's files backend does it (``refs/files-backend.c``).

What every change to loose refs and packed-refs shares: the repository's config (timeouts,
object format, reflog rules), the reasons not to write at all (reftable, a packed-refs.new
left behind, a packed-refs gitward does not fully understand), taking ``<ref>.lock`` and
``packed-refs.lock`` in git's order, reading the files again under those locks (for the
compare-and-swap), replacing packed-refs (``packed-refs.new``, fsync, rename), reflogs, and
removing emptied directories. ``shadows.py`` (prune and its undo) is built from these.
"""

from __future__ import annotations

import getpass
import os
import socket
import stat
import subprocess
import time
from dataclasses import dataclass

from tui.core.fsutil import fsync_dir, read_bytes
from tui.core.gitconfig import GitConfig, RepoSettings, read_config, repo_settings
from tui.core.loose import LooseRef, parse_loose_contents
from tui.core.packed import PackedRefs, bytes_key, parse_packed_refs
from tui.core.packed_check import blocking_anomalies
from tui.core.refstore import HEX_WIDTH, reftable_in_use
from tui.core.write.errors import StateChangedError, UnsupportedError
from tui.core.write.locking import (
    FILES_REF_LOCK_TIMEOUT_MS,
    PACKED_REFS_TIMEOUT_MS,
    LockSet,
    clear_lock_command,
    fault_point,
    timeout_from_config,
    unlink_if_exists,
    write_durably,
)
from tui.core.write.ownership import Meta, owner_hint

ZERO_OID = {40: "0" * 40, 64: "0" * 64}
_LOOSE_READ = 4096  # as loose.py: a loose ref is one line


# --------------------------------------------------------------------------- repository context


@dataclass
class RepoContext:
    """What a ref change needs from the repository's config, read once per action."""

    git_dir: str
    config: GitConfig
    settings: RepoSettings
    hex_width: int
    packed_timeout_ms: int
    ref_timeout_ms: int


def open_repo_context(git_dir: str) -> RepoContext:
    """Read the repository's config; refuse a repository whose config git itself rejects."""
    config, error = read_config(os.path.join(git_dir, "config"))
    if error:
        raise UnsupportedError(f"{error}; gitward does not write to a repository it cannot fully read")
    if config.errors:
        raise UnsupportedError(
            f"config {config.errors[0]}: git fails on this config, so gitward does not write here"
        )
    settings = repo_settings(config)
    if settings.object_format not in HEX_WIDTH:
        raise UnsupportedError(f"unknown object format {settings.object_format!r}")
    return RepoContext(
        git_dir=git_dir,
        config=config,
        settings=settings,
        hex_width=HEX_WIDTH[settings.object_format],
        packed_timeout_ms=timeout_from_config(config, "packedrefstimeout", PACKED_REFS_TIMEOUT_MS),
        ref_timeout_ms=timeout_from_config(config, "filesreflocktimeout", FILES_REF_LOCK_TIMEOUT_MS),
    )


def reftable_blocker(ctx: RepoContext) -> str | None:
    if reftable_in_use(ctx.git_dir, ctx.settings.ref_storage):
        return (
            "this repository stores refs in reftable; gitward writes only the files backend "
            "(loose refs + packed-refs)"
        )
    return None


def repo_blockers(ctx: RepoContext, packed: PackedRefs | None = None, *, locked: bool = False) -> list[str]:
    """Why gitward must not write to this repository's refs at all ([] = fine).

    ``locked``: the caller holds packed-refs.lock, so a packed-refs.new is certainly left
    behind. Without the lock, a packed-refs.new is normal while a git process holds the lock
    (git creates the lock, then .new, renames .new, then removes the lock).
    """
    reftable = reftable_blocker(ctx)
    if reftable:
        return [reftable]
    blockers = []
    new = os.path.join(ctx.git_dir, "packed-refs.new")
    if _left_behind(new, locked):
        blockers.append(
            f"{new} is left behind (an interrupted 'git pack-refs'?); git refuses to write "
            f"packed-refs while it exists ('unable to create file {new}: File exists'). Make sure "
            f"no git process runs, then remove it ('{clear_lock_command(ctx.git_dir, new)}'); if "
            "an interrupted gitward left it, 'gitward undo ID' of that journal entry cleans up"
        )
    if packed is not None:
        blockers.extend(f"packed-refs {a}: gitward does not rewrite a file it does not fully understand" for a in blocking_anomalies(packed))
    return blockers


def _left_behind(new: str, locked: bool) -> bool:
    if locked:
        return os.path.lexists(new)
    lock = new[: -len(".new")] + ".lock"
    # .new, then no lock, then still .new: not a git process between its lock and its rename.
    return os.path.lexists(new) and not os.path.lexists(lock) and os.path.lexists(new)


def refuse_blockers(blockers: list[str]) -> None:
    if blockers:
        raise UnsupportedError(blockers[0])


# --------------------------------------------------------------------------- locks, and the files under them


@dataclass
class LooseNow:
    """One loose ref file as read under its lock."""

    data: bytes | None  # None: no loose file
    ref: LooseRef | None
    meta: Meta | None


@dataclass
class RefState:
    """Loose files and packed-refs as read under the locks."""

    packed_data: bytes
    packed: PackedRefs
    packed_meta: Meta | None
    loose: dict[str, LooseNow]


def planned_locks(ctx: RepoContext, names: list[str], marker: bytes) -> list[dict]:
    """The lock files lock_refs() will create, for the journal's intent."""
    paths = [os.path.join(ctx.git_dir, name) + ".lock" for name in sorted(set(names), key=bytes_key)]
    paths.append(os.path.join(ctx.git_dir, "packed-refs.lock"))
    return [{"path": path, "marker": marker.decode()} for path in paths]


def lock_refs(locks: LockSet, ctx: RepoContext, names: list[str]) -> None:
    """git's order: every ref lock (sorted by name), then packed-refs.lock."""
    for name in sorted(set(names), key=bytes_key):
        path = os.path.join(ctx.git_dir, name)
        try:
            locks.acquire(path, timeout_ms=ctx.ref_timeout_ms, owner_hint=owner_hint(os.path.dirname(path)))
        except (FileNotFoundError, NotADirectoryError):
            raise StateChangedError(
                f"{name} moved since the plan (its directory is gone); nothing was changed. Rescan and plan again"
            ) from None
    fault_point("shadows:refs-locked")
    packed = os.path.join(ctx.git_dir, "packed-refs")
    locks.acquire(packed, timeout_ms=ctx.packed_timeout_ms, owner_hint=owner_hint(ctx.git_dir))
    fault_point("shadows:packed-refs-locked")


def read_state(ctx: RepoContext, names: list[str]) -> RefState:
    path = os.path.join(ctx.git_dir, "packed-refs")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        data, meta, packed = b"", None, PackedRefs()
    else:
        if stat.S_ISLNK(st.st_mode):
            raise UnsupportedError("packed-refs is a symlink: gitward does not replace it")
        data = read_bytes(path, limit=1 << 40)
        meta = Meta(st.st_mode, st.st_uid, st.st_gid)
        packed = parse_packed_refs(data, ctx.hex_width)
    loose = {name: _read_loose_now(os.path.join(ctx.git_dir, name), ctx.hex_width) for name in names}
    return RefState(data, packed, meta, loose)


def _read_loose_now(path: str, hex_width: int) -> LooseNow:
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return LooseNow(None, None, None)
    if stat.S_ISDIR(st.st_mode):
        return LooseNow(None, None, None)  # git falls back to packed-refs here too
    if stat.S_ISLNK(st.st_mode):
        raise UnsupportedError(f"{path} became a symlink; gitward does not change old-style symbolic refs")
    data = read_bytes(path, limit=_LOOSE_READ)
    return LooseNow(data, parse_loose_contents(data, hex_width), Meta(st.st_mode, st.st_uid, st.st_gid))


# --------------------------------------------------------------------------- writing


def replace_packed_refs(git_dir: str, data: bytes, like: Meta | None, *, step: str) -> None:
    """packed-backend.c write_with_updates(): packed-refs.new (O_EXCL), fsync, rename.

    The caller holds packed-refs.lock. ``like``: the replaced file's owner, group and mode.
    """
    target = os.path.join(git_dir, "packed-refs")
    new = target + ".new"
    try:
        fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except FileExistsError:
        # git's own words (refs/packed-backend.c).
        raise UnsupportedError(f"unable to create file {new}: File exists") from None
    try:
        try:
            write_durably(fd, data, like)
        finally:
            os.close(fd)
        fault_point(f"{step}:packed-new-written")
        os.rename(new, target)
    except BaseException:
        unlink_if_exists(new)
        raise
    fsync_dir(git_dir)
    fault_point(f"{step}:packed-refs-renamed")


def remove_empty_parents(git_dir: str, name: str) -> None:
    """files-backend.c try_remove_empty_parents(): rmdir empty dirs below refs/<kind>/."""
    parts = name.split("/")
    for depth in range(len(parts) - 1, 2, -1):
        try:
            os.rmdir(os.path.join(git_dir, *parts[:depth]))
        except OSError:
            return


def should_write_reflog(ctx: RepoContext, name: str) -> bool:
    """refs.c should_autocreate_reflog(), plus: an existing reflog is always appended to."""
    if os.path.isfile(os.path.join(ctx.git_dir, "logs", name)):
        return True
    mode = ctx.settings.log_all_ref_updates
    if mode is None:
        # core.bare unset: git guesses bareness from the layout (a ".git" dir has a work tree).
        mode = "true" if os.path.basename(os.path.normpath(ctx.git_dir)) == ".git" else "false"
    if mode == "always":
        return True
    if mode == "true":
        return name.startswith(("refs/heads/", "refs/remotes/", "refs/notes/")) or name == "HEAD"
    return False


def write_reflog(ctx: RepoContext, name: str, old: str, new: str, message: str, ident: str) -> None:
    """Append "<old> <new> <ident>\\t<message>" as files-backend.c log_ref_write_fd() does."""
    if not should_write_reflog(ctx, name):
        return
    path = os.path.join(ctx.git_dir, "logs", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    line = f"{old} {new} {ident}\t{' '.join(message.split())}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        write_durably(fd, line.encode("utf-8", "surrogateescape"))
    finally:
        os.close(fd)


def ident_if_needed(ctx: RepoContext, names: list[str]) -> str:
    """The reflog identity, asked before any lock is taken (it runs ``git var``)."""
    return committer_ident(ctx.git_dir) if any(should_write_reflog(ctx, n) for n in names) else ""


def committer_ident(git_dir: str) -> str:
    """git's committer identity with a timestamp ("Name <email> 1767225600 +0000").

    Asked from ``git var`` (it honours GIT_COMMITTER_*, user.name/email and the date rules
    exactly as a git writing this reflog would; it runs no hooks). Fallback: user@host, now.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
    env["GIT_DIR"] = git_dir
    try:
        result = subprocess.run(
            ["git", "var", "GIT_COMMITTER_IDENT"], env=env, capture_output=True, timeout=10, check=False
        )
        ident = result.stdout.decode("utf-8", "surrogateescape").strip()
    except (OSError, subprocess.SubprocessError):
        ident = ""
    if ident:
        return ident
    user = getpass.getuser()
    offset = -time.timezone if not time.localtime().tm_isdst else -time.altzone
    tz = f"{'+' if offset >= 0 else '-'}{abs(offset) // 3600:02d}{abs(offset) % 3600 // 60:02d}"
    return f"{user} <{user}@{socket.gethostname()}> {int(time.time())} {tz}"


def describe_loose(ref: LooseRef | None) -> str:
    if ref is None:
        return "(no loose file)"
    if ref.symbolic_target:
        return f"ref: {ref.symbolic_target}"
    if ref.broken_reason:
        return f"unparseable ({ref.broken_reason})"
    return short_id(ref.value)


def short_id(value: str | None) -> str:
    return value[:12] if value else "(none)"
