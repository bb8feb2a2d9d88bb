"""Strict reader for ``packed-refs``, following git's ``refs/packed-backend.c``.

The file is read as bytes and decoded with ``surrogateescape`` so ref names that are
not UTF-8 survive a round trip and match names read from the file system.

git's behaviour is the truth. Where git dies on a file (unterminated last line, a header
that is not ``# pack-refs with:``, a line that is neither a ref nor a peeled line), every
git command in that repository fails; we report an anomaly with the line number and keep
what can be read so the operator sees the damage instead of a crash.
"""

from __future__ import annotations

import os
import re
import stat
from itertools import islice
from bisect import bisect_left
from dataclasses import dataclass

from tui.core.fsutil import SpecialFile, open_regular

HEADER_PREFIX = "# pack-refs with:"
KNOWN_TRAITS = frozenset({"peeled", "fully-peeled", "sorted"})

# git's check_refname_format(): what makes a name invalid. git flags such refs as broken.
_BAD_REFNAME = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|/\.|\.lock(?:/|$)|//|^/|/$|\.$|^\.|^@$")
# A cheap whole-file pre-check: if none of these occur, every name is valid and the
# per-line check can be skipped (it would cost more than the parse on 200,000 refs).
_SUSPICIOUS_CHARS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f~:?*\[\\@]")
_SUSPICIOUS_SUBSTRINGS = ("..", "/.", "//", ".lock\n", ".\n", "/\n", " .")

_HEX = frozenset("0123456789abcdefABCDEF")  # git's get_oid_hex accepts both cases


@dataclass(frozen=True, slots=True)
class Anomaly:
    line: int  # 1-based; 0 when about the file as a whole
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class PackedRefs:
    """What one ``packed-refs`` file says.

    A canonical file is kept as its sorted ref lines and searched by bisection, as git
    does: 200,000 refs are never turned into a dict unless a full listing asks for one
    (``values``), which keeps ``refs --shadowed`` on Gerrit-sized files fast and small.
    """

    __slots__ = (
        "peeled", "traits", "has_header", "anomalies", "size", "mtime", "is_symlink", "exists",
        "_dict", "_names", "_lines", "_sep", "_key",
    )

    def __init__(self, *, size: int = 0, exists: bool = False, is_symlink: bool = False,
                 anomalies: list[Anomaly] | None = None) -> None:
        self.peeled: dict[str, str] = {}  # name -> peeled object id
        self.traits: frozenset[str] = frozenset()
        self.has_header = False
        self.anomalies: list[Anomaly] = anomalies if anomalies is not None else []
        self.size = size
        self.mtime: float | None = None
        self.is_symlink = is_symlink
        self.exists = exists
        self._dict: dict[str, str] | None = {}  # name -> object id, when built
        self._names: list[str] | None = None  # sorted names (git's byte order)
        self._lines: list[str] | None = None  # "<id> <name>" lines, parallel to _names
        self._sep = 40
        self._key = None  # None, or bytes_key when names are not all ASCII

    @property
    def sorted_claim(self) -> bool:
        return "sorted" in self.traits

    @property
    def fully_peeled(self) -> bool:
        return "fully-peeled" in self.traits

    @property
    def values(self) -> dict[str, str]:
        """name -> object id for every packed ref (built on first use)."""
        if self._dict is None:
            sep = self._sep
            self._dict = dict(zip(self._names, (line[:sep] for line in self._lines)))
        return self._dict

    def get(self, name: str) -> str | None:
        if self._dict is not None:
            return self._dict.get(name)
        names = self._names
        key = self._key
        index = bisect_left(names, key(name), key=key) if key else bisect_left(names, name)
        if index < len(names) and names[index] == name:
            return self._lines[index][: self._sep]
        return None

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __len__(self) -> int:
        return len(self._dict) if self._dict is not None else len(self._names)

    def names(self) -> list[str]:
        """Every packed ref name, in file order for a canonical file."""
        return list(self._dict) if self._dict is not None else self._names

    def _use_sorted_lines(self, names: list[str], lines: list[str], sep: int, key) -> None:
        self._dict = None
        self._names, self._lines, self._sep, self._key = names, lines, sep, key


def _is_hex_id(text: str, width: int) -> bool:
    return len(text) == width and not (set(text) - _HEX)


def parse_packed_refs(data: bytes, hex_width: int = 40) -> PackedRefs:
    """Parse the bytes of a packed-refs file. Never raises."""
    return _parse_text(data.decode("utf-8", "surrogateescape"), len(data), hex_width)


