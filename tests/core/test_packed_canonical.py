"""The whole-file canonical check agrees with the line-by-line parser, on every engine path.

``packed_canonical.canonical_count`` decides in a few C passes that a packed-refs body is canonical (the
only kind git writes): then it is kept as raw bytes and bisected, and ``refs --shadowed`` trusts
its lookups. It must never call a file canonical that the line parser would not keep as it is
(an anomaly, an invalid name, a name out of order). Both of its paths are checked: the strict
pattern (where this Python's ``re`` runs it correctly) and the fallback (plain pattern plus
``may_hold_invalid_names``, used on CPython 3.11.2). The line parser is the oracle here; git
judges the parser in ``test_git_packed_scenarios.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core import packed, packed_canonical
from tui.core.packed import PackedRefs
from tui.core.packed_canonical import canonical_count, canonical_file_count, find_if_increasing
from tui.core.packed_check import parse_records, read_header

HEADER = b"# pack-refs with: peeled fully-peeled sorted \n"
A = b"a" * 40
B = b"b" * 40


def line_parser_keeps_as_is(data: bytes) -> int | None:
    """The ref count when the line parser finds nothing to say and keeps exactly these lines."""
    result = PackedRefs(size=len(data), exists=True)
    newline = data.index(b"\n")
    read_header(data[:newline].decode("utf-8", "surrogateescape"), result)
    parse_records(data, newline + 1, 40, result, more_follows=False)
    if result.anomalies or result._dict is not None or bytes(result._buf) != data[newline + 1 :]:
        return None
    return result._count


@pytest.fixture(params=["strict", "fallback"])
def engine(request, monkeypatch):
    if request.param == "strict" and not packed_canonical._strict_engine_ok():
        pytest.skip("this Python's re runs the strict pattern wrongly (CPython 3.11.2)")
    if request.param == "fallback":
        monkeypatch.setattr(packed_canonical, "_STRICT_ENGINE_OK", False)
    return request.param


@pytest.mark.parametrize(
    "body, count",
    [
        (b"", 0),
        (A + b" refs/heads/a\n" + B + b" refs/tags/v1.2.3\n^" + A + b"\n", 2),
        (A + b" refs/heads/a\n" + A + b" refs/heads/a.lock.b\n" + A + b" refs/heads/a.lockx\n", 3),
        (A + b" refs/heads/a.lock\n", None),
        (A + b" refs/heads/a.lock/b\n", None),  # a component ending in .lock: git ignores it
        (A + b" refs/heads/a..b\n", None),
        (A + b" refs/heads/.a\n", None),
        (A + b" refs/heads/a.\n", None),
        (A + b" refs/heads//a\n", None),
        (A + b" refs/heads/a/\n", None),
        (A + b" refs/heads/a b\n", None),
        (A + b" refs/heads/a^b\n", None),
        (A + b" refs/heads/a@{1}\n", None),
        (A + b" refs/heads/a:b\n", None),
        (A + b" refs/heads/a\tb\n", None),
        (A + b" refs/heads/b\n" + A + b" refs/heads/a\n", None),
        (A + b" refs/heads/a\n" + A + b" refs/heads/a\n", None),
        (A + b" refs/heads/a\n^" + A + b"\n^" + B + b"\n", None),
        (b"^" + A + b"\n" + A + b" refs/heads/a\n", None),
        (A.upper() + b" refs/heads/a\n", None),
        (A[:39] + b"\x80 refs/heads/a\n", None),  # the strict pattern lets 0x80 through in ids
        (A + b" refs/heads/a\n^" + B[:39] + b"\x80\n", None),
        (A + b" refs/heads/a", None),
        (A + b" refs/heads/a\r\n", None),
    ],
)
def test_canonical_count_cases(engine, body, count):
    data = HEADER + body
    assert canonical_count(data, len(HEADER), 40) == count
    assert line_parser_keeps_as_is(data) == count
    assert canonical_file_count(data, 40) == count


def test_canonical_file_count_needs_a_clean_header():
    body = A + b" refs/heads/a\n"
    assert canonical_file_count(HEADER + body, 40) == 1
    assert canonical_file_count(b"# pack-refs with: peeled shiny \n" + body, 40) is None
    assert canonical_file_count(b"# hello\n" + body, 40) is None
    assert canonical_file_count(body, 40) is None  # no header: the full read handles it


# Pieces that make names valid, invalid or merely odd, and lines well- or ill-formed.
_NAME_PIECES = ["a", "b", "z", "0", "-", "_", ".", "..", "/", "//", ".lock", "lock", "@", "@{", "^", " ",
                "\t", ":", "\u00fc", "\udcff", "~", "[", "\\", "*", "?", "=", ",", "+"]
_names = st.lists(st.sampled_from(_NAME_PIECES), min_size=1, max_size=6).map(lambda parts: "refs/" + "".join(parts))
_ids = st.sampled_from([A, B, A.upper(), A[:39], A + b"a", b"g" * 40, A[:39] + b"\x80"])


@st.composite
def _bodies(draw) -> bytes:
    names = draw(st.lists(_names, max_size=8))
    if draw(st.booleans()):
        names.sort(key=lambda n: n.encode("utf-8", "surrogateescape"))
    out = b""
    for name in names:
        out += draw(_ids) + draw(st.sampled_from([b" ", b" ", b" ", b"\t"])) + name.encode("utf-8", "surrogateescape")
        out += draw(st.sampled_from([b"\n", b"\n", b"\n", b"\r\n"]))
        if draw(st.integers(0, 5)) == 0:
            out += b"^" + draw(_ids) + b"\n"
    if draw(st.integers(0, 9)) == 0:
        out = out[:-1]
    return out


@settings(max_examples=400, deadline=None)
@given(_bodies(), st.sampled_from(["strict", "fallback"]))
def test_canonical_check_agrees_with_the_line_parser(body, path):
    data = HEADER + body
    saved = packed_canonical._STRICT_ENGINE_OK
    if path == "fallback":
        packed_canonical._STRICT_ENGINE_OK = False
    elif not packed_canonical._strict_engine_ok():
        return  # CPython 3.11.2: the strict pattern is never used here
    try:
        fast = canonical_count(data, len(HEADER), 40)
    finally:
        packed_canonical._STRICT_ENGINE_OK = saved
    expected = line_parser_keeps_as_is(data)
    if path == "strict" and expected is not None and fast is None:
        # The strict pattern may refuse valid names it cannot prove plain (e.g. "a./b"): then the
        # line parser reads the file, only slower. It must never accept more.
        return
    assert fast == expected, data


_plain_names = st.lists(st.sampled_from(["a", "b", "z", "0", "-", "/", "."]), min_size=1, max_size=5).map(
    lambda parts: "refs/" + "".join(parts)
)


@settings(max_examples=200, deadline=None)
@given(st.sets(_plain_names, max_size=30), st.sets(_plain_names, max_size=10), st.integers(1, 200), st.data())
def test_found_records_are_the_bisection_answers(names, asked, window, data):
    """find_if_increasing's records for the asked names are what PackedRefs' own lookup finds,
    whatever the window size (names falling between windows included)."""
    body = b""
    for name in sorted(names, key=str.encode):
        body += A + b" " + name.encode() + b"\n"
        if data.draw(st.booleans()):
            body += b"^" + B + b"\n"
    parsed = packed.parse_packed_refs(HEADER + body)
    if parsed.anomalies or parsed._dict is not None:
        return  # an invalid name (e.g. "refs/a/"): not canonical, find_if_increasing is not asked
    old = packed_canonical.CHUNK_BYTES
    packed_canonical.CHUNK_BYTES = window
    try:
        found = find_if_increasing(HEADER + body, len(HEADER), 40, sorted(asked | names))
    finally:
        packed_canonical.CHUNK_BYTES = old
    assert found is not None
    count, records = found
    assert count == len(parsed)
    # Offsets are the records' places in each reader's own buffer: the line parser (taken when
    # the strict pattern cannot prove a name plain, e.g. "refs/a./a") keeps the body alone.
    data = HEADER + body
    assert {name: _line_at(data, offset) for name, offset in records.items()} == {
        name: _line_at(parsed._buf, parsed._record(name)) for name in asked | names if name in parsed
    }
    assert set(records) == names


def _line_at(buf, offset: int) -> bytes:
    return bytes(buf[offset : buf.index(b"\n", offset)])


def test_a_name_the_strict_pattern_cannot_prove_plain_is_found_at_the_same_record():
    """"refs/a./a" sends parse_packed_refs to the line parser, which keeps the body alone: its
    offsets differ from the bisection's, the records they point at do not (hypothesis found it)."""
    data = HEADER + A + b" refs/a./a\n^" + B + b"\n"
    parsed = packed.parse_packed_refs(data)
    count, records = find_if_increasing(data, len(HEADER), 40, ["refs/a./a", "refs/b"])
    assert count == 1 and set(records) == {"refs/a./a"}
    assert _line_at(data, records["refs/a./a"]) == _line_at(parsed._buf, parsed._record("refs/a./a")) == A + b" refs/a./a"
