"""packed-refs parsing: every anomaly reported with its line, and git agreeing on what breaks."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from gitrepo import commit_chain, for_each_ref, git, init_bare, rev_parse
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.loose import parse_loose_contents
from tui.core.packed import parse_packed_refs, read_packed_refs

HEADER = "# pack-refs with: peeled fully-peeled sorted \n"
A = "a" * 40
B = "b" * 40


def messages(data: bytes) -> list[str]:
    return [str(a) for a in parse_packed_refs(data).anomalies]


def test_canonical_file_has_no_anomalies():
    data = f"{HEADER}{A} refs/heads/a\n{B} refs/tags/v1\n^{A}\n".encode()
    parsed = parse_packed_refs(data)
    assert parsed.anomalies == []
    assert parsed.values == {"refs/heads/a": A, "refs/tags/v1": B}
    assert parsed.peeled == {"refs/tags/v1": A}
    assert parsed.traits == {"peeled", "fully-peeled", "sorted"}


@pytest.mark.parametrize(
    "body, expected_line, words",
    [
        (f"{A} refs/heads/a\n", 1, "missing header"),
        (f"# garbage header\n{A} refs/heads/a\n", 1, "odd header"),
        (f"{HEADER}{A} refs/heads/b\n{A} refs/heads/a\n", 3, "false 'sorted' claim"),
        (f"{HEADER}{A} refs/heads/a\n{B} refs/heads/a\n", 3, "duplicate ref"),
        (f"{HEADER}{A} refs/heads/a\r\n", 2, "CRLF"),
        (f"{HEADER}{A} refs/heads/a\nthis is garbage\n", 3, "garbage line"),
        (f"{HEADER}{A} refs/heads/a", 2, "unterminated last line"),
        (f"{HEADER}^{A}\n", 2, "without a ref before it"),
        (f"{HEADER}{A} refs/heads/a\n^zz\n", 3, "garbage peeled line"),
        (f"{HEADER}{A[:39]} refs/heads/a\n", 2, "garbage line"),
        (f"{HEADER}{A} refs/heads/a\x00b\n", 2, "NUL byte"),
        (f"# pack-refs with: peeled shiny \n{A} refs/heads/a\n", 1, "unknown header traits"),
        (f"{HEADER}{A} refs/heads/[bold]x\n", 2, "invalid ref name"),
        (f"{HEADER}{A} refs/heads/a..b\n", 2, "invalid ref name"),
        (f"{HEADER}{A} refs/heads/x.lock\n", 2, "invalid ref name"),
    ],
)
def test_anomalies_name_their_line(body, expected_line, words):
    found = parse_packed_refs(body.encode()).anomalies
    assert any(a.line == expected_line and words in a.message for a in found), found


@pytest.fixture
def repo(tmp_path):
    path = init_bare(tmp_path / "r.git")
    commits = commit_chain(path, 3)
    return path, commits


def write_packed(path: Path, text: str) -> None:
    (path / "packed-refs").write_bytes(text.encode())
    # The ref written by commit_chain is loose; remove it so packed-refs alone decides.
    for loose in (path / "refs/heads").glob("*"):
        loose.unlink()


@pytest.mark.parametrize(
    "make_body",
    [
        lambda c: f"{HEADER}{c[0]} refs/heads/a\ngarbage\n",
        lambda c: f"{HEADER}{c[0]} refs/heads/a",
        lambda c: f"# not a header\n{c[0]} refs/heads/a\n",
        lambda c: f"{HEADER}^{c[0]}\n",
    ],
    ids=["garbage-line", "unterminated", "odd-header", "orphan-peel"],
)
def test_anomalies_git_refuses_are_errors_git_agrees(repo, make_body):
    """What we call 'git refuses this file', git really refuses."""
    path, commits = repo
    write_packed(path, make_body(commits))
    result = subprocess.run(["git", "for-each-ref"], cwd=path, capture_output=True)
    assert result.returncode != 0, "git accepted a file we call fatal"
    parsed = read_packed_refs(str(path))
    assert any("git refuses" in a.message for a in parsed.anomalies)


def test_false_sorted_claim_makes_git_miss_refs_but_not_us(repo):
    path, commits = repo
    names = [f"refs/heads/b{i:03d}" for i in range(40)]
    lines = [f"{commits[0]} {n}\n" for n in reversed(names)]  # reverse order, claims sorted
    write_packed(path, HEADER + "".join(lines))
    parsed = read_packed_refs(str(path))
    assert set(parsed.values) == set(names)
    assert any("false 'sorted'" in a.message for a in parsed.anomalies)
    missed = [n for n in names if rev_parse(path, n) is None]
    assert missed, "git's binary search should miss refs in a falsely sorted file"


def test_missing_header_git_still_reads(repo):
    path, commits = repo
    write_packed(path, f"{commits[0]} refs/heads/z\n{commits[1]} refs/heads/a\n")
    parsed = read_packed_refs(str(path))
    assert parsed.values == for_each_ref(path)
    assert any("missing header" in a.message for a in parsed.anomalies)


def test_packed_refs_symlink_is_reported(repo, tmp_path):
    path, commits = repo
    real = tmp_path / "elsewhere-packed-refs"
    real.write_text(f"{HEADER}{commits[0]} refs/heads/x\n")
    (path / "packed-refs").symlink_to(real)
    parsed = read_packed_refs(str(path))
    assert parsed.is_symlink
    assert parsed.values == {"refs/heads/x": commits[0]}
    assert any("symlink" in a.message for a in parsed.anomalies)
    assert rev_parse(path, "refs/heads/x") == commits[0]  # git reads through it too


def test_packed_refs_directory_is_an_anomaly_not_a_crash(repo):
    path, _ = repo
    (path / "packed-refs").mkdir()
    parsed = read_packed_refs(str(path))
    assert parsed.anomalies and not parsed.values


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of their mode")
def test_unreadable_packed_refs(repo):
    path, commits = repo
    write_packed(path, f"{HEADER}{commits[0]} refs/heads/x\n")
    os.chmod(path / "packed-refs", 0)
    parsed = read_packed_refs(str(path))
    assert any("cannot read" in a.message for a in parsed.anomalies)


def test_sha256_width():
    value = "c" * 64
    parsed = parse_packed_refs(f"{HEADER}{value} refs/heads/x\n".encode(), hex_width=64)
    assert parsed.values == {"refs/heads/x": value} and not parsed.anomalies


# --- fuzzing: never crash; anything but the canonical form is an anomaly ---------------------

ref_names = st.from_regex(r"refs/(heads|tags|changes/[0-9]{2}/[0-9]{1,4})/[a-z0-9][a-z0-9_-]{0,11}", fullmatch=True)
hex_ids = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes_never_crash(data):
    parsed = parse_packed_refs(data)
    if data and not parsed.anomalies:
        assert _is_canonical(data.decode("utf-8", "surrogateescape"))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(ref_names, hex_ids, min_size=1, max_size=20), st.data())
def test_fuzz_mutated_valid_files_report_anomalies(refs, data):
    lines = [HEADER] + [f"{value} {name}\n" for name, value in sorted(refs.items())]
    text = "".join(lines)
    assert parse_packed_refs(text.encode()).anomalies == []
    position = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(st.sampled_from(["\r", "\x00", "#", "^", " ", "", "\n\n", "zz"]))
    mutated = text[:position] + replacement + text[position + 1 :]
    parsed = parse_packed_refs(mutated.encode())
    if parsed.anomalies == []:
        assert _is_canonical(mutated)


# Written independently of the parser: hex, one space, a name git accepts; or a peel line.
_CANONICAL_LINE = re.compile(r"[0-9a-f]{40} refs/[^\x00-\x20\x7f~^:?*\[\\]+|\^[0-9a-f]{40}")


def _is_canonical(text: str) -> bool:
    """A header with known traits, then only well-formed ref and peel lines."""
    lines = text.split("\n")
    if lines.pop() != "" or not lines[0].startswith("# pack-refs with:"):
        return False
    traits = set(lines[0][len("# pack-refs with:"):].split())
    if not traits <= {"peeled", "fully-peeled", "sorted"}:
        return False
    return all(
        _CANONICAL_LINE.fullmatch(line) and ".." not in line and "@{" not in line and "/." not in line
        for line in lines[1:]
    )


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_fuzz_loose_parser_never_crashes(data):
    ref = parse_loose_contents(data)
    assert (ref.value is not None) + (ref.symbolic_target is not None) + (ref.broken_reason is not None) == 1


# --- bounded memory (issue 8, item 7): measured in a child process, never timed -------------

_PEAK_CHILD = r"""
import json, sys
from tui.core.packed import read_packed_refs
def peak():  # VmHWM, not ru_maxrss: Linux carries the parent's ru_maxrss across exec
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
before = peak()
packed = read_packed_refs(sys.argv[1])
queries = json.loads(sys.argv[2])
answers = {name: packed.get(name) for name in queries}
print(json.dumps({"grew": peak() - before, "count": len(packed), "answers": answers,
                  "anomalies": [str(a) for a in packed.anomalies]}))
