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

from tui.core.fsutil import SpecialFile, open_regular
from tui.core.packed_canonical import CHUNK_BYTES, canonical_count, canonical_file_count  # noqa: F401
from tui.core.packed_canonical import canonical_body as _canonical_body
# Anomaly, bytes_key, invalid_refname, refname_is_safe: also packed's API (callers import them here).
from tui.core.packed_check import (  # noqa: F401
    HEADER_PREFIX,
    MAX_LINE,
    Anomaly,
    bytes_key,
    invalid_refname,
    only_missing_header,
    parse_records,
    read_header,
    refname_is_safe,
    stop_reading,
)

# A file larger than this is judged from its first PROBE_BYTES before the rest is read.
PROBE_BYTES = 4 * MAX_LINE
# A canonical file keeps the name of one record per this many bytes, for lookups.
SAMPLE_BYTES = 1024  # ~1 sampled name per 15 Gerrit refs: about 7% of the file's size
# Lookups remembered (a dict entry each, for names the caller already holds).
MEMO_LIMIT = 1 << 20
_HEX = frozenset("0123456789abcdefABCDEF")  # git's get_oid_hex accepts both cases
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
        self._sample_names: list[bytes] | None = []  # every SAMPLE_BYTES, the next record's name
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

    def ordered_names(self, limit: int | None = None) -> list[str] | None:
        """The names in git's byte order (the first ``limit``), taken from the kept bytes of a
        canonical file without building ``values`` (a third of the time, none of the memory).
        None when the file is not kept that way: then ``values`` holds the names, unordered."""
        if self._dict is not None:
            return None
        names: list[str] = []
        # A preview needs a few KiB, not a MiB decoded: names are rarely over 100 bytes.
        size = CHUNK_BYTES if limit is None else max(4096, 128 * limit)
        for chunk in _chunks(self._buf, self._start, size):
            names.extend(_NAME_TEXT.findall(chunk.decode("utf-8", "surrogateescape")))
            if limit is not None and len(names) >= limit:
                return names[:limit]
        return names

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
        names = self._sample_names
        if names is None:  # the first lookup the memo cannot answer: sample now
            names, offsets = _sample(self._buf, self._start, self._sep)
            self._sample_offsets = offsets  # before the names: another thread tests the names
            self._sample_names = names
        index = bisect_right(names, key)
        if not index or b"\n" in key or b" " in key:
            return -1
        offsets = self._sample_offsets
        end = offsets[index] if index < len(offsets) else len(self._buf)
        needle = b" " + key + b"\n"
        # rfind compares a candidate from its end: names share long prefixes, not tails.
        found = self._buf.rfind(needle, offsets[index - 1], end + self._sep + len(needle))
        return found - self._sep if found >= 0 else -1

    def _use_dicts(self, buf, sep: int) -> tuple[dict[str, str], dict[str, str]]:
        """Canonical bytes into the dicts: packed_check.parse_records, once names stop increasing."""
        self._dict, self._peeled = _read_canonical(buf, 0, sep)
        return self._dict, self._peeled

    def _use_buffer(self, buf: bytes | bytearray, start: int, sep: int, count: int) -> None:
        self._dict = self._peeled = None
        self._buf, self._start, self._sep, self._count = buf, start, sep, count
        self._sample_names = None  # sampled on the first lookup the memo cannot answer


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
                stop_reading(result, 1, 0, line)
            else:
                anomalies.append(
                    Anomaly(1, "unterminated last line: git refuses this file "
                               "('unterminated line in packed-refs'), every git command here fails")
                )
                read_header(line.decode("utf-8", "surrogateescape"), result)
            return result
        read_header(bytes(buf[:newline]).decode("utf-8", "surrogateescape"), result)
        start = newline + 1
    else:
        anomalies.append(
            Anomaly(
                1,
                "missing header '# pack-refs with: peeled fully-peeled sorted': git "
                "reads it, but has to sort it in memory and cannot trust peeled values",
            )
        )
    if not more_follows and only_missing_header(anomalies) and _use_canonical(buf, start, hex_width, result):
        return result
    parse_records(buf, start, hex_width, result, more_follows=more_follows)
    if result.stopped_at is not None and not len(result):
        # Garbage from the start: "missing header" would only be noise next to the real verdict.
        result.anomalies[:] = [a for a in anomalies if not a.message.startswith("missing header")]
    return result


