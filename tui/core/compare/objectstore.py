"""Object questions compare and gc-preview ask: does it exist, what commit does it peel to, is one
an ancestor of the other. Three answers where it matters: True, False, None (cannot tell).

Built on ``refstore.ObjectReader`` (lazy, objects only, nothing from the repository executed).
"""

from __future__ import annotations

from tui.core import libgit2
from tui.core.refstore import ObjectReader


class ObjectStore(ObjectReader):
    # A commit asked about this often (a branch tip compared with many refs) gets its ancestors
    # listed once; each further question about it is then a set lookup, not a history walk.
    ANCESTOR_SET_AFTER = 3
    ANCESTOR_SET_LIMIT = 2_000_000  # commits; past this, keep asking merge-base

    def __init__(self, git_dir: str) -> None:
        super().__init__(git_dir)
        self._asked: dict[str, int] = {}
        self._ancestor_sets: dict[str, set[str] | None] = {}

    def _ancestors_if_frequent(self, commit: str) -> set[str] | None:
        if commit in self._ancestor_sets:
            return self._ancestor_sets[commit]
        asked = self._asked[commit] = self._asked.get(commit, 0) + 1
        if asked < self.ANCESTOR_SET_AFTER:
            return None
        found: set[str] | None = set()
        try:
            for count, item in enumerate(self._open().walk(libgit2.load().Oid(hex=commit))):
                if count >= self.ANCESTOR_SET_LIMIT:
                    found = None
                    break
                found.add(str(item.id))
        except Exception:
            found = None
        self._ancestor_sets[commit] = found
        return found

    def has(self, oid: str | None) -> bool:
        """Whether ``oid`` is in the object store (False when the store cannot be opened)."""
        if not oid:
            return False
        repo = self._open()
        if repo is None:
            return False
        try:
            return libgit2.load().Oid(hex=oid) in repo.odb
        except Exception:
            return False

    def any_missing(self, oids) -> bool:
        """Whether any of ``oids`` is missing (True when the store cannot be opened)."""
        repo = self._open()
        if repo is None:
            return True
        odb = repo.odb
        oid = libgit2.load().Oid
        try:
            for value in oids:
                if oid(hex=value) not in odb:
                    return True
        except Exception:
            return True
        return False

    @property
    def readable(self) -> bool:
        return self._open() is not None

    def peel_commit(self, oid: str) -> str | None:
        """The commit ``oid`` peels to (through tags); None when missing or not a commit."""
        repo = self._open()
        if repo is None:
            return None
        try:
            obj = libgit2.lookup(repo, oid)
            if obj is None:
                return None
            return str(obj.peel(libgit2.load().Commit).id)
        except Exception:
            return None

    def is_ancestor(self, older: str, newer: str) -> bool | None:
        """git merge-base --is-ancestor OLDER NEWER, after peeling; None: cannot tell here."""
        a = self.peel_commit(older)
        b = self.peel_commit(newer)
        if a is None or b is None:
            return None
        if a == b:
            return True
        try:
            if self.descends_from(b, a):
                return True
        except Exception:
            return None
        if self.shallow:
            return None  # "not an ancestor" may only mean the history is cut off
        return False

    def relation(self, older: str, newer: str) -> str | None:
        """How commit ``newer`` relates to ``older`` after peeling: "same", "descends" (older is
        its ancestor), "ancestor" (newer is older's ancestor), "diverged"; None: cannot tell.

        One merge-base answers both directions; two failed descendant_of walks would each go
        down to the root.
        """
        a = self.peel_commit(older)
        b = self.peel_commit(newer)
        if a is None or b is None:
            return None
        if a == b:
            return "same"
        below_a = self._ancestors_if_frequent(a)
        below_b = self._ancestors_if_frequent(b)
        if below_b is not None and a in below_b:
            return "descends"
        if below_a is not None and b in below_a:
            return "ancestor"
        if below_a is not None and below_b is not None:
            return None if self.shallow else "diverged"
        try:
            base = self.merge_base(a, b)
        except Exception:
            return None
        if base == a:
            return "descends"
        if base == b:
            return "ancestor"
        if base is None and self.shallow:
            return None  # "unrelated" may only mean the history is cut off
        return "diverged"

    def unreachable_commits(self, tips: list[str], kept: list[str], limit: int | None = None) -> list[str] | None:
        """Commits reachable from ``tips`` and from none of ``kept`` (git rev-list TIPS --not KEPT).

        None when the walk cannot be done (a tip or the store unreadable).
        """
        repo = self._open()
        if repo is None:
            return None
        module = libgit2.load()
        starts = [c for c in (self.peel_commit(t) for t in tips) if c is not None]
        if not starts:
            return []
        try:
            walker = repo.walk(module.Oid(hex=starts[0]))
            for start in starts[1:]:
                walker.push(module.Oid(hex=start))
            for oid in kept:
                commit = self.peel_commit(oid)
                if commit is not None:
                    walker.hide(module.Oid(hex=commit))
            found = []
            for commit in walker:
                found.append(str(commit.id))
                if limit is not None and len(found) >= limit:
                    break
            return found
        except Exception:
            return None
