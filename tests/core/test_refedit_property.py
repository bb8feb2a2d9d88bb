"""Property: on random repositories, `shadows prune --keep auto` does what each verdict promised,
touches nothing else, and undo puts every ref file back byte for byte."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitrepo import commit_chain, for_each_ref, git, init_bare, write_loose
from refedit_support import fsck_errors, ref_files
from tui.core.write import shadows as refedit
from tui.core.write.journal import Journal
from tui.core.write.undo import undo
from tui.core.model import Verdict

KINDS = ("stale", "dead", "identical", "diverged", "undecidable", "broken", "missing", "packed", "loose")
NAMES = st.sampled_from(
    ["refs/heads/a", "refs/heads/b/c", "refs/heads/z", "refs/changes/01/1/meta", "refs/changes/01/12/meta",
     "refs/heads/\u00fcber", "refs/heads/a-b", "refs/tags/v1", "refs/notes/x", "refs/heads/b.c"]
)
SPEC = st.dictionaries(NAMES, st.tuples(st.sampled_from(KINDS), st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=7)
PROMISE = {
    Verdict.STALE_LOOSE: "packed",
    Verdict.DEAD_PACKED: "loose",
    Verdict.IDENTICAL: "loose",
}


def build(base: Path, spec: dict) -> tuple[Path, dict]:
    repo = init_bare(base / "r.git")
    chain = commit_chain(repo, 8)
    side = commit_chain(repo, 2, branch="side", message="s")
    tree = git(repo, "rev-parse", f"{chain[0]}^{{tree}}").strip()
    git(repo, "tag", "-a", "-m", "t", "annotated", chain[4])
    loose_values = {}
    for name, (kind, i, j) in spec.items():
        low, high = sorted((i, j + 1))
        packed = {"stale": chain[high], "dead": chain[low], "identical": chain[i]}.get(kind, chain[i])
        loose = {
            "stale": chain[low], "dead": chain[high], "identical": chain[i], "diverged": side[1],
            "undecidable": tree, "missing": "ab" * 20, "broken": None,
        }.get(kind)
        if kind != "loose":
            git(repo, "update-ref", name, packed)
        loose_values[name] = (kind, loose if kind != "loose" else chain[i])
    git(repo, "pack-refs", "--all", "--prune")
    for name, (kind, loose) in loose_values.items():
        if kind == "packed":
            continue
        write_loose(repo, name, b"garbage\n" if kind == "broken" else loose)
    return repo, loose_values


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=SPEC)
def test_auto_keeps_every_promise_and_undo_restores(tmp_path_factory, spec):
    base = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    try:
        repo, _ = build(base, spec)
        before_values = for_each_ref(repo)
        before_files = ref_files(repo)
        fsck_before = fsck_errors(repo)
        plan = refedit.plan_shadow_prune(str(repo), "auto")
        assert plan.refusals == []
        journal = Journal(str(base / "journal"))
        result = refedit.apply(plan, journal)
        after_values = for_each_ref(repo)
        planned = {item.name: item for item in plan.items}
        for name, value in before_values.items():
            item = planned.get(name)
            if item is None or item.verdict not in PROMISE:
                assert after_values.get(name) == value, f"{name} was not to change"
                continue
            kept = item.packed_value if PROMISE[item.verdict] == "packed" else item.loose.value
            assert after_values[name] == kept == item.after, name
        assert set(after_values) == set(before_values)
        assert fsck_errors(repo) == fsck_before  # no new complaint (broken refs stay as broken)
        if result.entry_id:
            undo(journal, result.entry_id)
        assert {k: v for k, v in ref_files(repo).items() if not k.startswith("logs/")} == {
            k: v for k, v in before_files.items() if not k.startswith("logs/")
        }
    finally:
        shutil.rmtree(base, ignore_errors=True)
