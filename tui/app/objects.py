"""Commit dates for the refs on screen, read with pygit2 (imported lazily, in a worker thread).

Only the rows that are visible are asked for, so a 200,000-ref repository costs a page of
object reads, not 200,000. Opening the object store runs nothing from the repository.
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
        self.git_dir = git_dir
        self._repo = None
        self.error: str | None = None

    def _open(self):
        if self._repo is None and self.error is None:
            try:
                import pygit2

                try:
                    # Operators read repos owned by the git service user; reading objects runs
                    # nothing, so libgit2's owner check would only hide the dates.
                    pygit2.option(pygit2.enums.Option.SET_OWNER_VALIDATION, 0)
                except Exception:
                    pass
                self._repo = pygit2.Repository(self.git_dir, pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
            except Exception as exc:  # libgit2 raises several types; all mean "cannot read"
                self.error = f"cannot open the object store: {exc}"
        return self._repo

    def lookup(self, oids: Iterable[str]) -> dict[str, float]:
        with OBJECT_STORE_LOCK:
            return self._lookup(oids)

    def _lookup(self, oids: Iterable[str]) -> dict[str, float]:
        repo = self._open()
        if repo is None:
            return {}
        import pygit2

        found: dict[str, float] = {}
        for oid in oids:
            try:
                obj = repo.get(oid)
            except Exception:
                obj = None
            if obj is None:
                found[oid] = MISSING
                continue
            try:
                commit = obj.peel(pygit2.Commit)
            except Exception:
                found[oid] = NOT_A_COMMIT
                continue
            found[oid] = float(commit.commit_time)
        return found