def _parse_text(text: str, size: int, hex_width: int) -> PackedRefs:
    result = PackedRefs(size=size, exists=True)
    if not text:
        return result
    anomalies = result.anomalies
    _check_bytes(text, anomalies)
    first_newline = text.find("\n")
    header = text[: first_newline if first_newline != -1 else len(text)]
    start = _read_header(header, result) if header.startswith("#") else 0
    if not start:
        anomalies.append(
            Anomaly(
                1,
                "missing header '# pack-refs with: peeled fully-peeled sorted': git "
                "reads it, but has to sort it in memory and cannot trust peeled values",
            )
        )
    body_start = len(header) + 1 if start else 0
    clean_so_far = not anomalies or _only_missing_header(anomalies)
    if clean_so_far and _strict_body(hex_width).fullmatch(text, body_start):
        # Canonical lines with plain names; only a ".lock" ending can still be invalid.
        canonical = True
        may_hold_invalid_names = text.find(".lock\n", body_start) != -1 or text.find(".lock/", body_start) != -1
    else:
        canonical = clean_so_far and bool(_canonical_body(hex_width).fullmatch(text, body_start))
        may_hold_invalid_names = _may_hold_invalid_names(text, body_start)
    lines = text.split("\n")
    # Two whole-text questions answered in C before the text goes: per-line answers cost
    # ~10 ms on 200,000 refs.
    shape = _BodyShape(has_peeled="\n^" in text, ascii=text.isascii())
    # A Gerrit packed-refs runs to hundreds of MB: from here on only the lines are kept.
    del text
    if lines[-1] == "":
        lines.pop()
    else:
        anomalies.append(
            Anomaly(
                len(lines),
                "unterminated last line: git refuses this file "
                "('unterminated line in packed-refs'), every git command here fails",
            )
        )
    if not (canonical and _use_canonical_lines(lines, start, hex_width, result, shape)):
        # Any doubt: the exact line-by-line parser names every anomaly with its line.
        result._dict = {}
        result.peeled = {}
        _parse_records(lines, start, hex_width, result)
    if may_hold_invalid_names:
        _check_names(lines, start, result)
    return result


def _check_bytes(text: str, anomalies: list[Anomaly]) -> None:
    if "\x00" in text:
        first_nul = text.count("\n", 0, text.index("\x00")) + 1
        anomalies.append(Anomaly(first_nul, "NUL byte: git reads lines as C strings and stops there"))
    if "\r" in text:
        first_cr = text.count("\n", 0, text.index("\r")) + 1
        anomalies.append(
            Anomaly(
                first_cr,
                "CRLF line ending: git keeps the CR as part of the ref name, so the ref is "
                "unreadable under its real name",
            )
        )


def _read_header(header: str, result: PackedRefs) -> int:
    """Parse a '#' first line; returns 1 (the body starts on line 2)."""
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
    return 1


def _may_hold_invalid_names(text: str, start: int) -> bool:
    """A cheap whole-file test: False means every name is valid (no per-line check needed)."""
    if _SUSPICIOUS_CHARS.search(text, start):
        return True
    if any(text.find(needle, start) != -1 for needle in _SUSPICIOUS_SUBSTRINGS):
        return True
    peel_lines = text.count("\n^", max(start - 1, 0)) + text.startswith("^", start)
    if text.count("^", start) != peel_lines:
        return True  # a '^' inside a name, not at the start of a peeled line
    # Every ref line has exactly one space: a second one is inside a name.
    return text.count(" ", start) != text.count("\n", start) - peel_lines


def _check_names(lines: list[str], start: int, result: PackedRefs, limit: int = 20) -> None:
    reported = 0
    for index in range(start, len(lines)):
        line = lines[index]
        if line.startswith("^") or len(line) < 42:
            continue
        name = line.partition(" ")[2]
        if name and invalid_refname(name):
            result.anomalies.append(
                Anomaly(index + 1, f"invalid ref name {_preview(name)}: git flags this ref as broken")
            )
            reported += 1
            if reported >= limit:
                return


# Names made only of these characters, with no empty or dot-led component, are always valid.
_PLAIN_REFNAME = re.compile(r"[A-Za-z0-9_+=,-]+(?:/[A-Za-z0-9_+=,-]+)*")


def invalid_refname(name: str) -> bool:
    """True when git's check_refname_format() rejects ``name`` (one-level names allowed)."""
    if _PLAIN_REFNAME.fullmatch(name):
        return False
    return bool(_BAD_REFNAME.search(name)) or any(
        part.startswith(".") or part.endswith(".lock") or not part for part in name.split("/")
    )


