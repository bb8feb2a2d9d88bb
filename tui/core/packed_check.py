"""Checking ``packed-refs`` line by line as git does: its anomalies and its rules for names.

``packed.py`` keeps a canonical file (the only kind git writes) as raw bytes without looking
at each line. Everything else comes here: ``parse_records`` reads line by line and names every
line git would refuse, ignore or read differently (garbage, a peeled line without a ref, a
false ``sorted`` claim, duplicates, CRLF, invalid or dangerous names), with git's own words.
``invalid_refname`` / ``refname_is_safe`` are git's ``check_refname_format()`` and
``refname_is_safe()``; ``blocking_anomalies`` says which anomalies stop gitward from rewriting
the file.

This module sits below ``packed.py``: it fills a ``PackedRefs`` it is handed and never
imports it (``packed`` imports this).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TYPE_CHECKING = False  # typing's own flag, without importing typing at start
if TYPE_CHECKING:  # annotations only: packed.py imports this module
    from tui.core.packed import PackedRefs

HEADER_PREFIX = "# pack-refs with:"
KNOWN_TRAITS = frozenset({"peeled", "fully-peeled", "sorted"})


# The longest line read as a possible ref: names are paths (PATH_MAX 4096 on Linux); a longer
# line without a newline is garbage, and reading on would only cost time and memory.
MAX_LINE = 64 * 1024

# Garbage lines after which, with more garbage than refs seen, the file is not read further.
GARBAGE_LIMIT = 20
# Anomalies of one kind listed one by one; the rest are counted.
ANOMALY_LIMIT = 20


# git's check_refname_format(): what makes a name invalid. git flags such refs as broken.
_BAD_REFNAME = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|/\.|\.lock(?:/|$)|//|^/|/$|\.$|^\.|^@$")
# A cheap whole-file pre-check: if none of these occur, every name is valid and the
# per-line check can be skipped (it would cost more than the parse on 200,000 refs).
_SUSPICIOUS_BYTES = bytes(range(0x00, 0x0A)) + bytes(range(0x0B, 0x20)) + b"\x7f~:?*[\\@"
# Every other byte: ``bytes.translate`` deletes them in one C pass, the suspicious ones remain.
_UNSUSPICIOUS_BYTES = bytes(b for b in range(256) if b not in _SUSPICIOUS_BYTES)
# Where a dot makes a name invalid: "..", a dot at the end of the name, a component ending in
# ".lock", a component (or the name) starting with a dot. The literal first byte lets ``re``
# skip to the next dot in C: a file without dots costs one scan.
_BAD_DOT = re.compile(rb"\.(?:[.\n]|lock[/\n]|(?<=[/ ]\.))")
# An empty component: "//", or a name ending in "/".
_BAD_SLASH = re.compile(rb"/[/\n]")


_HEX_BYTES = frozenset(b"0123456789abcdefABCDEF")
# git's isspace() (ctype.c): what may separate the object id from the name.
_GIT_SPACE = frozenset(b" \t\r")



@dataclass(frozen=True, slots=True)
class Anomaly:
    line: int  # 1-based; 0 when about the file as a whole
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message



def read_header(header: str, result: PackedRefs) -> None:
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


def stop_reading(result: PackedRefs, lineno: int, offset: int, line: bytes) -> None:
    what = "NUL bytes" if line[:1] == b"\x00" else f"{_preview(line.decode('utf-8', 'surrogateescape'))}"
    result.anomalies.append(
        Anomaly(
            lineno,
            f"garbage: no newline in {MAX_LINE // 1024} KiB ({what}); not a packed-refs line. git refuses "
            f"this file, every git command here fails; gitward stops reading at byte {offset:,}",
        )
    )
    result.stopped_at = offset



# A regex match holds the GIL for its whole run: 12 MB in one call froze the console's event
# loop for ~100 ms while a worker thread read packed-refs. Slices of this size hold it ~2 ms.
MATCH_SLICE_BYTES = 256 << 10


def fullmatch_in_slices(body: re.Pattern, buf, start: int) -> bool:
    """``body.fullmatch(buf, start)`` a slice at a time (the same answer: every slice ends at a
    newline and the next one starts with a ref line, never a ``^`` peeled line, and ``body`` is
    a repetition of whole records)."""
    end = len(buf)
    while start < end:
        stop = buf.find(b"\n", min(start + MATCH_SLICE_BYTES, end - 1))
        stop = end if stop < 0 else stop + 1
        while buf[stop : stop + 1] == b"^":  # a peeled line belongs to the record before it
            newline = buf.find(b"\n", stop)
            stop = end if newline < 0 else newline + 1
        if body.fullmatch(buf, start, stop) is None:
            return False
        start = stop
    return True


def may_hold_invalid_names(buf, start: int) -> bool:
    """A cheap whole-file test: False means every name is valid (no per-line check needed).

    For a body whose lines are already known to be "<id> refs/<anything but CR, LF, NUL>"
    (with "^<id>" peeled lines): C passes only (translate, count, literal-led searches), about
    35 ms on 200,000 refs."""
    suspicious = len(buf.translate(None, _UNSUSPICIOUS_BYTES))
    if suspicious and suspicious != len(bytes(buf[:start]).translate(None, _UNSUSPICIOUS_BYTES)):
        return True  # the header's ':' aside
    if _BAD_DOT.search(buf, start) or _BAD_SLASH.search(buf, start):
        return True
    peel_lines = 0
    if buf.count(b"^", start):
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



def only_missing_header(anomalies: list[Anomaly]) -> bool:
    return all(a.message.startswith("missing header") for a in anomalies)



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


def parse_records(buf, start: int, hex_width: int, result: PackedRefs, *, more_follows: bool) -> None:
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
                stop_reading(result, lineno, pos, bytes(buf[pos : pos + 60]))
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
            values, peeled = result._use_dicts(clean, sep)
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


def blocking_anomalies(packed: PackedRefs) -> list[Anomaly]:
    """The anomalies that stop gitward from rewriting this packed-refs ([] = it may).

    A missing header is understood (old git wrote none; git sorts such a file in memory and
    gitward keeps it as it is). Everything else means git reads the file differently or not
    at all: unknown traits, garbage, CRLF, a false 'sorted' claim, duplicates, symlinks.
    """
    return [a for a in packed.anomalies if not a.message.startswith("missing header")]
