"""A fresh machine: no git identity, no global or system git config, an empty HOME.

``make test`` once failed on such a machine: a module-scoped fixture ran ``git tag -a`` before
the suite's git environment was set ("unable to auto-detect email address"). The suite and the
demo host set everything git needs themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import commit_chain, git, init_repo
from gitrepo import GIT_ENV

# Seen by the module-scoped fixture below, before any function-scoped fixture has run.
_seen_by_module_fixture: dict[str, str] = {}


@pytest.fixture(scope="module")
def tagged_repo(tmp_path_factory) -> Path:
    """Built the way many modules build theirs: once per module, with ``git commit`` and
    ``git tag -a``, both of which need an identity."""
    _seen_by_module_fixture.update({k: v for k, v in os.environ.items() if k.startswith("GIT_")})
    repo = init_repo(tmp_path_factory.mktemp("fresh") / "repo")
    commit_chain(repo, 1)
    git(repo, "checkout", "-q", "main")
    git(repo, "commit", "-q", "--allow-empty", "-m", "needs an identity")
    git(repo, "tag", "-a", "-m", "needs an identity too", "v1")
    return repo


def test_module_fixtures_use_the_suites_git_identity_and_config(tagged_repo):
    # exactly the suite's git variables, none inherited
    assert _seen_by_module_fixture == {k: v for k, v in GIT_ENV.items() if k.startswith("GIT_")}
    committer = git(tagged_repo, "log", "-1", "--format=%cn <%ce>").strip()
    tagger = git(tagged_repo, "for-each-ref", "--format=%(taggername) %(taggeremail)", "refs/tags/v1").strip()
    assert committer == f"{GIT_ENV['GIT_COMMITTER_NAME']} <{GIT_ENV['GIT_COMMITTER_EMAIL']}>"
    assert tagger == f"{GIT_ENV['GIT_COMMITTER_NAME']} <{GIT_ENV['GIT_COMMITTER_EMAIL']}>"


def test_the_demo_builds_with_an_empty_home_and_no_system_config(tmp_path):
    """``gitward demo DIR`` (what ``make run`` builds) on a machine whose git knows nobody. The
    empty HOME gets a hostile ~/.gitconfig too: the demo must read none of it."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tuseConfigOnly = true\n"  # no identity unless configured: git refuses to guess
        "[commit]\n\tgpgSign = true\n[tag]\n\tgpgSign = true\n"  # would need a key
        "[init]\n\tdefaultBranch = trunk\n"
        f"[core]\n\thooksPath = {home / 'no-such-hooks'}\n"
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C.UTF-8"}
    target = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "tui", "demo", str(target)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (target / "host").is_dir()
    repo = target / "host/gerrit/project-alpha.git"
    author = subprocess.run(
        ["git", "log", "-1", "--format=%an <%ae>", "refs/heads/master"], cwd=repo, env=GIT_ENV | env, capture_output=True, text=True
    )
    assert author.returncode == 0 and "@example.com>" in author.stdout, author.stderr
    scan = subprocess.run([sys.executable, "-m", "tui", "scan", str(target / "host")], env=env, capture_output=True, text=True, timeout=300)
    assert "8 repositories scanned" in scan.stdout, scan.stderr