def _use_canonical(buf, start: int, hex_width: int, result: PackedRefs) -> bool:
    """Keep a canonical file as raw bytes (200,000 refs checked in well under 0.1 s).

    Any doubt returns False and the line-by-line parser names the exact line.
    """
    count = canonical_count(buf, start, hex_width)
    if count is None:
        return False
    result._use_buffer(buf, start, hex_width, count)
    return True


_NAME_TEXT = re.compile(r" ([^\n]*+)\n")  # a name in a canonical file (ordered_names)


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


# --------------------------------------------------------------------------- byte edits
#
# The writing half, next to the reader (as dulwich's read_packed_refs / write_packed_refs).
# Pure bytes in, bytes out: taking packed-refs.lock and replacing the file is the write
# side's (core/write/files_backend.py), with git's lock protocol.

# What git 2.39 writes as the first line (refs/packed-backend.c).
GIT_PACKED_HEADER = b"# pack-refs with: peeled fully-peeled sorted \n"


def record_name(line: bytes, hex_width: int) -> str:
    """The ref name of one record line ("<id> <name>\n")."""
    return line[hex_width + 1 :].rstrip(b"\n").decode("utf-8", "surrogateescape")


def packed_records(data: bytes, names: set[str], hex_width: int) -> dict[str, list[bytes]]:
    """The lines (record + its peeled line) of ``names`` in a well-formed packed-refs."""
    return drop_packed_records(data, names, hex_width)[1]


def drop_packed_records(data: bytes, names: set[str], hex_width: int) -> tuple[bytes, dict[str, list[bytes]]]:
    """``data`` without the records of ``names`` (and their ``^`` peeled lines).

    Everything else stays byte for byte: the header with its traits, the order, other peeled
    lines. Removing records keeps a sorted file sorted and a fully-peeled file fully peeled.
    """
    kept: list[bytes] = []
    removed: dict[str, list[bytes]] = {}
    dropping: str | None = None
    for line in data.splitlines(keepends=True):
        if line.startswith(b"^"):
            (removed[dropping] if dropping is not None else kept).append(line)
            continue
        dropping = None
        if line.startswith(b"#"):
            kept.append(line)
            continue
        name = record_name(line, hex_width)
        if name in names:
            removed.setdefault(name, []).append(line)
            dropping = name
        else:
            kept.append(line)
    return b"".join(kept), removed


def insert_packed_records(data: bytes, records: dict[str, list[bytes]], hex_width: int, header: bytes) -> bytes:
    """``data`` with ``records`` put back at their byte-order position (undo of a drop).

    One merge pass (the file is sorted when git wrote it), so undoing 10,000 refs in a
    200,000-ref file stays linear.
    """
    lines = data.splitlines(keepends=True)
    head: list[bytes] = []
    if lines and lines[0].startswith(b"#"):
        head = [lines.pop(0)]
    elif not lines and header:
        head = [header]
    pending = sorted((bytes_key(name), record) for name, record in records.items())
    out: list[bytes] = []
    position = 0
    for line in lines:
        if not line.startswith(b"^"):
            key = bytes_key(record_name(line, hex_width))
            while position < len(pending) and pending[position][0] < key:
                out.extend(pending[position][1])
                position += 1
        out.append(line)
    for _key, record in pending[position:]:
        out.extend(record)
    return b"".join(head + out)


def header_line(data: bytes) -> bytes:
    """The header line of a packed-refs (with its newline), or b"" when it has none."""
    first = data.split(b"\n", 1)[0]
    return first + b"\n" if first.startswith(b"#") else b""
