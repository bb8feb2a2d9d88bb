"""Malformed packed-refs files, with git 2.39 as the judge (issue 8, item 4).

Each case is written into a bare repository whose refs live only in packed-refs. git answers
in two ways (see ``tui/core/packed.py``): a lookup (``git rev-parse``) bisects the raw bytes,
a listing (``git for-each-ref``) reads every line, skips names it rejects and dies on lines it
cannot parse. For every name gitward's value must be git's lookup answer, gitward's listing
must be git's listing, and an anomaly must be reported wherever git dies, warns or the two
disagree. Where gitward deliberately differs, the case says so and why.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from gitrepo import commit_chain, init_bare

from tui.core.packed import parse_packed_refs, read_packed_refs

HEADER = b"# pack-refs with: peeled fully-peeled sorted \n"


@dataclass(frozen=True)
class Case:
    id: str
    body: Callable[[bytes, bytes], bytes]  # (id A, id B) -> the file
    names: tuple[str, ...]  # names asked of git and of gitward
    anomaly: str | None = None  # words an anomaly must contain
    clean: bool = False  # no anomaly at all (git reads it as gitward does)
    # Deliberate differences: name -> which id gitward gives ("a", "b" or None), and why.
    lookup_differs: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    # Names git's listing shows and gitward's does not, and why.
    listing_differs: dict[str, str] = field(default_factory=dict)


def lines(*parts: bytes) -> bytes:
    return b"".join(parts)


def ref(value: bytes, name: str, end: bytes = b"\n", sep: bytes = b" ") -> bytes:
    return value + sep + name.encode("utf-8", "surrogateescape") + end


H = "refs/heads/"
CASES = [
    # --- header variants
    Case("empty-file", lambda a, b: b"", (H + "a",), clean=True),
    Case("header-only", lambda a, b: HEADER, (H + "a",), clean=True),
    Case("header-unterminated", lambda a, b: HEADER[:-1], (H + "a",), anomaly="every git command here fails"),
    Case("header-no-trailing-space", lambda a, b: lines(b"# pack-refs with: peeled fully-peeled sorted\n", ref(a, H + "a")),
         (H + "a",), clean=True),
    Case("header-no-traits", lambda a, b: lines(b"# pack-refs with:\n", ref(b, H + "b"), ref(a, H + "a")),
         (H + "a", H + "b"), clean=True),
    Case("header-unknown-trait", lambda a, b: lines(b"# pack-refs with: peeled shiny \n", ref(a, H + "a")),
         (H + "a",), anomaly="unknown header traits"),
    Case("header-odd", lambda a, b: lines(b"# hello\n", ref(a, H + "a")), (H + "a",), anomaly="every git command here fails"),
    Case("header-no-space-after-hash", lambda a, b: lines(b"#pack-refs with: sorted \n", ref(a, H + "a")),
         (H + "a",), anomaly="every git command here fails"),
    Case("no-header", lambda a, b: lines(ref(a, H + "a"), ref(b, H + "b")), (H + "a", H + "b"), anomaly="missing header"),
    # --- line endings and odd bytes
    Case("missing-trailing-newline", lambda a, b: lines(HEADER, ref(a, H + "a"), ref(b, H + "b", end=b"")),
         (H + "a", H + "b"), anomaly="every git command here fails",
         lookup_differs={H + "a": ("a", "git dies on the whole file; gitward keeps the values of its well-formed "
                                       "lines (under an error anomaly) so the operator sees what to repair; the "
                                       "unterminated line (often a torn write) gets none")}),
    Case("crlf", lambda a, b: lines(HEADER, ref(a, H + "a", end=b"\r\n"), ref(b, H + "b")),
         (H + "a", H + "b"), anomaly="CRLF"),
    Case("crlf-no-header", lambda a, b: lines(ref(a, H + "b", end=b"\r\n"), ref(b, H + "a")),
         (H + "a", H + "b"), anomaly="CRLF"),
    Case("nul-in-name", lambda a, b: lines(HEADER, ref(a, H + "a\x00x"), ref(b, H + "b")),
         (H + "a", H + "b"), anomaly="NUL byte",
         listing_differs={H + "a": "for-each-ref shows the name cut at the NUL, but no git command can resolve, "
                                   "update or delete that name (rev-parse finds nothing): it gets no value"}),
    Case("trailing-space", lambda a, b: lines(HEADER, ref(a, H + "a "), ref(b, H + "b")),
         (H + "a", H + "b"), anomaly="git ignores this ref"),
    Case("tab-separator", lambda a, b: lines(HEADER, ref(a, H + "a", sep=b"\t"), ref(b, H + "b")),
         (H + "a", H + "b"), anomaly="between id and name"),
    Case("empty-line", lambda a, b: lines(HEADER, ref(a, H + "a"), b"\n", ref(b, H + "b")),
         (H + "b",), anomaly="git refuses"),
    # --- object ids
    Case("uppercase-hex", lambda a, b: lines(HEADER, ref(a.upper(), H + "a"), ref(b, H + "b")),
         (H + "a", H + "b"), clean=True),
    Case("short-hex", lambda a, b: lines(HEADER, ref(a[:39], H + "a"), ref(b, H + "b")),
         (H + "a", H + "b"), anomaly="git refuses"),
    Case("long-hex", lambda a, b: lines(HEADER, ref(a + b"0", H + "a"), ref(b, H + "b")),
         (H + "a", H + "b"), anomaly="git refuses"),
    Case("garbage-line", lambda a, b: lines(HEADER, ref(a, H + "a"), b"garbage\n", ref(b, H + "b")),
         (H + "a", H + "b"), anomaly="git refuses",
         lookup_differs={H + "a": ("a", "git's binary search lands in the garbage line and misses a well-formed "
                                       "ref; gitward lists it under the error anomaly")}),
    # --- peeled lines
    Case("orphan-peeled-line", lambda a, b: lines(HEADER, b"^" + a + b"\n", ref(b, H + "b")),
         (H + "b",), anomaly="git refuses"),
    Case("peeled-line-crlf", lambda a, b: lines(HEADER, ref(a, "refs/tags/t"), b"^" + b + b"\r\n"),
         ("refs/tags/t",), anomaly="git refuses"),
    Case("peeled-line-of-broken-name", lambda a, b: lines(HEADER, ref(a, "refs/tags/bad..t"), b"^" + b + b"\n", ref(b, "refs/tags/z")),
         ("refs/tags/z",), anomaly="git ignores this ref"),
    # --- order and duplicates
    Case("duplicate-sorted", lambda a, b: lines(HEADER, ref(a, H + "a"), ref(b, H + "a")), (H + "a",), anomaly="duplicate"),
    Case("duplicate-no-header", lambda a, b: lines(ref(a, H + "a"), ref(b, H + "a")), (H + "a",), anomaly="duplicate"),
    Case("unsorted-claims-sorted", lambda a, b: lines(HEADER, ref(a, H + "b"), ref(b, H + "a")),
         (H + "a", H + "b"), anomaly="false 'sorted' claim",
         lookup_differs={H + "b": ("a", "git's binary search trusts the false claim and misses it; gitward lists "
                                       "every line under the error anomaly")}),
    Case("unsorted-without-claim", lambda a, b: lines(b"# pack-refs with: peeled \n", ref(a, H + "b"), ref(b, H + "a")),
         (H + "a", H + "b"), clean=True),
    # --- names
    Case("invalid-name-dotdot", lambda a, b: lines(HEADER, ref(b, H + "b"), ref(a, H + "bad..name")),
         (H + "bad..name", H + "b"), anomaly="git ignores this ref"),
    Case("invalid-name-lock", lambda a, b: lines(HEADER, ref(b, H + "b"), ref(a, H + "x.lock")),
         (H + "x.lock", H + "b"), anomaly="git ignores this ref"),
    Case("invalid-name-lock-component", lambda a, b: lines(HEADER, ref(b, H + "b"), ref(a, H + "x.lock/y")),
         (H + "x.lock/y", H + "b"), anomaly="git ignores this ref"),
    Case("invalid-name-at-brace", lambda a, b: lines(HEADER, ref(b, H + "b"), ref(a, H + "x@{1}")),
         (H + "b",), anomaly="git ignores this ref"),
    Case("dangerous-name", lambda a, b: lines(HEADER, ref(a, "../../x"), ref(b, H + "b")), (H + "b",), anomaly="dangerous"),
    Case("one-level-name", lambda a, b: lines(HEADER, ref(a, "foo"), ref(b, H + "b")), ("foo", H + "b"), anomaly="outside refs/"),
    Case("utf8-name", lambda a, b: lines(HEADER, ref(b, H + "b"), ref(a, H + "\u00fc")), (H + "b", H + "\u00fc"), clean=True),
    Case("non-utf8-name", lambda a, b: lines(HEADER, ref(b, H + "b"), ref(a, H + "\udcff")), (H + "b", H + "\udcff"), clean=True),
]


@pytest.fixture(scope="module")
def objects(tmp_path_factory) -> tuple[bytes, bytes, Path]:
    """Two commits (ids A and B) and the object directory that holds them."""
    path = init_bare(tmp_path_factory.mktemp("objects") / "objects.git")
    a, b = commit_chain(path, 2)
    return a.encode(), b.encode(), path / "objects"


@pytest.fixture
def repo(tmp_path, objects) -> Path:
    """A repository that sees both commits (through alternates), with no refs of its own."""
    path = init_bare(tmp_path / "r.git")
    (path / "objects/info/alternates").write_text(f"{objects[2]}\n")
    return path


def git_rev_parse(repo: Path, name: str) -> tuple[int, str | None]:
    result = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", name.encode("utf-8", "surrogateescape")], cwd=repo, capture_output=True
    )
    value = result.stdout.decode().strip() or None
    return result.returncode, value if result.returncode == 0 else None


def git_for_each_ref(repo: Path) -> tuple[int, dict[str, str], str]:
    result = subprocess.run(["git", "for-each-ref", "--format=%(objectname) %(refname)"], cwd=repo, capture_output=True)
    listing = {}
    for line in result.stdout.split(b"\n"):
        if line:
            value, name = line.split(b" ", 1)
            listing[name.decode("utf-8", "surrogateescape")] = value.decode()
    return result.returncode, listing, result.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_packed_refs_git_is_the_judge(repo, objects, case):
    a, b, _ = objects
    data = case.body(a, b)
    (repo / "packed-refs").write_bytes(data)
    parsed = read_packed_refs(str(repo))
    assert parse_packed_refs(data).values == parsed.values  # the bytes in memory read the same
    said = " | ".join(str(x) for x in parsed.anomalies)
    by_letter = {"a": a.decode(), "b": b.decode(), None: None}

    git_dies_on_file = False
    for name in case.names:
        code, theirs = git_rev_parse(repo, name)
        git_dies_on_file |= code == 128
        if name in case.lookup_differs:
            expected = by_letter[case.lookup_differs[name][0]]
            assert parsed.get(name) == expected, (name, "deliberate difference", case.lookup_differs[name][1])
            assert theirs != expected, f"{name}: git now agrees; drop the deliberate difference"
        elif code != 128:
            assert parsed.get(name) == theirs, (name, said)

    code, listing, stderr = git_for_each_ref(repo)
    if git_dies_on_file:
        assert "every git command here fails" in said, said
    if code != 0:
        assert "git refuses" in said, (stderr, said)
    else:
        for name in case.listing_differs:
            assert name in listing and name not in parsed.values
            del listing[name]
        assert parsed.values == listing, (said, stderr)
    if "ignoring ref with broken name" in stderr:
        assert "git ignores this ref" in said, said
    if case.anomaly:
        assert case.anomaly in said, said
    if case.clean:
        assert not parsed.anomalies and code == 0 and not stderr
    else:
        assert parsed.anomalies
