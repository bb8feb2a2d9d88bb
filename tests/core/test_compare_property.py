"""Property: for random ref states on both sides, every class compare gives agrees with git.

The commits exist once (a small DAG with a fork and an unrelated root); each example writes
random loose files and packed-refs on a source and a replica that share those objects, and every
ancestry answer is checked with ``git merge-base --is-ancestor``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from gitrepo import git, init_bare, is_ancestor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.core.compare.diff import compare
from tui.core.compare.sides import LocalSide

NAMES = ["refs/heads/main", "refs/heads/topic", "refs/changes/01/1/meta", "refs/tags/v1"]


@pytest.fixture(scope="module")
def objects(tmp_path_factory) -> tuple[Path, list[str]]:
    """A bare repository whose objects hold: a chain of 4, a fork of 2 from its second commit,
    and an unrelated root. Returns the repo and the commit ids."""
    repo = init_bare(tmp_path_factory.mktemp("dag") / "dag.git")
    tree = git(repo, "mktree", input=b"").strip()

    def commit(message: str, *parents: str) -> str:
        args = [x for p in parents for x in ("-p", p)]
        return git(repo, "commit-tree", tree, *args, "-m", message).strip()

    a0 = commit("a0")
    a1 = commit("a1", a0)
    a2 = commit("a2", a1)
    a3 = commit("a3", a2)
    b0 = commit("b0", a1)
    b1 = commit("b1", b0)
    lone = commit("lone")
    commits = [a0, a1, a2, a3, b0, b1, lone]
    for i, c in enumerate(commits):
        git(repo, "update-ref", f"refs/keep/{i}", c)  # keep them; the sides get objects only
    return repo, commits


commit_index = st.integers(min_value=0, max_value=6)
# a side's state for one ref: absent, packed X, loose X, or (replica) loose X over packed Y
side_state = st.one_of(
    st.just(None),
    st.tuples(st.just("packed"), commit_index),
    st.tuples(st.just("loose"), commit_index),
    st.tuples(st.just("both"), commit_index, commit_index),
)


def write_side(git_dir: Path, states: dict[str, tuple | None], commits: list[str]) -> None:
    packed = []
    for name, state in states.items():
        if state is None:
            continue
        kind = state[0]
        if kind in ("loose", "both"):
            path = git_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(commits[state[1]] + "\n")
        if kind == "packed":
            packed.append((name, commits[state[1]]))
        if kind == "both":
            packed.append((name, commits[state[2]]))
    text = "# pack-refs with: peeled fully-peeled sorted \n" + "".join(f"{v} {n}\n" for n, v in sorted(packed))
    (git_dir / "packed-refs").write_text(text)


def expected_kind(s: tuple | None, r: tuple | None, commits: list[str], repo: Path) -> str | None:
    if s is None and r is None:
        return None
    if r is None:
        return "missing-on-replica"
    if s is None:
        return "extra-on-replica"
    sv = commits[s[1]]
    rv = commits[r[1]]  # loose wins
    source_has_loose = s[0] != "packed"
    replica_has_loose = r[0] != "packed"
    if sv == rv:
        if replica_has_loose and not source_has_loose:
            return "loose-only-on-replica"
        if s[0] != r[0]:
            return "storage-only"
        return None
    if r[0] == "both" and commits[r[2]] == sv:
        return "replica-stale-loose"
    if is_ancestor(repo, rv, sv):
        return "replica-behind"
    if is_ancestor(repo, sv, rv):
        return "replica-ahead"
    return "diverged"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    source_states=st.fixed_dictionaries({n: side_state.filter(lambda s: s is None or s[0] != "both") for n in NAMES}),
    replica_states=st.fixed_dictionaries({n: side_state for n in NAMES}),
)
def test_every_class_agrees_with_git(objects, source_states, replica_states):
    repo, commits = objects
    with tempfile.TemporaryDirectory() as tmp:
        sides = {}
        for side, states in (("source", source_states), ("replica", replica_states)):
            git_dir = Path(tmp) / side / "x.git"
            init_bare(git_dir)
            shutil.rmtree(git_dir / "objects")
            shutil.copytree(repo / "objects", git_dir / "objects")
            write_side(git_dir, states, commits)
            sides[side] = Path(tmp) / side
        result = compare(LocalSide(str(sides["source"])), LocalSide(str(sides["replica"])))
        [repo_result] = result.repos
        found = {f.subject: f.kind.value for f in repo_result.findings}
        for name in NAMES:
            assert found.get(name) == expected_kind(source_states[name], replica_states[name], commits, repo), name
        # HEAD -> refs/heads/main on both sides: never a finding of its own
        assert "HEAD" not in found


def test_ancestry_answers_agree_with_git_once_ancestor_sets_are_used(objects):
    """Every ordered pair of the DAG asked three times: the later answers come from the
    ancestor sets a frequently asked commit gets, and must not change."""
    from tui.core.compare.objectstore import ObjectStore

    repo, commits = objects
    store = ObjectStore(str(repo))
    for _ in range(ObjectStore.ANCESTOR_SET_AFTER):
        for older in commits:
            for newer in commits:
                relation = store.relation(older, newer)
                if older == newer:
                    assert relation == "same"
                    continue
                expected = ("descends" if is_ancestor(repo, older, newer)
                            else "ancestor" if is_ancestor(repo, newer, older) else "diverged")
                assert relation == expected, (older, newer)
    assert any(found for found in store._ancestor_sets.values())
