"""Is a ``packed-refs`` body canonical? A few whole-file C passes answer, with no per-line work.

Canonical: what git writes (``git pack-refs``): every line "<lower-case id> refs/<name>\\n",
optionally followed by its peeled line "^<id>\\n", every name valid by git's rules, names
strictly increasing in git's byte order (so no duplicates, and a bisection finds every ref).
``packed.py`` keeps such a file as raw bytes; ``packed_lookup`` trusts its lookups in one only
after this check. Any doubt answers "not canonical" and the line-by-line parser
(``packed_check.parse_records``) reads the file and names every anomaly: a doubt costs time,
never an answer.

Two passes: the lines' form and names (one regular expression over the whole body), then the
names' order (read a window at a time), which also finds the names a caller asks about.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from itertools import islice
from operator import ge

from tui.core.packed_check import (
    HEADER_PREFIX,
    KNOWN_TRAITS,
    MAX_LINE,
    fullmatch_in_slices,
    may_hold_invalid_names,
)

# The passes over the names work on windows of this size (bounded memory on a 2 GB file).
CHUNK_BYTES = 1 << 20

_CANONICAL_BODIES: dict[int, re.Pattern] = {}
_STRICT_BODIES: dict[int, re.Pattern] = {}
# A name component git always accepts: no dot at either end, no "..", plain characters, not
# ending in ".lock" (the lookahead runs only at dots: it costs nothing on names without them).
_PLAIN_COMPONENT = rb"[A-Za-z0-9_+=,-]++(?:\.(?!lock[/\n])[A-Za-z0-9_+=,-]++)*+"


def canonical_body(hex_width: int) -> re.Pattern:
    """Well-formed lines with any name (names are checked separately)."""
    if hex_width not in _CANONICAL_BODIES:
        hex_id = b"[0-9a-f]{%d}" % hex_width
        _CANONICAL_BODIES[hex_width] = re.compile(
            rb"(?:" + hex_id + rb" refs/[^\n\r\x00]++\n(?:\^" + hex_id + rb"\n)?+)*+"
        )
    return _CANONICAL_BODIES[hex_width]


def _strict_body(hex_width: int) -> re.Pattern:
    """Well-formed lines whose names are plainly valid: one C pass proves both, with a byte
    0x80 allowed in the ids (``body_well_formed`` finds none anywhere: plain names hold none)."""
    if hex_width not in _STRICT_BODIES:
        # re runs a class of 3+ ranges as one table lookup, [0-9a-f] (2 ranges) as two range
        # tests: 65 -> 50 ms on 200,000 refs, and finding a 0x80 byte (memchr) costs 0.5 ms.
        hex_id = b"[0-9a-f\x80]{%d}" % hex_width
        name = rb"refs/" + _PLAIN_COMPONENT + rb"(?:/" + _PLAIN_COMPONENT + rb")*+"
        # Possessive quantifiers: no backtracking stack, so memory stays flat on 200k lines.
        _STRICT_BODIES[hex_width] = re.compile(rb"(?:" + hex_id + rb" " + name + rb"\n(?:\^" + hex_id + rb"\n)?+)*+")
    return _STRICT_BODIES[hex_width]


_STRICT_ENGINE_OK: bool | None = None


def _strict_engine_ok() -> bool:
    """Does this Python's ``re`` match nested possessive quantifiers correctly? CPython 3.11.2
    (Debian 12's) fullmatches the strict pattern on a file whose last line has no newline, and
    misses some valid files; later 3.11 releases do not. Where it errs, the strict pass is not
    used (the plain canonical pattern and the name check answer instead: slower, never wrong)."""
    global _STRICT_ENGINE_OK
    if _STRICT_ENGINE_OK is None:
        probe = b"0" * 40 + b" refs/heads/a\n" + b"0" * 40 + b" refs/heads/b"
        _STRICT_ENGINE_OK = _strict_body(40).fullmatch(probe) is None
    return _STRICT_ENGINE_OK


def body_well_formed(buf, start: int, hex_width: int) -> bool:
    """Every line of ``buf[start:]`` canonical in form, every name valid (order not checked)."""
    if len(buf) > start and buf[-1:] != b"\n":
        return False  # an unterminated last line: the line parser names it (git refuses it)
    if _strict_engine_ok():
        return fullmatch_in_slices(_strict_body(hex_width), buf, start) and buf.find(b"\x80", start) < 0
    return fullmatch_in_slices(canonical_body(hex_width), buf, start) and not may_hold_invalid_names(buf, start)


def canonical_count(buf, start: int, hex_width: int) -> int | None:
    """The number of refs in ``buf[start:]`` when it is canonical, else None."""
    if not body_well_formed(buf, start, hex_width):
        return None
    found = find_if_increasing(buf, start, hex_width, ())
    return None if found is None else found[0]


def canonical_file_start(data: bytes, hex_width: int) -> int | None:
    """Where the body starts when ``data`` has a header with known traits only and a body
    canonical in form (``find_if_increasing`` checks the order), else None."""
    newline = data.find(b"\n", 0, MAX_LINE)
    if newline < 0 or not data.startswith(HEADER_PREFIX.encode()):
        return None
    traits = data[len(HEADER_PREFIX) : newline].decode("utf-8", "surrogateescape").split(" ")
    if not KNOWN_TRAITS.issuperset(filter(None, traits)):
        return None  # an anomaly (unknown traits): the parser reports it
    return newline + 1 if body_well_formed(data, newline + 1, hex_width) else None


def canonical_file_count(data: bytes, hex_width: int) -> int | None:
    """The ref count when ``data`` has a header with known traits only and a canonical body
    (then ``parse_packed_refs(data)`` keeps ``data`` itself as its buffer), else None."""
    start = canonical_file_start(data, hex_width)
    if start is None:
        return None
    found = find_if_increasing(data, start, hex_width, ())
    return None if found is None else found[0]


# In a canonical file a space only ever separates id and name; peeled lines hold none.
_NAMES = re.compile(rb" ([^\n]*+)\n")


def find_if_increasing(buf, start: int, sep: int, names) -> tuple[int, dict[str, int]] | None:
    """(number of refs, {name: offset of its record} for those of ``names`` that are packed)
    when the names of the well-formed body ``buf[start:]`` strictly increase (bytes compare as
    git's memcmp), else None.

    Read a window of CHUNK_BYTES at a time (findall's pos/endpos: no copy of the bytes): the
    names in memory stay bounded on a 2 GB file. The names asked about, sorted, are merged
    with each window's (a bisection in C each): 10,000 loose names cost a few ms.
    """
    wanted = {name.encode("utf-8", "surrogateescape"): name for name in names}
    keys = sorted(wanted)
    records: dict[str, int] = {}
    next_key = 0
    count = 0
    previous = b""
    end = len(buf)
    findall = _NAMES.findall
    while start < end:
        stop = buf.find(b"\n", min(start + CHUNK_BYTES, end - 1))
        stop = end if stop < 0 else stop + 1
        window = findall(buf, start, stop)
        if window:
            if count and window[0] <= previous:
                return None
            if any(map(ge, window, islice(window, 1, None))):
                return None
            previous = window[-1]
            count += len(window)
            cursor = start  # records found in this window, in order: each search starts after the last
            while next_key < len(keys) and keys[next_key] <= previous:
                key = keys[next_key]
                next_key += 1
                if window[bisect_left(window, key)] == key:
                    # In a canonical body " <name>\n" occurs once: where this record's name is.
                    cursor = buf.index(b" " + key + b"\n", cursor, stop)
                    records[wanted[key]] = cursor - sep
        start = stop
    return count, records
