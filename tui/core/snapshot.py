"""One read of a repository's ref files: packed-refs, the loose walk, HEAD (and later verdicts).

A leaf module, so that both readers (``refstore``: the full read; ``packed_lookup``: the read
that ``refs --shadowed`` needs) build the same thing without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.core.loose import LooseRef, LooseWalk
from tui.core.model import Verdict
from tui.core.packed import PackedRefs

__all__ = ["RefSnapshot"]


@dataclass(slots=True)
class RefSnapshot:
    """One consistent-enough read of a repository's ref files."""

    git_dir: str
    packed: PackedRefs
    loose: LooseWalk
    head: LooseRef | None = None
    hex_width: int = 40
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    verdict_errors: list[str] = field(default_factory=list)

    def shadow_names(self) -> list[str]:
        packed = self.packed
        return [name for name in self.loose.refs if name in packed]

    def resolve(self, name: str, depth: int = 0) -> str | None:
        """Resolve a ref name as git does: loose first (no fallback when broken), then packed."""
        if depth > 5:  # git's SYMREF_MAXDEPTH
            return None
        if name == "HEAD":
            loose = self.head
        else:
            loose = self.loose.refs.get(name)
        if loose is not None:
            if loose.symbolic_target:
                return self.resolve(loose.symbolic_target, depth + 1)
            return loose.value
        return self.packed.get(name)
