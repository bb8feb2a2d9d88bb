"""The console's pure parts: filter syntax, command aliases, the lazy ref index, text safety."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitrepo import commit_chain, git, init_bare, write_loose
from tui.app import commands
from tui.app.filtering import RowFilter
from tui.app.backend import Host
from tui.app.refindex import RefIndex, build_ref
from tui.core.refstore import load_snapshot
from tui.app.text import clean, display_path, middle_truncate, shorten_paths
from tui.core.refstore import iter_refs, judge_shadows, read_snapshot

# --- filter ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text", "expected"),
    [
        ("alpha", "gerrit/project-ALPHA.git", True),  # substring, any case
        ("alpha", "gitlab/beta.git", False),
        ("!alpha", "gitlab/beta.git", True),  # inverted
        ("!alpha", "gerrit/project-alpha.git", False),
        ("^gerrit/", "gerrit/x.git", True),  # regex
        ("^gerrit/", "mirrors/gerrit/x.git", False),
        ("project-alpha.git", "gerrit/project-alpha.git", True),  # a dot alone is not a regex
        ("project-alpha.git", "gerrit/project-alphaXgit", False),
        ("", "anything", True),
        ("!", "anything", True),  # "not nothing" is everything, not nothing
    ],
)
def test_filter_matches(raw, text, expected):
    assert RowFilter.parse(raw).matches(text) is expected


def test_filter_reports_a_bad_regex_and_falls_back_to_text():
    row_filter = RowFilter.parse("feature[")
    assert row_filter.error and "regular expression" in row_filter.error
    assert row_filter.pattern is None
    assert row_filter.matches("refs/heads/feature[x")
    assert row_filter.mode == "text"
    assert RowFilter.parse("!^a").mode == "not regex"


# --- command line -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "argument"),
    [
        (":repos", "repos", ""),
        ("host", "repos", ""),
        ("wt", "worktrees", ""),
        (":worktrees", "worktrees", ""),
        ("ref gerrit/x.git", "refs", "gerrit/x.git"),
        (":repo  gerrit/project-alpha.git ", "repo", "gerrit/project-alpha.git"),
        ("o alpha", "repo", "alpha"),
        ("lock", "locks", ""),
        ("job", "jobs", ""),
        ("q!", "quit", ""),
        ("LOGS", "log", ""),
    ],
)
def test_command_aliases(text, name, argument):
    assert commands.parse(text) == commands.Command(name, argument)


@pytest.mark.parametrize("text", ["", ":", "frobnicate", "repo", "jobs now"])
def test_bad_commands_say_why(text):
    with pytest.raises(commands.CommandError):
        commands.parse(text)


# --- text safety -------------------------------------------------------------------------------------


def test_clean_strips_terminal_controls_and_keeps_markup_literal():
    assert clean("refs/heads/\x1b[31mred\x1b[0m") == "refs/heads/red"
    assert clean("a\nb\tc\x07") == "a⏎b c"
    assert clean("[bold red]x") == "[bold red]x"  # markup is escaped by using Text, not here


def test_display_path_uses_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert display_path(str(tmp_path / "srv" / "x.git")) == "~/srv/x.git"
    assert display_path("/elsewhere/x.git") == "/elsewhere/x.git"
    assert shorten_paths(f"{tmp_path}/a does not exist") == "~/a does not exist"


def test_middle_truncate_keeps_both_ends():
    assert middle_truncate("gitlab/@hashed/ab/cd/abcdef.git", 16) == "gitlab/…cdef.git"
    assert middle_truncate("short", 16) == "short"
    assert len(middle_truncate("x" * 100, 7)) == 7


def test_host_settings_cli_wins_over_config():
    class Config:
        read_only = True
        jobs = 3
        keys = {"host.rescan": "ctrl+r"}
        theme = "textual-light"

    host = Host.from_settings(["."], read_only=False, jobs=None, config=Config())
    assert host.read_only and host.jobs == 3 and host.keys == {"host.rescan": "ctrl+r"}
    assert Host.from_settings(["."], jobs=5, config=Config()).jobs == 5
    assert Host.from_settings(["."]).roots == [os.path.abspath(".")]


# --- the lazy ref index ------------------------------------------------------------------------------


@pytest.fixture
def shadowed_repo(tmp_path: Path) -> Path:
    """Packed and loose refs in several namespaces, shadows of every common kind."""
    repo = init_bare(tmp_path / "r.git")
    ids = commit_chain(repo, 4)
    for i in range(30):
        git(repo, "update-ref", f"refs/changes/{i % 3:02d}/{100 + i}/1", ids[i % 4])
    git(repo, "update-ref", "refs/tags/v1", ids[0])
    git(repo, "update-ref", "refs/heads/feature/x", ids[1])
    git(repo, "pack-refs", "--all")
    write_loose(repo, "refs/heads/main", ids[3])  # same as packed: identical
    write_loose(repo, "refs/changes/00/100/1", ids[0])  # same value
    write_loose(repo, "refs/changes/01/101/1", ids[0])  # older than packed (ids[1]): stale-loose
    write_loose(repo, "refs/heads/loose-only", ids[2])
    return repo


def test_build_ref_equals_iter_refs(shadowed_repo):
    snapshot = read_snapshot(str(shadowed_repo))
    judge_shadows(snapshot)
    expected = {ref.name: ref for ref in iter_refs(snapshot)}
    index = RefIndex(snapshot)
    assert [index.head().name] + index.names == list(expected)
    for name, ref in expected.items():
        assert build_ref(snapshot, name) == ref, name


def test_namespaces_come_from_ranges(shadowed_repo):
    index = RefIndex(load_snapshot(str(shadowed_repo)))
    top = {ns.prefix: ns for ns in index.children("refs/")}
    assert set(top) == {"refs/changes/", "refs/heads/", "refs/tags/"}
    assert top["refs/changes/"].count == 30 and top["refs/changes/"].has_children
    assert top["refs/tags/"].count == 1 and not top["refs/tags/"].has_children
    assert [ns.label for ns in index.children("refs/changes/")] == ["00/", "01/", "02/"]
    heads = index.view("refs/heads/")
    assert [ref.name for ref in heads] == ["refs/heads/feature/x", "refs/heads/loose-only", "refs/heads/main"]
    everything = index.view("")
    assert len(everything) == len(index) + 1 and everything[0].name == "HEAD"


def test_views_make_refs_only_for_rows_asked_for(shadowed_repo):
    index = RefIndex(load_snapshot(str(shadowed_repo)))
    view = index.view("refs/changes/")
    assert len(view) == 30
    _ = view[5], view[-1]
    assert index.materialized == 2  # nothing else was materialised


def test_shadows_only_view_and_verdicts_after_judging(shadowed_repo):
    snapshot = load_snapshot(str(shadowed_repo))
    index = RefIndex(snapshot)
    shadows = index.view("", shadows_only=True)
    names = [ref.name for ref in shadows]
    assert names == ["refs/changes/00/100/1", "refs/changes/01/101/1", "refs/heads/main"]
    assert all(ref.verdict is None for ref in shadows)  # not judged yet
    judge_shadows(snapshot)
    index.apply_verdicts()
    verdicts = {ref.name: ref.verdict.value for ref in index.view("", shadows_only=True)}
    assert verdicts["refs/changes/01/101/1"] == "stale-loose"
    assert verdicts["refs/heads/main"] == "identical"
    assert index.counts.shadows.get("stale-loose") == 1
    assert [ref.name for ref in index.view("refs/heads/", shadows_only=True)] == ["refs/heads/main"]


def test_the_app_import_path_stays_light():
    """First frame before heavy work: pygit2 and the scanner load only when the scan starts."""
    import subprocess
    import sys

    code = (
        "import sys, tui.cli.main, tui.app.app\n"
        "app = tui.app.app.create_app(['.'], config=None)\n"
        "print(sorted(m for m in ('pygit2', 'tui.core.scan', 'tui.app.screens.repo') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_ref_index_lists_what_git_lists_in_gits_order(shadowed_repo):
    """One merge of loose and packed names (refstore.ref_names): git for-each-ref is the judge."""
    write_loose(shadowed_repo, "refs/heads/\u00e9t\u00e9", git(shadowed_repo, "rev-parse", "refs/heads/main").strip())
    write_loose(shadowed_repo, "refs/heads/zeta", git(shadowed_repo, "rev-parse", "refs/heads/main").strip())
    index = RefIndex(load_snapshot(str(shadowed_repo)))
    listed = git(shadowed_repo, "for-each-ref", "--format=%(refname)").splitlines()
    assert index.names == listed
    assert index.names.index("refs/heads/zeta") < index.names.index("refs/heads/\u00e9t\u00e9")  # bytes, not code points


def test_ref_filter_by_name_source_and_verdict_matches_git(shadowed_repo):
    """filter_view against git's own listing: names (regex, text, inverted) and the source field."""
    import re as regex_module

    snapshot = load_snapshot(str(shadowed_repo))
    judge_shadows(snapshot)
    index = RefIndex(snapshot)
    index.apply_verdicts()
    listed = git(shadowed_repo, "for-each-ref", "--format=%(refname)").splitlines()
    everything = index.view("")
    names = lambda view: [ref.name for ref in view]  # noqa: E731
    assert names(index.filter_view(everything, RowFilter.parse("/1$"))) == [n for n in listed if regex_module.search("/1$", n)]
    assert names(index.filter_view(everything, RowFilter.parse("^HEAD$"))) == ["HEAD"]
    inverted = names(index.filter_view(everything, RowFilter.parse("!changes")))
    assert inverted == ["HEAD"] + [n for n in listed if "changes" not in n]
    fields = ("verdict", "source")
    both = names(index.filter_view(everything, RowFilter.parse("source:both", fields)))
    assert both == ["refs/changes/00/100/1", "refs/changes/01/101/1", "refs/heads/main"]
    loose_only = names(index.filter_view(everything, RowFilter.parse("source:^loose$", fields)))
    assert loose_only == ["HEAD", "refs/heads/loose-only"]
    stale = names(index.filter_view(everything, RowFilter.parse("verdict:stale", fields)))
    assert stale == ["refs/changes/01/101/1"]
    assert index.filter_view(everything, RowFilter.parse("x"), cancelled=lambda: True) is None
