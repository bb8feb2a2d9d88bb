"""Is gitward allowed to change anything here? The one answer every front end asks.

Read-only mode comes from ``--read-only`` or ``read_only = true`` in the config. It used to be
decided separately by ``gitward shadows/worktree/locks/undo``, by ``gitward sync``, by the
console's screens and by the journal; each could drift from the others (DESIGN.md: "a safety
rule that lives in one front end"). Now the CLI and the console build a ``WriteGate`` here, the
journal holds one, and each asks it: ``allowed``, and if not, ``reason`` (one line).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui.core.config import load_config
from tui.core.write.errors import ReadOnlyError

__all__ = ["OPEN", "WriteGate", "load_write_gate", "write_gate"]

# Said when the caller only knows "read-only" and not where it came from.
UNKNOWN_SOURCE = "--read-only, or read_only = true in the config"


@dataclass(frozen=True, slots=True)
class WriteGate:
    """``read_only``: every change is refused; ``source``: what asked for it (shown in the reason)."""

    read_only: bool = False
    source: str = ""

    @property
    def allowed(self) -> bool:
        return not self.read_only

    @property
    def reason(self) -> str | None:
        """Why nothing may change, in one line (None: changes are allowed)."""
        if not self.read_only:
            return None
        return f"read-only mode ({self.source or UNKNOWN_SOURCE}): gitward changes nothing"

    def check(self) -> None:
        """Raise ``ReadOnlyError`` (a refusal: nothing was changed) unless changes are allowed."""
        if self.read_only:
            raise ReadOnlyError(self.reason)


OPEN = WriteGate()


def write_gate(*, flag: bool = False, config: Any = None) -> WriteGate:
    """The gate from the command-line flag and an already loaded config (None: no config).

    The flag wins: it is named first in the reason, and it needs no config at all.
    """
    if flag:
        return WriteGate(True, "--read-only")
    if config is not None and getattr(config, "read_only", False):
        where = getattr(config, "path", None)
        return WriteGate(True, f"read_only = true in {where}" if where else "read_only = true in the config")
    return OPEN


def load_write_gate(*, flag: bool = False) -> WriteGate:
    """The gate for a command about to write: the flag, else the config file.

    With the flag the config is not read (a broken config must not stop a read-only run). A
    config that cannot be read raises ``ConfigError``: whether writes are allowed cannot be told,
    and the caller refuses.
    """
    if flag:
        return write_gate(flag=True)
    return write_gate(config=load_config())
