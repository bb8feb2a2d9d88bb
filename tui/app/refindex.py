"""A sorted, lazily materialised view of one repository's refs, for the Refs tab.

A repository can hold 200,000 refs. Building 200,000 ``Ref`` objects costs more than reading
the files, so the index keeps only the sorted names and makes a ``Ref`` when a row is drawn.
Namespaces (``refs/changes/``) are ranges of the sorted names: their counts and children come
from binary search, never from a pass over every ref.

No Textual import: built (and filtered, ``filter_view``) in a worker thread, read on the UI thread.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from tui.app.filtering import RowFilter
from tui.core.model import Ref, RefCounts
from tui.core.packed import bytes_key
from tui.core.refstore import RefSnapshot, count_refs, judge_shadows, ref_for, ref_names


def build_ref(snapshot: RefSnapshot, name: str) -> Ref:
    """The ``Ref`` that ``refstore.iter_refs`` yields for ``name`` (one name, no pass over all)."""
    return ref_for(snapshot, name)


@dataclass(frozen=True, slots=True)
class Namespace:
    prefix: str  # "" for all refs, else ends with "/": "refs/changes/"
    label: str  # the last component: "changes/"
    count: int  # refs under it
    has_children: bool  # holds deeper namespaces


class RefIndex:
    """Every ref of one snapshot in git's order, HEAD first."""

    def __init__(self, snapshot: RefSnapshot) -> None:
        self.snapshot = snapshot
        names = ref_names(snapshot)  # refstore's merge of loose and packed, in git's order
        if all(map(str.isascii, names)):  # map: no Python frame per name
            self._keys: list = names
            self._encode = _identity
        else:
            self._keys = [bytes_key(name) for name in names]
            self._encode = bytes_key
        self.names: list[str] = names
        self.has_head = snapshot.head is not None
        self.counts: RefCounts = count_refs(snapshot)
        self._shadow_positions: list[int] = sorted(self.position(n) for n in snapshot.shadow_names())
        self._cache: dict[str, Ref] = {}

    # --- rows -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.names)

    def ref(self, position: int) -> Ref:
        name = self.names[position]
        cached = self._cache.get(name)
        if cached is None:
            cached = self._cache[name] = build_ref(self.snapshot, name)
        return cached

    def head(self) -> Ref | None:
        if not self.has_head:
            return None
        cached = self._cache.get("HEAD")
        if cached is None:
            cached = self._cache["HEAD"] = build_ref(self.snapshot, "HEAD")
        return cached

    @property
    def materialized(self) -> int:
        """How many ``Ref`` objects exist (rows drawn so far), for tests and benchmarks."""
        return len(self._cache)

    def position(self, name: str) -> int:
        return bisect_left(self._keys, self._encode(name))

    def apply_verdicts(self, counts: RefCounts | None = None) -> None:
        """After ``judge_shadows``: forget the rows made before the verdicts were known.
        ``counts``: ``count_refs`` of the judged snapshot, when the worker counted already."""
        for name in self.snapshot.verdicts:
            self._cache.pop(name, None)
        self.counts = counts if counts is not None else count_refs(self.snapshot)

    # --- the / filter ---------------------------------------------------------------------------

    def filter_view(
        self, view: RefView, row_filter: RowFilter, cancelled: Callable[[], bool] = lambda: False
    ) -> RefView | None:
        """The refs of ``view`` that ``row_filter`` passes, as a view of positions; None when
        ``cancelled()`` turned true (checked every few thousand names: a newer filter was typed).

        A regex or text is matched against the name; ``verdict:`` and ``source:`` against those
        columns. Runs in a worker thread: 200,000 names take a fraction of a second, off the UI.
        """
        if view.positions is not None:
            candidates: list[int] = list(view.positions)
        else:
            candidates = ([-1] if view.with_head else []) + list(range(view.lo, view.hi))
        names = self.names
        field = row_filter.field
        if field == "verdict":
            verdicts = self.snapshot.verdicts
            if not row_filter.invert:
                # Only shadows have a verdict: look at those, not at 200,000 names.
                shadows = set(self._shadow_positions)
                candidates = [p for p in candidates if p in shadows]

            def text(position: int) -> str | None:
                verdict = verdicts.get("HEAD" if position < 0 else names[position])
                return verdict.value if verdict is not None else None

        elif field == "source":
            loose = self.snapshot.loose.refs
            both = set(self._shadow_positions)

            def text(position: int) -> str | None:
                if position in both:
                    return "both"
                return "loose" if position < 0 or names[position] in loose else "packed"

        elif field is not None:
            return RefView(self, positions=[])  # a field refs do not have (parse() only allows ours)
        else:

            def text(position: int) -> str | None:
                return "HEAD" if position < 0 else names[position]

        # One predicate, no per-name method calls on the filter: 200,000 names in a few tenths
        # of a second on a loaded machine, in chunks so that a newer filter cancels this one.
        pattern, needle, invert = row_filter.pattern, row_filter.needle, row_filter.invert
        if pattern is not None:
            search = pattern.search

            def hit(value: str | None) -> bool:
                return value is not None and search(value) is not None
        else:

            def hit(value: str | None) -> bool:
                return value is not None and needle in value.casefold()

        kept: list[int] = []
        if candidates and candidates[0] < 0:  # HEAD comes first, once
            if hit(text(-1)) != invert:
                kept.append(-1)
            candidates = candidates[1:]
        for start in range(0, len(candidates), 8192):
            if cancelled():
                return None
            chunk = candidates[start : start + 8192]
            if field is not None:
                kept.extend(p for p in chunk if hit(text(p)) != invert)
            elif pattern is not None:  # plain names: no call per name beyond the match itself
                kept.extend(p for p in chunk if (search(names[p]) is not None) != invert)
            else:
                kept.extend(p for p in chunk if (needle in names[p].casefold()) != invert)
        return RefView(self, positions=kept)

    # --- namespaces ---------------------------------------------------------------------------

    def span(self, prefix: str) -> tuple[int, int]:
        """Positions [lo, hi) of the refs whose names start with ``prefix`` (ending in "/")."""
        if not prefix:
            return 0, len(self.names)
        lo = bisect_left(self._keys, self._encode(prefix))
        # "/" (0x2f) is followed by "0" (0x30): everything under the prefix sorts below this.
        hi = bisect_left(self._keys, self._encode(prefix[:-1] + "0"), lo)
        return lo, hi

    def namespace_count(self, prefix: str) -> int:
        lo, hi = self.span(prefix)
        return hi - lo + (1 if not prefix and self.has_head else 0)

    def children(self, prefix: str, limit: int = 5000) -> list[Namespace]:
        """The namespaces one level below ``prefix``, in order (at most ``limit``)."""
        lo, hi = self.span(prefix)
        names = self.names
        found: list[Namespace] = []
        position = lo
        while position < hi and len(found) < limit:
            rest = names[position][len(prefix) :]
            slash = rest.find("/")
            if slash == -1:  # a ref directly in this namespace
                position += 1
                continue
            child = prefix + rest[: slash + 1]
            child_lo, child_hi = self.span(child)
            start = len(child)
            deeper = any("/" in names[i][start:] for i in range(child_lo, child_hi))
            found.append(Namespace(child, rest[: slash + 1], child_hi - child_lo, deeper))
            position = child_hi
        return found

    # --- views -------------------------------------------------------------------------------

    def view(self, prefix: str = "", shadows_only: bool = False) -> RefView:
        lo, hi = self.span(prefix)
        if shadows_only:
            start = bisect_left(self._shadow_positions, lo)
            stop = bisect_left(self._shadow_positions, hi)
            return RefView(self, positions=self._shadow_positions[start:stop])
        with_head = not prefix and self.has_head
        return RefView(self, lo=lo, hi=hi, with_head=with_head)


