"""The command line's rule for bad input, swept over every subcommand: exit 2, one line on
stderr, no traceback. Each case runs ``python -m tui`` as a subprocess, as an operator would.

Also: a linked worktree's path is accepted wherever a repository is (git itself resolves it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import commit_chain, git, init_bare, init_with_worktrees

from tui.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]


def gitward(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *argv],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, str]:
    """A repository, a plain file and a directory that holds something else."""
    base = tmp_path_factory.mktemp("bad-input")
    repo = init_bare(base / "repo.git")
    commit_chain(repo, 1)
    (base / "file").write_text("not a directory\n")
    (base / "full").mkdir()
    (base / "full" / "keep").write_text("mine\n")
    return {"REPO": str(repo), "FILE": str(base / "file"), "FULL": str(base / "full"), "GONE": str(base / "gone")}


# (argv with REPO/FILE/FULL/GONE placeholders, words stderr must hold). Every (sub)command
# gitward has appears at least once: test_the_table_covers_every_subcommand checks that.
BAD_INPUT = [
    (["scan", "GONE"], ["GONE: no such directory"]),
    (["scan", "FILE"], ["not a directory"]),
    (["scan", "REPO", "--json", "--format", "text"], ["--json and --format"]),
    (["scan", "REPO", "--jsno"], ["--jsno", "did you mean '--json'"]),
    (["scan", "REPO", "--format", "xml"], ["'xml' is not one of", "prometheus"]),
    (["scan", "REPO", "--jobs", "0"], ["--jobs must be 1 or more"]),
    (["scan"], ["required: ROOT"]),
    (["scna", "REPO"], ["'scna' is not a gitward command", "did you mean 'scan'"]),
    (["wortkrees", "REPO"], ["did you mean 'worktrees'"]),
    (["--bogus"], ["unknown option: --bogus"]),
    (["help"], ["gitward --help lists them"]),
    (["refs", "REPO", "--prefix", "heads"], ["did you mean --prefix refs/heads/"]),
    (["refs", "GONE"], ["no such directory"]),
    (["worktrees", "FILE"], ["not a directory"]),
    (["demo", "FILE"], ["is not a directory"]),
    (["demo", "FULL"], ["is not empty and is not a gitward demo"]),
    (["paths", "extra"], ["unknown argument: extra"]),
    (["shadows", "prnue", "REPO"], ["did you mean 'prune'"]),
    (["shadows", "prune", "GONE"], ["no such directory"]),
    (["shadows", "prune", "REPO", "--keep", "newest"], ["'newest' is not one of"]),
    (["worktree", "lock", "GONE", "wt"], ["no such directory"]),
    (["worktree", "unlock", "FILE", "wt"], ["not a directory"]),
    (["worktree", "prune", "REPO", "--expire", "someday"], ["--expire"]),
    (["worktree", "repair", "GONE"], ["no such directory"]),
    (["locks", "clear", "GONE", "packed-refs.lock"], ["no such directory"]),
    (["locks", "open", "REPO"], ["'open' is not one of"]),
    (["journal", "no-such-entry"], ["no journal entry 'no-such-entry'"]),
    (["undo", "no-such-entry", "--yes"], ["no journal entry 'no-such-entry'"]),
    (["sync", "GONE"], ["no such directory"]),
    (["sync", "REPO", "--timeout", "-1"], ["--timeout must be a positive number"]),
    (["manifest", "GONE"], ["no such directory"]),
    (["compare", "GONE", "REPO"], ["no such directory"]),
    (["gc-preview", "FILE"], ["not a directory"]),
    (["fleet"], ["no Prometheus to ask"]),
    (["fleet", "--prometheus", "http://127.0.0.1:9", "--timeout", "0"], ["--timeout must be a positive"]),
]


def _filled(argv: list[str], places: dict[str, str]) -> list[str]:
    return [places.get(arg, arg) for arg in argv]


@pytest.mark.parametrize("argv, words", BAD_INPUT, ids=[" ".join(argv) for argv, _ in BAD_INPUT])
def test_bad_input_exits_2_with_one_line(places, argv, words):
    result = gitward(*_filled(argv, places))
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("gitward"), result.stderr
    for word in words:
        placeholder = word.split(":")[0]
        if placeholder in places:
            word = places[placeholder] + word[len(placeholder):]
        assert word in result.stderr, (word, result.stderr)
    assert result.stdout == ""


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                inner = _subcommands(sub, (*prefix, name))
                found |= inner or {(*prefix, name)}
    return found


def test_the_table_covers_every_subcommand():
    covered = set()
    for argv, _ in BAD_INPUT:
        words = [a for a in argv if not a.startswith("-")]
        covered |= {tuple(words[:1]), tuple(words[:2])}
    missing = {" ".join(cmd) for cmd in _subcommands(build_parser()) if cmd not in covered}
    assert not missing, f"no bad-input case for: {sorted(missing)}"


def test_an_existing_directory_named_like_a_command_typo_is_opened(tmp_path):
    """'scna' is a typo only when no such directory exists: a root named so is scanned."""
    repo = init_bare(tmp_path / "scna" / "x.git")
    commit_chain(repo, 1)
    result = gitward("scna", cwd=tmp_path)  # no terminal: the console prints the scan
    assert result.returncode == 0, result.stderr
    assert "x.git" in result.stdout


# --------------------------------------------------------------------------- linked worktrees


def test_a_linked_worktree_names_its_repository(tmp_path):
    main = init_with_worktrees(tmp_path / "main", "../linked", commits=2)
    linked = tmp_path / "linked"
    assert (linked / ".git").is_file()
    assert git(linked, "rev-parse", "--git-common-dir").strip() == str(main / ".git")  # git's view
    by_main = json.loads(gitward("refs", str(main), "--json").stdout)
    result = gitward("refs", str(linked), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == by_main
    listed = json.loads(gitward("worktrees", str(linked), "--json").stdout)
    assert [w["path"] for w in listed] == [str(main), str(linked)]
    scanned = json.loads(gitward("scan", str(linked), "--json").stdout)["repos"]  # as a root: its repository
    assert [repo["path"] for repo in scanned] == [str(main)]
    for argv in (["gc-preview", str(linked)], ["shadows", "prune", str(linked), "--dry-run"],
                 ["worktree", "prune", str(linked), "--dry-run"]):
        result = gitward(*argv)
        assert result.returncode == 0, (argv, result.stderr)


def test_a_linked_worktree_of_a_bare_repository(tmp_path):
    bare = init_bare(tmp_path / "srv.git")
    commit_chain(bare, 1)
    git(bare, "worktree", "add", "-q", "--detach", str(tmp_path / "checkout"), "main")
    result = gitward("worktrees", str(tmp_path / "checkout"), "--json")
    assert result.returncode == 0, result.stderr
    paths = [w["path"] for w in json.loads(result.stdout)]
    assert paths == [line[9:] for line in git(bare, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]
    locked = gitward("worktree", "lock", str(tmp_path / "checkout"), "checkout", "--reason", "nfs")
    assert locked.returncode == 0, locked.stderr
    assert "locked nfs" in git(bare, "worktree", "list", "--porcelain")