_CANONICAL_BODIES: dict[int, re.Pattern] = {}


_STRICT_BODIES: dict[int, re.Pattern] = {}
# A name component git always accepts: no dot at either end, no "..", plain characters.
_PLAIN_COMPONENT = r"[A-Za-z0-9_+=,-]++(?:\.[A-Za-z0-9_+=,-]++)*+"


def _canonical_body(hex_width: int) -> re.Pattern:
    """Well-formed lines with any name (names are checked separately)."""
    if hex_width not in _CANONICAL_BODIES:
        hex_id = f"[0-9a-f]{{{hex_width}}}"
        _CANONICAL_BODIES[hex_width] = re.compile(f"(?:{hex_id} refs/[^\\n\\r\\x00]++\\n(?:\\^{hex_id}\\n)?+)*+")
    return _CANONICAL_BODIES[hex_width]


def _strict_body(hex_width: int) -> re.Pattern:
    """Well-formed lines whose names are plainly valid: one C pass proves both."""
    if hex_width not in _STRICT_BODIES:
        hex_id = f"[0-9a-f]{{{hex_width}}}"
        name = f"refs/{_PLAIN_COMPONENT}(?:/{_PLAIN_COMPONENT})*+"
        # Possessive quantifiers: no backtracking stack, so memory stays flat on 200k lines.
        _STRICT_BODIES[hex_width] = re.compile(f"(?:{hex_id} {name}\\n(?:\\^{hex_id}\\n)?+)*+")
    return _STRICT_BODIES[hex_width]


def _only_missing_header(anomalies: list[Anomaly]) -> bool:
    return all(a.message.startswith("missing header") for a in anomalies)


@dataclass(frozen=True, slots=True)
class _BodyShape:
    has_peeled: bool  # some line starts with '^'
    ascii: bool  # every name is ASCII: str order is git's byte order


def _use_canonical_lines(lines: list[str], start: int, hex_width: int, result: PackedRefs, shape: _BodyShape) -> bool:
    """Fast path for a body the canonical pattern matched (200,000 refs in ~0.1 s).

    The ref lines are kept sorted for bisection. Any doubt (duplicates, a false 'sorted'
    claim) returns False and the line-by-line parser finds the exact line.
    """
    sep = hex_width
    ref_lines = lines[start:] if start else lines
    if shape.has_peeled:
        peeled = result.peeled
        with_peeled, ref_lines = ref_lines, []
        for line in with_peeled:
            if line[0] == "^":
                peeled[ref_lines[-1][sep + 1 :]] = line[1:]
            else:
                ref_lines.append(line)
    names = [line[sep + 1 :] for line in ref_lines]
    if shape.ascii and not any(map(str.__ge__, names, islice(names, 1, None))):
        # Strictly increasing: sorted as git sorts, no duplicates (the usual file).
        result._use_sorted_lines(names, ref_lines, sep, None)
        return True
    key = None if shape.ascii or all(map(str.isascii, names)) else bytes_key
    in_order = sorted(names, key=key)
    if in_order != names:
        if result.sorted_claim:
            return False  # a false claim: the slow path reports the line
        order = sorted(range(len(names)), key=lambda i: key(names[i]) if key else names[i])
        names = in_order
        ref_lines = [ref_lines[i] for i in order]
    del in_order
    if any(map(str.__eq__, names, islice(names, 1, None))):
        return False  # duplicates: let the slow path name the line
    result._use_sorted_lines(names, ref_lines, sep, key)
    return True


