"""Strict reader for ``packed-refs``, following git's ``refs/packed-backend.c`` (2.39).

The file is read as bytes. Names are decoded with ``surrogateescape`` so names that are not
UTF-8 survive a round trip and match names read from the file system.

git's behaviour is the truth, and git reads this file in two ways:

- a *lookup* (``git rev-parse``, ``git update-ref``) bisects the raw bytes and trusts the
  ``sorted`` trait; it never looks at most lines;
- an *iteration* (``git for-each-ref``, ``git pack-refs``, ``git gc``) reads every line, dies on a
  line that is neither a ref nor a peeled line ("unexpected line in packed-refs"), and skips a
  ref whose name fails ``check_refname_format()`` ("ignoring ref with broken name").

Where git dies on the whole file (an unterminated last line, a header that is not
``# pack-refs with:``) every git command in the repository fails; we report an anomaly with the
line number and keep the values of the well-formed lines so the operator sees what the file
holds (git shows them again once the bad line is repaired). A name git ignores or cannot
resolve (an invalid name, a CR or NUL in it) gets no value: the anomaly names it.

Memory: a canonical file (sorted, well-formed, the only kind git writes) is kept as its raw
bytes and searched through a sample of its names (one per KiB); nothing is kept per line, so a
2 GB file costs about 2 GB. A sorted file with a few bad lines is read line by line into one
canonical copy of its good lines (about twice its size while parsing, its size after). A file
that starts with garbage (NULs, random bytes) is judged from its first 256 KiB and not read
further. Only a file whose names are out of order or repeated is read into a dict.
"""

from __future__ import annotations

import os
import re
import stat
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from operator import ge

from tui.core.fsutil import SpecialFile, open_regular

HEADER_PREFIX = "# pack-refs with:"
KNOWN_TRAITS = frozenset({"peeled", "fully-peeled", "sorted"})

# The longest line read as a possible ref: names are paths (PATH_MAX 4096 on Linux); a longer
# line without a newline is garbage, and reading on would only cost time and memory.
MAX_LINE = 64 * 1024
# A file larger than this is judged from its first PROBE_BYTES before the rest is read.
PROBE_BYTES = 4 * MAX_LINE
# The byte-level passes over a canonical file work on pieces of this size (bounded copies).
CHUNK_BYTES = 1 << 20
# A canonical file keeps the name of one record per this many bytes, for lookups.
SAMPLE_BYTES = 1024  # ~1 sampled name per 15 Gerrit refs: about 7% of the file's size
# Lookups remembered (a dict entry each, for names the caller already holds).
MEMO_LIMIT = 1 << 20
# Garbage lines after which, with more garbage than refs seen, the file is not read further.
GARBAGE_LIMIT = 20
# Anomalies of one kind listed one by one; the rest are counted.
ANOMALY_LIMIT = 20

# git's check_refname_format(): what makes a name invalid. git flags such refs as broken.
_BAD_REFNAME = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|/\.|\.lock(?:/|$)|//|^/|/$|\.$|^\.|^@$")
# A cheap whole-file pre-check: if none of these occur, every name is valid and the
# per-line check can be skipped (it would cost more than the parse on 200,000 refs).
_SUSPICIOUS_CHARS = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f~:?*\[\\@]")
_SUSPICIOUS_SUBSTRINGS = (b"..", b"/.", b"//", b".lock\n", b".\n", b"/\n", b" .")

_HEX = frozenset("0123456789abcdefABCDEF")  # git's get_oid_hex accepts both cases
_HEX_BYTES = frozenset(b"0123456789abcdefABCDEF")
# git's isspace() (ctype.c): what may separate the object id from the name.
_GIT_SPACE = frozenset(b" \t\r")