"""


def _read_in_child(git_dir: Path, queries: list[str]) -> dict:
    import json
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _PEAK_CHILD, str(git_dir), json.dumps(queries)], capture_output=True, check=True
    ).stdout
    return json.loads(out)


MiB = 1 << 20


def test_file_of_nuls_is_garbage_read_in_bounded_memory(tmp_path):
    """200 MB of NULs (sparse): judged from its first bytes, never read whole."""
    git_dir = init_bare(tmp_path / "r.git")
    with open(git_dir / "packed-refs", "wb") as handle:
        handle.truncate(200 * MiB)
    child = _read_in_child(git_dir, ["refs/heads/main"])
    assert child["grew"] < 16 * MiB, child["grew"]
    assert child["answers"] == {"refs/heads/main": None} and child["count"] == 0
    said = " ".join(child["anomalies"])
    assert "NUL bytes" in said and "git refuses" in said and "does not end with a newline" in said


def test_garbage_file_stops_early_in_bounded_memory(tmp_path):
    git_dir = init_bare(tmp_path / "r.git")
    line = b"this is not a packed-refs line at all, just text repeated\n"
    with open(git_dir / "packed-refs", "wb") as handle:
        handle.write(line * (32 * MiB // len(line)))
    child = _read_in_child(git_dir, ["refs/heads/main"])
    assert child["grew"] < 16 * MiB, child["grew"]
    assert any("stops reading" in a and "git refuses" in a for a in child["anomalies"])


def _big_file(count: int) -> tuple[list[str], dict[str, str], list[str]]:
    """Sorted names, their ids, and the lines of a git-written file holding them."""
    names = [f"refs/changes/{i % 100:02d}/{i}/{1 + i % 3}" for i in range(count)]
    names.sort(key=str.encode)
    ids = {name: f"{i * 2654435761 % (1 << 160):040x}" for i, name in enumerate(names)}
    body = [HEADER]
    for i, name in enumerate(names):
        body.append(f"{ids[name]} {name}\n")
        if i % 1000 == 0:
            body.append(f"^{A}\n")  # peeled lines between records must not confuse lookups
    return names, ids, body


ABSENT = ["refs/changes/00", "refs/changes/00/0/1x", "refs/a", "refs/zzz", "refs/changes/99/99999/9", "refs/changes/"]


def test_canonical_file_costs_its_size_plus_a_constant(tmp_path):
    """A git-written (sorted, well-formed) file is kept as its bytes: no per-line copies."""
    git_dir = init_bare(tmp_path / "r.git")
    names, ids, body = _big_file(300_000)
    data = "".join(body).encode()
    (git_dir / "packed-refs").write_bytes(data)
    present = names[::997] + [names[0], names[-1]]
    child = _read_in_child(git_dir, present + ABSENT)
    assert child["anomalies"] == [] and child["count"] == len(names)
    assert child["answers"] == {**{n: ids[n] for n in present}, **{n: None for n in ABSENT}}
    assert child["grew"] < len(data) + 12 * MiB, (child["grew"], len(data))


def test_sorted_file_with_a_few_bad_lines_costs_at_most_twice_its_size(tmp_path):
    """The usual damage (one CRLF line, one bad name) in a big sorted file: the good lines are
    kept as one canonical copy, not as a dict of 300,000 entries."""
    git_dir = init_bare(tmp_path / "r.git")
    names, ids, body = _big_file(300_000)
    crlf = names[100_000]
    bad = body.index(f"{ids[crlf]} {crlf}\n")
    body[bad] = f"{ids[crlf]} {crlf}\r\n"
    body.insert(bad + 7, f"{A} {names[100_005]}/x..y\n")
    data = "".join(body).encode()
    (git_dir / "packed-refs").write_bytes(data)
    present = [n for n in names[::997] + [names[0], names[-1]] if n != crlf]
    child = _read_in_child(git_dir, present + ABSENT + [crlf, f"{names[100_005]}/x..y"])
    said = " ".join(child["anomalies"])
    assert "CRLF" in said and "invalid ref name" in said and child["count"] == len(names) - 1
    expected = {**{n: ids[n] for n in present}, **{n: None for n in ABSENT}, crlf: None, f"{names[100_005]}/x..y": None}
    assert child["answers"] == expected
    assert child["grew"] < 2 * len(data) + 12 * MiB, (child["grew"], len(data))