def _parse_records(lines: list[str], start: int, hex_width: int, result: PackedRefs) -> None:
    values = result._dict
    peeled = result.peeled
    anomalies = result.anomalies
    check_sorted = result.sorted_claim
    previous_name: str | None = None
    previous_line_had_ref = False
    unsorted_reported = False
    sep = hex_width  # position of the space between id and name
    for index in range(start, len(lines)):
        line = lines[index]
        lineno = index + 1
        if line.startswith("^"):
            peeled_id = line[1:]
            if not previous_line_had_ref:
                anomalies.append(
                    Anomaly(lineno, "peeled line '^...' without a ref before it: git refuses this file")
                )
            elif not _is_hex_id(peeled_id.rstrip("\r"), hex_width):
                anomalies.append(Anomaly(lineno, "garbage peeled line: git refuses this file"))
            else:
                peeled[previous_name] = peeled_id.rstrip("\r").lower()  # type: ignore[index]
            previous_line_had_ref = False
            continue
        # Fast path: "<hex> <name>" with a plausible id.
        if len(line) > sep + 1 and line[sep] == " " and _is_hex_id(line[:sep], hex_width):
            name = line[sep + 1 :]
            value = line[:sep].lower()
        else:
            anomalies.append(
                Anomaly(
                    lineno,
                    f"garbage line {_preview(line)}: git refuses this packed-refs "
                    "('unexpected line in packed-refs')",
                )
            )
            previous_line_had_ref = False
            continue
        if not name.startswith("refs/"):
            anomalies.append(
                Anomaly(lineno, f"ref {_preview(name)} outside refs/: git never lists or updates it")
            )
        if name in values:
            anomalies.append(
                Anomaly(
                    lineno,
                    f"duplicate ref {_preview(name)}: git shows only one of the values, "
                    "and which one depends on the lookup",
                )
            )
        elif check_sorted and previous_name is not None and _sorts_before(name, previous_name):
            if not unsorted_reported:
                anomalies.append(
                    Anomaly(
                        lineno,
                        f"false 'sorted' claim: {_preview(name)} sorts before the line above; "
                        "git's binary search silently misses refs in this file",
                    )
                )
                unsorted_reported = True
        values[name] = value
        previous_name = name
        previous_line_had_ref = True


def _sorts_before(name: str, other: str) -> bool:
    """git compares packed ref names byte-wise (memcmp)."""
    if name.isascii() and other.isascii():
        return name < other  # same order as bytes, and much cheaper
    return bytes_key(name) < bytes_key(other)


def bytes_key(name: str) -> bytes:
    """Sort key giving git's byte-wise order for names decoded with surrogateescape."""
    return name.encode("utf-8", "surrogateescape")


def _preview(text: str, limit: int = 60) -> str:
    shown = text if len(text) <= limit else text[:limit] + "…"
    return repr(shown)


def _read_all(fd: int, size_hint: int) -> bytes:
    # Plain os.read: Python's buffered open() adds an fstat, an ioctl and two lseeks.
    chunks = [os.read(fd, size_hint + 1)]
    while chunks[-1]:  # until EOF: the file may have grown since fstat
        chunks.append(os.read(fd, 1 << 20))
    return chunks[0] if len(chunks) == 2 else b"".join(chunks)


def read_packed_refs(git_dir: str, hex_width: int = 40, after_read=None) -> PackedRefs:
    """Read ``<git_dir>/packed-refs``. Problems become anomalies, never exceptions.

    ``after_read(size)``: called once the file's bytes are in memory (size 0 when it proved
    missing or unreadable), before they are parsed: the loose refs may be read from then on without
    missing a ref that a concurrent 'git pack-refs' moves (see ``refstore.read_snapshot``).
    """
    data, st, is_link, failure = _read_packed_file(os.path.join(git_dir, "packed-refs"))
    if after_read is not None:
        after_read(len(data[0]) if data else 0)
    if failure is not None:
        return failure
    # The bytes are decoded and dropped in one expression: no local keeps a second copy of
    # a Gerrit-sized file alive while it is parsed.
    result = _parse_text(data.pop().decode("utf-8", "surrogateescape"), st.st_size, hex_width)
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


def _read_packed_file(path: str) -> tuple[list[bytes], os.stat_result | None, bool, PackedRefs | None]:
    """([the bytes], stat, is_symlink, None), or a PackedRefs saying why there are none."""
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return [], None, False, PackedRefs()
    except OSError as exc:
        return [], None, False, PackedRefs(exists=True, anomalies=[Anomaly(0, f"cannot stat packed-refs: {exc.strerror}")])
    try:
        fd, st = open_regular(path)  # a FIFO here must not hang a scan, nor a device feed it
    except SpecialFile as exc:
        return [], None, is_link, PackedRefs(
            exists=True, is_symlink=is_link, anomalies=[Anomaly(0, f"packed-refs is {exc.strerror}")]
        )
    except OSError as exc:
        return [], None, is_link, PackedRefs(
            exists=True, is_symlink=is_link, anomalies=[Anomaly(0, f"cannot read packed-refs: {exc.strerror}")]
        )
    try:
        return [_read_all(fd, st.st_size)], st, is_link, None
    except OSError as exc:
        return [], None, is_link, PackedRefs(
            exists=True, is_symlink=is_link, anomalies=[Anomaly(0, f"cannot read packed-refs: {exc.strerror}")]
        )
    finally:
        os.close(fd)
