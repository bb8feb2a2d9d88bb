"""How bad a problem is. Its own module (``tui.core.model`` re-exports it): the console's first
frame counts problems by severity before any report exists, and need not load the report
dataclasses for that (the scan loads them right after)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Severity"]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; used for sorting and ``--fail-on``."""
        return {"error": 3, "warning": 2, "info": 1}[self.value]

    @property
    def symbol(self) -> str:
        # A symbol as well as a colour: monochrome and colour-blind terminals.
        return {"error": "✖", "warning": "▲", "info": "●"}[self.value]