class RefView(Sequence[Ref]):
    """The rows on screen: a range of the index (plus HEAD) or a list of positions (HEAD: -1)."""

    def __init__(
        self,
        index: RefIndex,
        *,
        lo: int = 0,
        hi: int = 0,
        with_head: bool = False,
        positions: list[int] | None = None,
    ) -> None:
        self.index = index
        self.lo, self.hi = lo, hi
        self.with_head = with_head
        self.positions = positions

    def __len__(self) -> int:
        if self.positions is not None:
            return len(self.positions)
        return self.hi - self.lo + (1 if self.with_head else 0)

    def __getitem__(self, item):  # type: ignore[override]
        if isinstance(item, slice):
            return [self[i] for i in range(*item.indices(len(self)))]
        if item < 0:
            item += len(self)
        if not 0 <= item < len(self):
            raise IndexError(item)
        if self.positions is not None:
            position = self.positions[item]
            return self.index.ref(position) if position >= 0 else self._head()
        if self.with_head:
            if item == 0:
                return self._head()
            item -= 1
        return self.index.ref(self.lo + item)

    def _head(self) -> Ref:
        head = self.index.head()
        assert head is not None
        return head

    def __iter__(self) -> Iterator[Ref]:
        for i in range(len(self)):
            yield self[i]


def _identity(name: str) -> str:
    return name


def judge(snapshot: RefSnapshot) -> None:
    """Shadow verdicts (pygit2 ancestry), serialised with the other object-store readers."""
    # lazy (import cost): app.commit_dates loads on first use, not with this module
    from tui.app.commit_dates import OBJECT_STORE_LOCK

    with OBJECT_STORE_LOCK:
        judge_shadows(snapshot)