@dataclass(frozen=True, slots=True)
class Anomaly:
    line: int  # 1-based; 0 when about the file as a whole
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class PackedRefs:
    """What one ``packed-refs`` file says.

    A canonical file is kept as its raw bytes and searched through a sample of its names
    (``_find``), with nothing kept per line: 200,000
    refs are never turned into a dict unless a full listing asks for one (``values``), which
    keeps ``refs --shadowed`` on Gerrit-sized files fast and small.
    """

    __slots__ = (
        "traits", "has_header", "anomalies", "size", "mtime", "is_symlink", "exists", "stopped_at",
        "_dict", "_peeled", "_buf", "_start", "_sep", "_count", "_sample_names", "_sample_offsets", "_memo",
    )

    def __init__(self, *, size: int = 0, exists: bool = False, is_symlink: bool = False,
                 anomalies: list[Anomaly] | None = None) -> None:
        self.traits: frozenset[str] = frozenset()
        self.has_header = False
        self.anomalies: list[Anomaly] = anomalies if anomalies is not None else []
        self.size = size
        self.mtime: float | None = None
        self.is_symlink = is_symlink
        self.exists = exists
        self.stopped_at: int | None = None  # byte offset where reading stopped on garbage
        self._dict: dict[str, str] | None = {}  # name -> object id, when built
        self._peeled: dict[str, str] | None = {}  # name -> peeled id, when built
        self._buf: bytes | bytearray = b""  # the canonical file, bisected (when _dict is None)
        self._start = 0  # offset of the first record in _buf
        self._sep = 40
        self._count = 0
        self._sample_names: list[bytes] = []  # every SAMPLE_BYTES, the next record's name
        self._sample_offsets = array("q")  # ... and where that record starts
        self._memo: dict[str, int] = {}  # name -> _find's answer, for names asked before

    @property
    def sorted_claim(self) -> bool:
        return "sorted" in self.traits

    @property
    def values(self) -> dict[str, str]:
        """name -> object id for every packed ref git lists (built on first use)."""
        if self._dict is None:
            values, peeled = _read_canonical(self._buf, self._start, self._sep)
            # From here on lookups use the dicts: the bytes and the samples are dropped.
            self._dict, self._peeled = values, peeled
            self._buf, self._sample_names, self._sample_offsets, self._memo = b"", [], array("q"), {}
        return self._dict

    @property
    def peeled(self) -> Mapping[str, str]:
        """name -> peeled object id, from the ``^`` lines."""
        if self._peeled is None:
            return _PeeledView(self)
        return self._peeled

    def get(self, name: str) -> str | None:
        if self._dict is not None:
            return self._dict.get(name)
        record = self._record(name)
        if record < 0:
            return None
        return self._buf[record : record + self._sep].decode("ascii")

    def peeled_of(self, name: str) -> str | None:
        if self._peeled is not None:
            return self._peeled.get(name)
        record = self._record(name)
        if record < 0:
            return None
        buf = self._buf
        peel = buf.index(b"\n", record) + 1
        if buf[peel : peel + 1] != b"^":
            return None
        return buf[peel + 1 : peel + 1 + self._sep].decode("ascii")

    def __contains__(self, name: str) -> bool:
        if self._dict is not None:
            return name in self._dict
        return self._record(name) >= 0

    def __len__(self) -> int:
        return len(self._dict) if self._dict is not None else self._count

    def names(self) -> list[str]:
        """Every packed ref name, in file order for a canonical file."""
        return list(self.values)

    def _record(self, name: str) -> int:
        """``_find`` for a name, remembered: a scan asks about the same loose names 2-3 times."""
        record = self._memo.get(name)
        if record is None:
            record = self._find(name.encode("utf-8", "surrogateescape"))
            if len(self._memo) < MEMO_LIMIT:
                self._memo[name] = record
        return record

    def _find(self, key: bytes) -> int:
        """Offset of the record named ``key`` in the canonical bytes, or -1.

        The sampled names (one per SAMPLE_BYTES) narrow the search to a few KiB, searched in C
        for " <name>\n": in a canonical file a space only ever separates id and name.
        """
        index = bisect_right(self._sample_names, key)
        if not index or b"\n" in key or b" " in key:
            return -1
        offsets = self._sample_offsets
        end = offsets[index] if index < len(offsets) else len(self._buf)
        needle = b" " + key + b"\n"
        # rfind compares a candidate from its end: names share long prefixes, not tails.
        found = self._buf.rfind(needle, offsets[index - 1], end + self._sep + len(needle))
        return found - self._sep if found >= 0 else -1

    def _use_buffer(self, buf: bytes | bytearray, start: int, sep: int, count: int) -> None:
        self._dict = self._peeled = None
        self._buf, self._start, self._sep, self._count = buf, start, sep, count
        self._sample_names, self._sample_offsets = _sample(buf, start, sep)


