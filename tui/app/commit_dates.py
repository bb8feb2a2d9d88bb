"""Commit dates for the refs on screen, read with pygit2 (imported lazily, in a worker thread).

Only the rows that are visible are asked for, so a 200,000-ref repository costs a page of
object reads, not 200,000. The object store is opened by ``refstore.ObjectReader``, which
runs nothing from the repository.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

# Held by every thread that reads objects with pygit2 in this process, and by the scan until
# its worker processes are forked: a libgit2 mutex held by another thread at fork time would
# stay locked forever in the children.
OBJECT_STORE_LOCK = threading.Lock()

MISSING = -1.0  # the object is not in the store
NOT_A_COMMIT = -2.0  # a blob or tree (e.g. Gerrit's starred-changes point at one blob)


class CommitDates:
    """oid -> commit time (epoch seconds), or MISSING / NOT_A_COMMIT."""

    def __init__(self, git_dir: str) -> None:
        # deferred: the host screen imports this module for OBJECT_STORE_LOCK before its first
        # frame; the ref store (loose, packed, snapshot readers) loads with the first Refs tab
        from tui.core.refstore import ObjectReader

        self.git_dir = git_dir
        self._objects = ObjectReader(git_dir)

    @property
    def error(self) -> str | None:
        """Why the object store could not be opened (None: it could, or was not tried yet)."""
        return self._objects.error

    def lookup(self, oids: Iterable[str]) -> dict[str, float]:
        with OBJECT_STORE_LOCK:
            return self._lookup(oids)

    def _lookup(self, oids: Iterable[str]) -> dict[str, float]:
        commit_time = self._objects.commit_time
        found: dict[str, float] = {}
        try:
            for oid in oids:
                try:
                    when = commit_time(oid)
                except TypeError:
                    found[oid] = NOT_A_COMMIT
                    continue
                found[oid] = MISSING if when is None else when
        except LookupError:  # the object store cannot be opened: ``error`` says why
            return {}
        return found
