"""The compare benchmark's pairs hold what it claims (quick sizes; the timing itself is not run)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks import compare_bench, fixtures  # noqa: E402

from tui.core.compare.diff import Kind, compare  # noqa: E402
from tui.core.compare.sides import LocalSide  # noqa: E402


def test_f3_pair_differs_in_the_repos_made_to_differ(tmp_path):
    fixture = fixtures.ensure(fixtures.QUICK.f3, cache=tmp_path / "cache")
    source, replica, changed = compare_bench.make_f3_pair(fixture, tmp_path)
    result = compare(LocalSide(str(source)), LocalSide(str(replica)))
    differing = [r for r in result.repos if r.findings]
    assert len(differing) == changed == 1
    assert differing[0].findings[0].kind is Kind.EXTRA_ON_REPLICA


def test_f2_pair_differs_in_exactly_the_changed_refs(tmp_path):
    fixture = fixtures.ensure(fixtures.QUICK.f2, cache=tmp_path / "cache")
    source_root, replica_root, changed = compare_bench.make_f2_pair(fixture, tmp_path)
    result = compare(LocalSide(str(source_root)), LocalSide(str(replica_root)))
    [repo] = result.repos
    assert len(repo.findings) == changed
    assert {f.kind for f in repo.findings} <= {Kind.REPLICA_AHEAD, Kind.REPLICA_BEHIND}
