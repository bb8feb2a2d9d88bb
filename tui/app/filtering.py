"""The ``/`` filter of every list: substring by default, a regular expression when it looks like
one, ``field:value`` where a column holds the field, ``!`` inverts.

Rules (shown in the help screen):

- ``alpha``           rows whose text contains "alpha" (case-insensitive): the name and the
                      words a list adds (a repository's layout and problem codes)
- ``^gerrit/.*\\.git$`` a regular expression, matched against the name alone (so ``git$`` and
                      ``^gitlab`` work): used as soon as the text holds one of ``^$*+?()[]{}|\\``
                      (a ``.`` alone does not count: repo names are full of dots)
- ``code:stale-lock`` a field filter, where the list has that field (``verdict:stale-loose`` in
                      the Refs tab, ``state:failed`` in the jobs); the value is text or a regex
- ``!mirror``         every row that does NOT match
- an invalid regular expression, or a field the list does not have, is matched as plain text
  and ``error`` says so in one line

No Textual import: the Refs tab runs ``matches`` over 200,000 names in a worker thread.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["RowFilter", "FieldValues"]

_REGEX_CHARS = set("^$*+?()[]{}|\\")


@functools.cache
def _field_pattern() -> re.Pattern[str]:
    """``field:value``; compiled with the first filter typed, not with the console's first frame."""
    return re.compile(r"^([a-z][a-z_-]*):(.*)$", re.IGNORECASE | re.DOTALL)


# What a row offers a field filter: one value, or several (a repository's problem codes).
FieldValues = Mapping[str, "str | Iterable[str]"]


@dataclass(frozen=True, slots=True)
class RowFilter:
    raw: str = ""
    needle: str = ""
    invert: bool = False
    pattern: re.Pattern[str] | None = None
    error: str | None = None  # why the text was not used as typed (one line)
    field: str | None = None  # "code" in "code:stale-lock"

    @classmethod
    def parse(cls, raw: str, fields: Iterable[str] = ()) -> RowFilter:
        """``fields``: the field names this list's rows offer (``code``, ``verdict``...)."""
        text = raw.strip()
        invert = text.startswith("!")
        if invert:
            text = text[1:].strip()
        field = None
        error = None
        known = tuple(fields)
        found = _field_pattern().match(text)
        if found and found.group(1).lower() in known:
            field, text = found.group(1).lower(), found.group(2).strip()
        elif found and known and found.group(1).isalpha() and "/" not in text:
            error = f"no field '{found.group(1)}' here (fields: {', '.join(known)}); matching it as plain text"
        pattern = None
        if text and _REGEX_CHARS & set(text):
            try:
                pattern = re.compile(text, re.IGNORECASE)
            except re.error as exc:
                error = f"not a valid regular expression ({exc.msg}); matching it as plain text"
        return cls(raw=raw, needle=text.casefold(), invert=invert, pattern=pattern, error=error, field=field)

    @property
    def active(self) -> bool:
        return bool(self.needle)

    @property
    def mode(self) -> str:
        if not self.active:
            return ""
        kind = "regex" if self.pattern is not None else "text"
        if self.field:
            kind = f"{self.field} {kind}"
        return f"not {kind}" if self.invert else kind

    def describe(self) -> str:
        """``filter (regex): git$`` for a status line ('' when inactive)."""
        return f"filter ({self.mode}): {self.raw.strip()}" if self.active else ""

    def _hit(self, text: str) -> bool:
        if self.pattern is not None:
            return self.pattern.search(text) is not None
        return self.needle in text.casefold()

    def matches(self, name: str, haystack: str | None = None, fields: FieldValues | None = None) -> bool:
        """Does the row named ``name`` pass?

        A regular expression is matched against ``name`` alone; plain text against ``haystack``
        (the name and the words the list adds; default: the name); a field filter against the
        row's value(s) for that field (a row without the field does not match).
        """
        if not self.needle:
            return True
        if self.field is not None:
            value = (fields or {}).get(self.field)
            if value is None:
                found = False
            elif isinstance(value, str):
                found = self._hit(value)
            else:
                found = any(self._hit(item) for item in value)
        elif self.pattern is not None:
            found = self.pattern.search(name) is not None
        else:
            found = self.needle in (name if haystack is None else haystack).casefold()
        return found != self.invert
