"""Who may change a repository's files, and keeping their owner, group and mode.

A file replaced or created by the wrong user breaks the service that owns the repository
(a root-owned packed-refs stops Gerrit from packing refs). So every change first checks that
the running user owns each file it will replace and each directory it will create or remove
files in, and refuses with the user to run as. This applies to root too: root *could* write,
but the files it creates would belong to root.
"""

from __future__ import annotations

import os
import pwd
import grp
import stat
from collections.abc import Iterable
from typing import NamedTuple

from tui.core.write.errors import OwnershipError, PermissionRefusedError


def user_label(uid: int) -> str:
    """``git (uid 998)``, or ``uid 12345 (no user of that name here)``."""
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid} (no user name on this host)"


def user_name(uid: int) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def run_as_hint(uid: int) -> str:
    name = user_name(uid)
    who = f"-u {name}" if name else f"-u '#{uid}'"
    return f"run gitward as {user_label(uid)}, e.g. sudo {who} gitward ..."


def check_owned(paths: Iterable[str], *, what: str = "change") -> None:
    """Refuse unless the effective user owns every existing path in ``paths``.

    Missing paths are skipped (their directory is what matters and should be in the list).
    A path that cannot even be stat'ed is unknown, not "fine": refuse.
    """
    me = os.geteuid()
    for path in paths:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise PermissionRefusedError(f"cannot check the owner of {path}: {exc.strerror}; nothing was changed") from None
        if st.st_uid != me:
            raise OwnershipError(
                f"refusing to {what}: {path} belongs to {user_label(st.st_uid)}, but gitward runs "
                f"as {user_label(me)}; files it replaced or created would change owner. "
                f"Nothing was changed; {run_as_hint(st.st_uid)}",
                st.st_uid,
                user_name(st.st_uid),
            )


def owner_hint(path: str) -> str:
    """What to say when the OS refuses a write in ``path``'s directory."""
    try:
        uid = os.lstat(path).st_uid
    except OSError:
        return "check the permissions"
    return run_as_hint(uid)


class Meta(NamedTuple):
    """Owner, group and mode of a file, as os.stat_result has them (for copy_metadata)."""

    st_mode: int
    st_uid: int
    st_gid: int


def copy_metadata(fd: int, like: os.stat_result | Meta) -> None:
    """Give the new file ``fd`` the mode, owner and group of the file it replaces."""
    os.fchmod(fd, stat.S_IMODE(like.st_mode))
    current = os.fstat(fd)
    if (current.st_uid, current.st_gid) != (like.st_uid, like.st_gid):
        try:
            os.fchown(fd, like.st_uid, like.st_gid)
        except PermissionError:
            group = _group_label(like.st_gid)
            raise PermissionRefusedError(
                f"cannot give the new file the group {group} of the file it replaces "
                "(you are not a member); that file was not replaced"
            ) from None


def _group_label(gid: int) -> str:
    try:
        return f"{grp.getgrgid(gid).gr_name} (gid {gid})"
    except KeyError:
        return f"gid {gid}"
