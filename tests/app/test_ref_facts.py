"""The facts the shadows preview shows to decide a ref by hand (tui/app/ref_facts.py), judged by
git: subject and author date as `git log` prints them, "reached by" as `git for-each-ref
--contains` lists it, and the bound on how many refs are checked."""

from __future__ import annotations

import pytest

from gitrepo import git
from refedit_support import CLEAN_KINDS, build_shadows
from tui.app import ref_facts as facts_module
from tui.app.ref_facts import ref_facts
from tui.core.refstore import load_snapshot


@pytest.fixture
def repo(tmp_path):
    return build_shadows(tmp_path, kinds=CLEAN_KINDS)


def contains(git_dir: str, oid: str, name: str) -> list[str]:
    out = git(git_dir, "for-each-ref", f"--contains={oid}", "--format=%(refname)")
    return sorted(ref for ref in out.split() if ref != name)


def test_subjects_dates_and_reach_agree_with_git(repo, monkeypatch):
    monkeypatch.setattr(facts_module, "REACH_SHOWN", 1000)
    snapshot = load_snapshot(repo.git_dir)
    for name, (loose, packed, verdict) in repo.shadows.items():
        facts = ref_facts(repo.git_dir, name, loose, packed, snapshot=snapshot)
        assert facts.error is None and facts.checked == facts.total
        for value, shown in ((loose, facts.loose), (packed, facts.packed)):
            if git(repo.git_dir, "cat-file", "-t", value).strip() not in ("commit", "tag"):
                assert shown.author_time is None and not shown.subject, (name, verdict)
                continue
            subject, when = git(repo.git_dir, "log", "-1", "--format=%s%n%at", value).splitlines()
            assert (shown.subject, shown.author_time) == (subject, float(when)), name
            assert sorted(shown.reached_by) == contains(repo.git_dir, value, name), (name, verdict)


def test_reach_is_bounded_and_says_how_much_it_checked(repo, monkeypatch):
    for i in range(30):
        git(repo.git_dir, "update-ref", f"refs/heads/extra/{i:02}", repo.values["c5"])
    monkeypatch.setattr(facts_module, "REACH_REFS", 10)
    name = "refs/heads/stale"
    loose, packed, _ = repo.shadows[name]
    facts = ref_facts(repo.git_dir, name, loose, packed)
    assert facts.checked == 10 and facts.total > 30
    # Branches first, by name: the ten checked are the first ten other branches.
    branches = [ref for ref in git(repo.git_dir, "for-each-ref", "refs/heads/", "--format=%(refname)").split() if ref != name]
    expected = [ref for ref in sorted(branches)[:10] if ref in contains(repo.git_dir, packed, name)]
    assert len(expected) > facts_module.REACH_SHOWN
    assert facts.packed.reached_by == expected[: facts_module.REACH_SHOWN]
    assert facts.packed.reached_more == len(expected) - facts_module.REACH_SHOWN
