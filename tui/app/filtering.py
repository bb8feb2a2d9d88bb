"""The ``/`` filter: substring by default, a regular expression when it looks like one, ``!`` inverts.

Rules (shown in the help screen):

- ``alpha``           rows whose text contains "alpha" (case-insensitive)
- ``^gerrit/.*\\.git$`` a regular expression: used as soon as the text holds one of ``^$*+?()[]{}|\\``
  (a ``.`` alone does not count: repo names are full of dots)
- ``!mirror``         every row that does NOT match
- an invalid regular expression falls back to a substring match and says so
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REGEX_CHARS = set("^$*+?()[]{}|\\")


@dataclass(frozen=True, slots=True)
class RowFilter:
    raw: str = ""
    needle: str = ""
    invert: bool = False
    pattern: re.Pattern[str] | None = None
    error: str | None = None  # why the text was not used as a regex

    @classmethod
    def parse(cls, raw: str) -> RowFilter:
        text = raw.strip()
        invert = text.startswith("!")
        if invert:
            text = text[1:].strip()
        pattern = None
        error = None
        if text and _REGEX_CHARS & set(text):
            try:
                pattern = re.compile(text, re.IGNORECASE)
            except re.error as exc:
                error = f"not a valid regular expression ({exc.msg}); matching it as plain text"
        return cls(raw=raw, needle=text.casefold(), invert=invert, pattern=pattern, error=error)

    @property
    def active(self) -> bool:
        return bool(self.needle)

    @property
    def mode(self) -> str:
        if not self.active:
            return ""
        kind = "regex" if self.pattern is not None else "text"
        return f"not {kind}" if self.invert else kind

    def matches(self, haystack: str) -> bool:
        if not self.needle:
            return True
        if self.pattern is not None:
            found = self.pattern.search(haystack) is not None
        else:
            found = self.needle in haystack.casefold()
        return found != self.invert
