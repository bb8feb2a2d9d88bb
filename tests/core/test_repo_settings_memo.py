"""gitconfig.read_repo_settings: the scan's per-batch memo gives what read_config + repo_settings give."""

from __future__ import annotations

from gitrepo import git, init_bare

from tui.core.gitconfig import read_config, read_repo_settings, repo_settings


def test_alike_configs_share_a_parse_but_not_the_objects(tmp_path):
    first, second = init_bare(tmp_path / "a.git"), init_bare(tmp_path / "b.git")
    for repo in (first, second):
        git(repo, "remote", "add", "origin", "https://example.com/x.git")
    memo: dict = {}
    one, error_one = read_repo_settings(str(first / "config"), memo)
    two, error_two = read_repo_settings(str(second / "config"), memo)
    assert error_one is error_two is None and len(memo) == 1
    assert one == two == repo_settings(read_config(str(first / "config"))[0])
    assert one is not two and one.remotes[0] is not two.remotes[0]
    one.remotes[0].fetch.append("changed")  # one report's copy: the next one is unaffected
    assert read_repo_settings(str(second / "config"), memo)[0] == two


def test_unreadable_or_undecodable_configs_take_the_exact_path(tmp_path):
    repo = init_bare(tmp_path / "a.git")
    (repo / "config").write_bytes(b"[core]\n\tbare = true\n[remote \"o\"]\n\turl = \xff\n")
    memo: dict = {}
    for path in (str(repo / "config"), str(tmp_path / "missing" / "config")):
        config, error = read_config(path)
        assert read_repo_settings(path, memo) == (repo_settings(config), error)
        assert error is not None
    assert memo == {}