def _read_canonical(buf, start: int, sep: int) -> tuple[dict[str, str], dict[str, str]]:
    """(name -> id, name -> peeled id) of canonical bytes, read a chunk at a time."""
    values: dict[str, str] = {}
    peeled: dict[str, str] = {}
    last_name = None
    for chunk in _chunks(buf, start):
        has_peeled = b"\n^" in chunk or chunk[:1] == b"^"
        lines = chunk.decode("utf-8", "surrogateescape").split("\n")
        lines.pop()  # after the last newline
        if has_peeled:
            ref_lines = []
            for line in lines:
                if line[0] == "^":
                    peeled[ref_lines[-1][sep + 1 :] if ref_lines else last_name] = line[1:]
                else:
                    ref_lines.append(line)
            lines = ref_lines
        names = [line[sep + 1 :] for line in lines]
        values.update(zip(names, [line[:sep] for line in lines]))
        if names:
            last_name = names[-1]
    return values, peeled


class _PeeledView(Mapping):
    """The peeled values of a canonical file, looked up by bisection (nothing kept)."""

    __slots__ = ("_packed",)

    def __init__(self, packed: PackedRefs) -> None:
        self._packed = packed

    def __getitem__(self, name: str) -> str:
        value = self._packed.peeled_of(name)
        if value is None:
            raise KeyError(name)
        return value

    def get(self, name, default=None):
        value = self._packed.peeled_of(name)
        return default if value is None else value

    def __iter__(self) -> Iterator[str]:
        sep = self._packed._sep
        previous = None
        for chunk in _chunks(self._packed._buf, self._packed._start):
            for line in chunk.decode("utf-8", "surrogateescape").split("\n"):
                if line[:1] == "^":
                    if previous is not None:
                        yield previous
                elif line:
                    previous = line[sep + 1 :]

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _sample(buf, start: int, sep: int, every: int = 0) -> tuple[list[bytes], array]:
    """The name and offset of the first record at or after every ``every`` bytes."""
    every = every or SAMPLE_BYTES
    names: list[bytes] = []
    offsets = array("q")
    end = len(buf)
    pos = start
    while pos < end:
        offsets.append(pos)
        names.append(bytes(buf[pos + sep + 1 : buf.index(b"\n", pos + sep)]))
        newline = buf.find(b"\n", pos + every)
        if newline < 0:
            break
        pos = newline + 1
        while buf[pos : pos + 1] == b"^":  # a peeled line belongs to the record before it
            pos = buf.index(b"\n", pos) + 1
    return names, offsets


