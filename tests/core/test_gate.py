"""One write gate (tui/core/write/gate.py): the CLI's writes, `gitward sync`, the journal and the
console all ask it, so read-only mode means the same thing and says the same reason everywhere."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gitrepo import git, init_bare
from refedit_support import build_shadows, ref_files, run_cli
from tui.app.backend import Host
from tui.core.config import load_config
from tui.core.write.gate import OPEN, WriteGate, load_write_gate, write_gate
from tui.core.write.journal import Journal
from tui.core.write.errors import ReadOnlyError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def configure_read_only() -> str:
    """``read_only = true`` in the config file of this test's gitward (conftest's GITWARD_CONFIG_DIR)."""
    config_dir = os.environ["GITWARD_CONFIG_DIR"]
    os.makedirs(config_dir, exist_ok=True)
    path = os.path.join(config_dir, "config.toml")
    with open(path, "w") as handle:
        handle.write("read_only = true\n")
    return path


def test_open_gate_allows_and_has_no_reason():
    assert OPEN.allowed and OPEN.reason is None
    OPEN.check()  # does not raise
    assert write_gate() == OPEN and load_write_gate() == OPEN  # no flag, no config file


def test_flag_closes_the_gate_without_reading_the_config():
    os.makedirs(os.environ["GITWARD_CONFIG_DIR"], exist_ok=True)
    with open(os.path.join(os.environ["GITWARD_CONFIG_DIR"], "config.toml"), "w") as handle:
        handle.write("not toml [\n")  # a broken config must not stop a read-only run
    gate = load_write_gate(flag=True)
    assert not gate.allowed
    assert gate.reason == "read-only mode (--read-only): gitward changes nothing"
    with pytest.raises(ReadOnlyError, match="--read-only"):
        gate.check()


def test_config_closes_the_gate_and_the_reason_names_the_file():
    path = configure_read_only()
    gate = load_write_gate()
    assert not gate.allowed and path in (gate.reason or "")
    assert write_gate(config=load_config()) == gate


def test_journal_asks_its_gate(tmp_path):
    closed = WriteGate(True, "--read-only")
    journal = Journal(str(tmp_path / "journal"), gate=closed)
    assert journal.read_only
    with pytest.raises(ReadOnlyError) as raised:
        journal.begin("x", "/r", "s", [])
    assert str(raised.value) == closed.reason
    assert not (tmp_path / "journal").exists()
    assert not Journal(str(tmp_path / "j2")).read_only


def test_cli_sync_and_console_give_the_same_reason(tmp_path):
    """The config says read_only: `shadows prune`, `sync` and the console's Host all refuse with
    the gate's one reason, and git sees nothing changed."""
    path = configure_read_only()
    reason = load_write_gate().reason
    assert reason and path in reason
    repo = build_shadows(tmp_path, kinds=("stale",))
    before = ref_files(repo.git_dir)
    pruned = run_cli("shadows", "prune", repo.git_dir, "--yes")
    assert pruned.returncode == 1 and reason in pruned.stderr
    assert ref_files(repo.git_dir) == before

    upstream = init_bare(tmp_path / "up.git")
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "clone", "-q", "--mirror", str(upstream), str(mirror))
    refs_before = git(mirror, "for-each-ref")
    synced = subprocess.run(
        [sys.executable, "-m", "tui", "sync", str(mirror)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True, text=True, timeout=60,
    )
    assert synced.returncode == 1 and reason in synced.stderr, synced.stderr
    assert git(mirror, "for-each-ref") == refs_before

    host = Host.from_settings([str(tmp_path)], config=load_config())
    assert host.read_only and host.gate.reason == reason
