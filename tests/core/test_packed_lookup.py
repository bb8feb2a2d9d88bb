"""``refs --shadowed``'s fast path: the same answer as the full read, checked with git.

The fast path reads only the loose names, bisects packed-refs for them and reads the loose
files that are also packed; the exact parser checks packed-refs meanwhile. A file that fails
the check must give the full read's answer, anomalies included.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import git, git_environ

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the benchmarks package
from benchmarks import fixtures  # noqa: E402
from tui.core.packed_lookup import MIN_PACKED_BYTES, read_shadowed  # noqa: E402
from tui.core.refstore import iter_refs, judge_shadows, load_snapshot, read_snapshot  # noqa: E402

SPEC = fixtures.ChangesSpec(refs=20_000, commits=50, loose=300, stale=30, patch_sets=4)


@pytest.fixture
def gerrit(tmp_path: Path) -> fixtures.Fixture:
    """20,000 packed refs (a packed-refs past MIN_PACKED_BYTES), 300 loose, 30 stale shadows."""
    fixture = fixtures.ensure(SPEC, cache=tmp_path)
    assert (fixture.path / "packed-refs").stat().st_size > MIN_PACKED_BYTES
    return fixture


def shadowed_json(snapshot) -> list[dict]:
    judge_shadows(snapshot)
    return [ref.to_json() for ref in iter_refs(snapshot, shadowed_only=True)]


def cli_shadowed(repo: Path) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", "tui", "refs", str(repo), "--shadowed", "--json"],
        capture_output=True, text=True, env=git_environ(), check=True,
    )
    return json.loads(done.stdout)


def test_fast_path_gives_the_full_reads_answer(gerrit):
    fast = read_shadowed(str(gerrit.path))
    assert fast is not None  # a canonical file: the fast path applies
    assert len(fast.loose.refs) == SPEC.stale  # only the shadowed loose files were read
    assert len(fast.packed) == len(read_snapshot(str(gerrit.path)).packed)
    assert shadowed_json(fast) == shadowed_json(read_snapshot(str(gerrit.path)))


def test_cli_forks_the_check_and_agrees_with_git(gerrit):
    refs = cli_shadowed(gerrit.path)
    assert sorted(r["name"] for r in refs) == sorted(gerrit.manifest["stale_loose"])
    for ref in refs:
        assert ref["verdict"] == "stale-loose"
        assert ref["value"] == git(gerrit.path, "rev-parse", "--verify", ref["name"]).strip()
        assert ref["packed_value"] != ref["value"]


def test_an_unsorted_packed_refs_is_read_in_full(gerrit):
    """A file claiming 'sorted' that is not: bisection would miss refs; the check catches it."""
    path = gerrit.path / "packed-refs"
    lines = path.read_bytes().split(b"\n")
    stale = gerrit.manifest["stale_loose"][0].encode()
    index = next(i for i, line in enumerate(lines) if line.endswith(b" " + stale))
    lines.append(lines.pop(index))  # moved to the end, after a trailing empty string
    lines[-2], lines[-1] = lines[-1], b""
    path.write_bytes(b"\n".join(lines))
    assert read_shadowed(str(gerrit.path)) is None
    full = load_snapshot(str(gerrit.path), shadowed_only=True)
    assert any("sorted" in str(a) for a in full.packed.anomalies)
    names = [r["name"] for r in shadowed_json(full)]
    assert stale.decode() in names and len(names) == SPEC.stale
    assert [r["name"] for r in cli_shadowed(gerrit.path)] == names


def test_a_garbage_line_is_still_an_anomaly(gerrit):
    path = gerrit.path / "packed-refs"
    data = path.read_bytes()
    middle = data.index(b"\n", len(data) // 2) + 1
    path.write_bytes(data[:middle] + b"this is not a ref line\n" + data[middle:])
    assert read_shadowed(str(gerrit.path)) is None
    full = load_snapshot(str(gerrit.path), shadowed_only=True)
    assert any("garbage line" in str(a) for a in full.packed.anomalies)
    assert len(shadowed_json(full)) == SPEC.stale


def test_a_symbolic_shadow_resolves_through_a_loose_only_target(gerrit):
    shadow = gerrit.manifest["stale_loose"][0]
    loose_only = "refs/heads/only-loose"
    tip = git(gerrit.path, "rev-parse", "refs/heads/master").strip()
    (gerrit.path / loose_only).parent.mkdir(parents=True, exist_ok=True)
    (gerrit.path / loose_only).write_text(tip + "\n")
    (gerrit.path / shadow).write_text(f"ref: {loose_only}\n")
    fast = read_shadowed(str(gerrit.path))
    assert fast is not None
    refs = {r["name"]: r for r in shadowed_json(fast)}
    assert refs[shadow]["value"] == tip == git(gerrit.path, "rev-parse", shadow).strip()
    assert refs[shadow]["symbolic_target"] == loose_only
    assert loose_only not in refs  # loose only: not a shadow
    assert shadowed_json(fast) == shadowed_json(read_snapshot(str(gerrit.path)))


def test_upper_case_ids_are_read_in_full(gerrit):
    """git accepts upper-case hex in packed-refs and gitward shows it lower-cased: the raw
    bytes are not what the full read shows, so the fast path must not answer."""
    path = gerrit.path / "packed-refs"
    stale = gerrit.manifest["stale_loose"][3].encode()
    lines = path.read_bytes().split(b"\n")
    index = next(i for i, line in enumerate(lines) if line.endswith(b" " + stale))
    lines[index] = lines[index][:40].upper() + lines[index][40:]
    path.write_bytes(b"\n".join(lines))
    assert read_shadowed(str(gerrit.path)) is None
    refs = {r["name"]: r for r in cli_shadowed(gerrit.path)}
    assert refs[stale.decode()]["packed_value"] == lines[index][:40].decode().lower()