def _chunks(buf, start: int, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """``buf[start:]`` in pieces of about ``size`` bytes, each ending with a newline."""
    end = len(buf)
    while start < end:
        stop = buf.find(b"\n", min(start + size, end - 1))
        stop = end if stop < 0 else stop + 1
        yield bytes(buf[start:stop])
        start = stop


def parse_packed_refs(data: bytes, hex_width: int = 40) -> PackedRefs:
    """Parse the bytes of a packed-refs file. Never raises."""
    return _parse(data, len(data), hex_width)


def _parse(buf, size: int, hex_width: int, *, more_follows: bool = False) -> PackedRefs:
    """Parse ``buf`` (the whole file, or its first bytes when ``more_follows``)."""
    result = PackedRefs(size=size, exists=True)
    if not buf:
        return result
    anomalies = result.anomalies
    start = 0
    if buf[:1] == b"#":
        newline = buf.find(b"\n", 0, MAX_LINE)
        if newline < 0:
            line = bytes(buf[:MAX_LINE])
            if len(buf) > MAX_LINE or more_follows:
                _stop(result, 1, 0, line)
            else:
                anomalies.append(
                    Anomaly(1, "unterminated last line: git refuses this file "
                               "('unterminated line in packed-refs'), every git command here fails")
                )
                _read_header(line.decode("utf-8", "surrogateescape"), result)
            return result
        _read_header(bytes(buf[:newline]).decode("utf-8", "surrogateescape"), result)
        start = newline + 1
    else:
        anomalies.append(
            Anomaly(
                1,
                "missing header '# pack-refs with: peeled fully-peeled sorted': git "
                "reads it, but has to sort it in memory and cannot trust peeled values",
            )
        )
    if not more_follows and _only_missing_header(anomalies) and _use_canonical(buf, start, hex_width, result):
        return result
    _parse_records(buf, start, hex_width, result, more_follows=more_follows)
    if result.stopped_at is not None and not len(result):
        # Garbage from the start: "missing header" would only be noise next to the real verdict.
        result.anomalies[:] = [a for a in anomalies if not a.message.startswith("missing header")]
    return result


def _read_header(header: str, result: PackedRefs) -> None:
    if header.startswith(HEADER_PREFIX):
        result.has_header = True
        result.traits = frozenset(t for t in header[len(HEADER_PREFIX) :].split(" ") if t)
        unknown = sorted(result.traits - KNOWN_TRAITS)
        if unknown:
            result.anomalies.append(
                Anomaly(1, f"unknown header traits {', '.join(map(repr, unknown))}: git ignores them")
            )
    else:
        result.anomalies.append(
            Anomaly(
                1,
                "odd header: git expects '# pack-refs with: ...'; git refuses this "
                "file ('unexpected line in packed-refs'), every git command here fails",
            )
        )


def _stop(result: PackedRefs, lineno: int, offset: int, line: bytes) -> None:
    what = "NUL bytes" if line[:1] == b"\x00" else f"{_preview(line.decode('utf-8', 'surrogateescape'))}"
    result.anomalies.append(
        Anomaly(
            lineno,
            f"garbage: no newline in {MAX_LINE // 1024} KiB ({what}); not a packed-refs line. git refuses "
            f"this file, every git command here fails; gitward stops reading at byte {offset:,}",
        )
    )
    result.stopped_at = offset


def _may_hold_invalid_names(buf, start: int) -> bool:
    """A cheap whole-file test: False means every name is valid (no per-line check needed)."""
    if _SUSPICIOUS_CHARS.search(buf, start):
        return True
    if any(buf.find(needle, start) != -1 for needle in _SUSPICIOUS_SUBSTRINGS):
        return True
    peel_lines = buf.count(b"\n^", max(start - 1, 0)) + (buf[start : start + 1] == b"^")
    if buf.count(b"^", start) != peel_lines:
        return True  # a '^' inside a name, not at the start of a peeled line
    # Every ref line has exactly one space: a second one is inside a name.
    return buf.count(b" ", start) != buf.count(b"\n", start) - peel_lines


# Names made only of these characters, with no empty or dot-led component, are always valid.
_PLAIN_REFNAME = re.compile(r"[A-Za-z0-9_+=,-]+(?:/[A-Za-z0-9_+=,-]+)*")


def invalid_refname(name: str) -> bool:
    """True when git's check_refname_format() rejects ``name`` (one-level names allowed)."""
    if _PLAIN_REFNAME.fullmatch(name):
        return False
    return bool(_BAD_REFNAME.search(name)) or any(
        part.startswith(".") or part.endswith(".lock") or not part for part in name.split("/")
    )


def refname_is_safe(name: str) -> bool:
    """git's refname_is_safe(): an invalid name that is unsafe makes git die, not skip it."""
    if name.startswith("refs/"):
        rest = name[5:]
        # normalize_path_copy() must leave the rest unchanged: no empty, '.' or '..' parts.
        return bool(rest) and all(part not in ("", ".", "..") for part in rest.split("/"))
    return bool(name) and all(c == "_" or "A" <= c <= "Z" for c in name)


_CANONICAL_BODIES: dict[int, re.Pattern] = {}
_STRICT_BODIES: dict[int, re.Pattern] = {}
# A name component git always accepts: no dot at either end, no "..", plain characters.
_PLAIN_COMPONENT = rb"[A-Za-z0-9_+=,-]++(?:\.[A-Za-z0-9_+=,-]++)*+"


def _canonical_body(hex_width: int) -> re.Pattern:
    """Well-formed lines with any name (names are checked separately)."""
    if hex_width not in _CANONICAL_BODIES:
        hex_id = b"[0-9a-f]{%d}" % hex_width
        _CANONICAL_BODIES[hex_width] = re.compile(
            rb"(?:" + hex_id + rb" refs/[^\n\r\x00]++\n(?:\^" + hex_id + rb"\n)?+)*+"
        )
    return _CANONICAL_BODIES[hex_width]


def _strict_body(hex_width: int) -> re.Pattern:
    """Well-formed lines whose names are plainly valid: one C pass proves both."""
    if hex_width not in _STRICT_BODIES:
        hex_id = b"[0-9a-f]{%d}" % hex_width
        name = rb"refs/" + _PLAIN_COMPONENT + rb"(?:/" + _PLAIN_COMPONENT + rb")*+"
        # Possessive quantifiers: no backtracking stack, so memory stays flat on 200k lines.
        _STRICT_BODIES[hex_width] = re.compile(rb"(?:" + hex_id + rb" " + name + rb"\n(?:\^" + hex_id + rb"\n)?+)*+")
    return _STRICT_BODIES[hex_width]


def _only_missing_header(anomalies: list[Anomaly]) -> bool:
    return all(a.message.startswith("missing header") for a in anomalies)


def _use_canonical(buf, start: int, hex_width: int, result: PackedRefs) -> bool:
    """Keep a canonical file as raw bytes (200,000 refs checked in well under 0.1 s).

    Canonical: every line well-formed, every name valid, names strictly increasing in git's
    byte order (so no duplicates, and a bisection finds every ref). Any doubt returns False
    and the line-by-line parser names the exact line.
    """
    if _strict_body(hex_width).fullmatch(buf, start):
        if buf.find(b".lock\n", start) != -1 or buf.find(b".lock/", start) != -1:
            return False
    elif not _canonical_body(hex_width).fullmatch(buf, start) or _may_hold_invalid_names(buf, start):
        return False
    count = _count_if_increasing(buf, start)
    if count is None:
        return False
    result._use_buffer(buf, start, hex_width, count)
    return True


# In a canonical file a space only ever separates id and name; peeled lines hold none.
_NAMES = re.compile(rb" ([^\n]*+)\n")


def _count_if_increasing(buf, start: int) -> int | None:
    """The number of refs when names strictly increase (bytes compare as git's memcmp)."""
    count = 0
    previous = b""
    for chunk in _chunks(buf, start):
        names = _NAMES.findall(chunk)
        if not names:
            continue
        if count and names[0] <= previous:
            return None
        if any(map(ge, names, islice(names, 1, None))):
            return None
        previous = names[-1]
        count += len(names)
    return count


class _Reporter:
    """Anomalies, at most ANOMALY_LIMIT of each kind; the rest are counted."""

    def __init__(self, anomalies: list[Anomaly]) -> None:
        self.anomalies = anomalies
        self.counts: dict[str, int] = {}

    def add(self, kind: str, lineno: int, message: str) -> None:
        seen = self.counts.get(kind, 0) + 1
        self.counts[kind] = seen
        if seen <= ANOMALY_LIMIT:
            self.anomalies.append(Anomaly(lineno, message))

    def close(self) -> None:
        for kind, seen in self.counts.items():
            if seen > ANOMALY_LIMIT:
                self.anomalies.append(Anomaly(0, f"{seen - ANOMALY_LIMIT:,} more lines with {kind} not listed"))


def _parse_records(buf, start: int, hex_width: int, result: PackedRefs, *, more_follows: bool) -> None:
    """The exact line-by-line reader: every anomaly with its line, one line in memory at a time.

    ``more_follows``: ``buf`` is the start of the file; an incomplete last line ends the parse.

    While names keep increasing (a sorted file with a few bad lines, the usual damage), the
    good lines are copied in canonical form into one buffer that is then searched like a
    canonical file: about the file's size, nothing per line. From the first name out of order
    or repeated on, a dict (git sorts such a file in memory, too).
    """
    values = result._dict
    peeled = result._peeled
    clean: bytearray | None = bytearray()  # the canonical copy, while names increase
    previous_key = b""
    refs = 0
    report = _Reporter(result.anomalies)
    check_sorted = result.sorted_claim
    previous_name: str | None = None  # the last ref with a value: sorting is checked against it
    peel_target: str | None = None  # the ref a '^' line on the next line peels
    previous_line_had_ref = False
    unsorted_reported = False
    garbage = 0
    sep = hex_width  # position of the separator between id and name
    lineno = 1 if start else 0
    pos = start
    end = len(buf)
    while pos < end:
        lineno += 1
        newline = buf.find(b"\n", pos, min(end, pos + MAX_LINE + 1))
        if newline < 0:
            if end - pos > MAX_LINE:
                _stop(result, lineno, pos, bytes(buf[pos : pos + 60]))
                break
            if more_follows:
                break  # the rest of this line is not read yet
            # No value from it: an unterminated line is often a torn write, its name cut short.
            report.add(
                "unterminated", lineno,
                f"unterminated last line {_preview(_text(bytes(buf[pos:pos + 80])))}: git refuses this file "
                "('unterminated line in packed-refs'), every git command here fails",
            )
            break
        else:
            line = bytes(buf[pos:newline])
        pos = newline + 1
        if line[:1] == b"^":
            if not previous_line_had_ref:
                report.add("orphan peeled", lineno, "peeled line '^...' without a ref before it: git refuses this file")
            elif len(line) != sep + 1 or not _HEX_BYTES.issuperset(line[1:]):
                report.add("garbage peeled", lineno, f"garbage peeled line {_preview(_text(line))}: git refuses this file")
            elif peel_target is None:
                pass  # git suppresses the peel of a broken ref
            elif clean is not None:
                clean += line.lower() + b"\n"
            else:
                peeled[peel_target] = line[1:].decode("ascii").lower()
            previous_line_had_ref = False
            continue
        previous_line_had_ref = False
        peel_target = None
        if len(line) <= sep or line[sep] not in _GIT_SPACE or not _HEX_BYTES.issuperset(line[:sep]):
            garbage += 1
            report.add(
                "garbage", lineno,
                f"garbage line {_preview(_text(line))}: git refuses this packed-refs "
                "('unexpected line in packed-refs')",
            )
            if garbage >= GARBAGE_LIMIT and garbage > refs:
                result.stopped_at = pos
                result.anomalies.append(
                    Anomaly(lineno, f"{garbage} garbage lines and {refs} refs: not a packed-refs file, "
                                    f"git refuses it; gitward stops reading at byte {pos:,}")
                )
                break
            continue
        value = line[:sep].decode("ascii").lower()
        raw_name = line[sep + 1 :]
        name = raw_name.decode("utf-8", "surrogateescape")
        if line[sep] != 0x20:
            report.add(
                "odd separator", lineno,
                f"{_preview(_text(line[sep:sep + 1]))} between id and name: git reads it, but writes a space",
            )
        previous_line_had_ref = True  # its peeled line is read either way
        if not _ref_git_resolves(name, lineno, report):
            continue
        if not name.startswith("refs/"):
            report.add(
                "outside refs/", lineno,
                f"ref {_preview(name)} outside refs/: git lists and resolves it but never writes such a name",
            )
        refs += 1
        if clean is not None:
            if raw_name > previous_key:  # bytes compare as git's memcmp
                clean += value.encode() + b" " + raw_name + b"\n"
                previous_key = raw_name
                previous_name = peel_target = name
                continue
            values, peeled = _read_canonical(clean, 0, sep)
            result._dict, result._peeled = values, peeled
            clean = None
        if name in values:
            report.add(
                "duplicate", lineno,
                f"duplicate ref {_preview(name)}: git lists both values, and a lookup "
                "finds the one its binary search lands on",
            )
        elif check_sorted and previous_name is not None and _sorts_before(name, previous_name):
            if not unsorted_reported:
                report.add(
                    "unsorted", lineno,
                    f"false 'sorted' claim: {_preview(name)} sorts before the line above; "
                    "git's binary search silently misses refs in this file",
                )
                unsorted_reported = True
        values[name] = value
        previous_name = peel_target = name
    report.close()
    if clean is not None:
        result._use_buffer(clean, 0, sep, refs)


def _ref_git_resolves(name: str, lineno: int, report: _Reporter) -> bool:
    """False (with the anomaly) for a name git skips, cuts or dies on; it gets no value."""
    if "\x00" in name:
        report.add(
            "NUL", lineno,
            f"NUL byte in ref name {_preview(name)}: git cannot resolve it (for-each-ref shows "
            "the name cut at the NUL, rev-parse finds nothing); gitward gives it no value",
        )
        return False
    if "\r" in name:
        report.add(
            "CR", lineno,
            f"CRLF line ending: the CR is part of the name {_preview(name)}, which git rejects; "
            "git ignores this ref ('ignoring ref with broken name')",
        )
        return False
    if invalid_refname(name):
        if not refname_is_safe(name):
            report.add(
                "dangerous name", lineno,
                f"dangerous ref name {_preview(name)}: git refuses this file when listing refs "
                "('packed refname is dangerous')",
            )
        else:
            report.add(
                "invalid name", lineno,
                f"invalid ref name {_preview(name)}: git ignores this ref ('ignoring ref with broken name')",
            )
        return False
    return True


def _sorts_before(name: str, other: str) -> bool:
    """git compares packed ref names byte-wise (memcmp)."""
    if name.isascii() and other.isascii():
        return name < other  # same order as bytes, and much cheaper
    return bytes_key(name) < bytes_key(other)


def bytes_key(name: str) -> bytes:
    """Sort key giving git's byte-wise order for names decoded with surrogateescape."""
    return name.encode("utf-8", "surrogateescape")


def _text(line: bytes) -> str:
    return line.decode("utf-8", "surrogateescape")


def _preview(text: str, limit: int = 60) -> str:
    shown = text if len(text) <= limit else text[:limit] + "…"
    return repr(shown)


def read_packed_refs(git_dir: str, hex_width: int = 40, after_read=None) -> PackedRefs:
    """Read ``<git_dir>/packed-refs``. Problems become anomalies, never exceptions.

    ``after_read(size)``: called once the file's bytes are in memory (size 0 when it proved
    missing or unreadable), before they are parsed: the loose refs may be read from then on without
    missing a ref that a concurrent 'git pack-refs' moves (see ``refstore.read_snapshot``).
    """
    path = os.path.join(git_dir, "packed-refs")
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return _after(after_read, PackedRefs())
    except OSError as exc:
        return _after(after_read, PackedRefs(exists=True, anomalies=[Anomaly(0, f"cannot stat packed-refs: {exc.strerror}")]))
    try:
        fd, st = open_regular(path)  # a FIFO here must not hang a scan, nor a device feed it
    except SpecialFile as exc:
        return _after(after_read, _failure(is_link, f"packed-refs is {exc.strerror}"))
    except OSError as exc:
        return _after(after_read, _failure(is_link, f"cannot read packed-refs: {exc.strerror}"))
    try:
        result = _read_and_parse(fd, st.st_size, hex_width, after_read)
    except OSError as exc:
        return _after(after_read, _failure(is_link, f"cannot read packed-refs: {exc.strerror}"))
    finally:
        os.close(fd)
    result.mtime = st.st_mtime
    result.is_symlink = is_link
    if is_link:
        result.anomalies.insert(
            0,
            Anomaly(
                0,
                "packed-refs is a symlink: git reads through it, and a rewrite by "
                "'git pack-refs' replaces the file it points to",
            ),
        )
    return result


def _read_and_parse(fd: int, size: int, hex_width: int, after_read) -> PackedRefs:
    if size > PROBE_BYTES:
        # Judge the start before reading the rest: 2 GB of NULs is garbage from byte 0.
        probe = os.pread(fd, PROBE_BYTES, 0)
        if not _starts_well(probe, hex_width):
            head = _parse(probe, size, hex_width, more_follows=True)
            if head.stopped_at is not None:
                if os.pread(fd, 1, size - 1) != b"\n":
                    head.anomalies.append(
                        Anomaly(0, "the file does not end with a newline: git refuses it "
                                   "('unterminated line in packed-refs'), every git command here fails")
                    )
                if after_read is not None:
                    after_read(len(probe))
                return head
        del probe
    data = _read_exactly(fd, size)
    if after_read is not None:
        after_read(len(data))
    return _parse(data, len(data), hex_width)


def _starts_well(probe: bytes, hex_width: int) -> bool:
    """A header (or none) then a well-formed first ref line: the usual start of a file."""
    start = 0
    if probe[:1] == b"#":
        start = probe.find(b"\n") + 1
        if not start or not probe.startswith(HEADER_PREFIX.encode()):
            return False
    # Every whole line of the probe canonical: anything else is judged before reading on.
    return _canonical_body(hex_width).match(probe, start).end() == probe.rfind(b"\n") + 1 > start


_MAX_READ = 0x7FFFF000


def _read_exactly(fd: int, size: int) -> bytes | bytearray:
    """The first ``size`` bytes (fewer if the file shrank), in one buffer: no second copy."""
    if size <= _MAX_READ:
        # Plain os.read: Python's buffered open() adds an fstat, an ioctl and two lseeks.
        return os.read(fd, size)
    # Linux reads at most _MAX_READ bytes at a time: fill one buffer, never join copies.
    buf = bytearray(size)
    view = memoryview(buf)
    filled = 0
    while filled < size:
        count = os.readv(fd, [view[filled:]])
        if not count:
            break
        filled += count
    view.release()
    if filled < size:
        del buf[filled:]
    return buf


def _failure(is_link: bool, message: str) -> PackedRefs:
    return PackedRefs(exists=True, is_symlink=is_link, anomalies=[Anomaly(0, message)])


def _after(after_read, result: PackedRefs) -> PackedRefs:
    if after_read is not None:
        after_read(0)
    return result
