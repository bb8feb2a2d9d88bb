"""The journal and undo: before-images written first, listed, restored with compare-and-swap."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from gitrepo import git, init_with_worktrees
from gitutil import prune_dry_run, worktree_list
from refedit_support import build_shadows, fsck_errors, ref_files, resolve, run_cli
from tui.core.write import shadows as refedit, worktree_edit
from tui.core.write.journal import Journal, UnknownEntryError, undo
from tui.core.write.locking import ReadOnlyError, RefusedError, StateChangedError
from tui.core.write.worktree_edit import WorktreeRepo


def entry_id_from(stdout: str) -> str:
    return stdout.rsplit("journal entry ", 1)[1].split()[0].rstrip(";")


@pytest.fixture
def wt_repo(tmp_path) -> Path:
    return init_with_worktrees(tmp_path / "main", "source", commits=2, detach=False)


def test_intent_then_before_image_then_done(tmp_path):
    journal = Journal(str(tmp_path / "journal"))
    entry = journal.begin("shadows-prune", "/repo", "what", [{"ref": "refs/heads/x"}])
    loaded = journal.get(entry.id)
    assert loaded.intent == [{"ref": "refs/heads/x"}] and not loaded.has_before
    assert loaded.status == "running"
    journal.record_before(entry, [{"ref": "refs/heads/x", "loose_b64": "eA=="}], blobs={"a": b"1"})
    loaded = journal.get(entry.id)
    assert loaded.has_before and loaded.items[0]["loose_b64"] == "eA=="
    assert Path(loaded.blob_path("a")).read_bytes() == b"1"
    assert not any(name.startswith(".") for name in os.listdir(journal.root) + os.listdir(entry.path))
    journal.mark_done(entry)
    assert journal.get(entry.id).status == "done"


def test_refusal_before_any_change_discards_the_entry(tmp_path):
    journal = Journal(str(tmp_path / "journal"))
    entry = journal.begin("shadows-prune", "/repo", "what", [])
    with pytest.raises(StateChangedError):
        with journal.preparing(entry):
            raise StateChangedError("moved")
    assert journal.entries() == []


def test_interrupted_entry_is_visible(tmp_path):
    journal = Journal(str(tmp_path / "journal"))
    entry = journal.begin("shadows-prune", "/repo", "what", [])
    data = json.loads(Path(entry.path, "entry.json").read_text())
    data["pid"], data["start_ticks"] = 2**22 + 12345, None  # a process that does not exist
    Path(entry.path, "entry.json").write_text(json.dumps(data))
    assert journal.get(entry.id).status == "interrupted"
    assert [e.id for e in journal.unfinished_for("/repo")] == [entry.id]


def test_read_only_journal_refuses_to_begin(tmp_path):
    with pytest.raises(ReadOnlyError):
        Journal(str(tmp_path / "journal"), read_only=True).begin("x", "/r", "s", [])


def test_journal_cli_lists_entries(tmp_path):
    repo = build_shadows(tmp_path, kinds=("stale", "dead"))
    applied = run_cli("shadows", "prune", repo.git_dir, "--yes")
    assert applied.returncode == 0, applied.stderr
    listing = run_cli("journal")
    assert listing.returncode == 0
    header, row = listing.stdout.splitlines()
    assert header.split() == ["ID", "WHEN", "(UTC)", "STATUS", "KIND", "WHAT"]
    assert " done " in row and "shadows-prune" in row
    entries = json.loads(run_cli("journal", "--json").stdout)
    (entry,) = entries
    assert entry["status"] == "done" and entry["kind"] == "shadows-prune"
    assert {item["ref"] for item in entry["items"]} == {"refs/heads/stale", "refs/heads/dead"}
    stale = next(i for i in entry["items"] if i["ref"] == "refs/heads/stale")
    assert stale["before"] == repo.values["c2"] and stale["after"] == repo.values["c4"]


def test_undo_shadows_restores_every_file(tmp_path):
    repo = build_shadows(tmp_path, log_refs=True)
    before = ref_files(repo.git_dir)
    values = {name: resolve(repo.git_dir, name) for name in repo.shadows}
    applied = run_cli("shadows", "prune", repo.git_dir, "--yes")
    assert applied.returncode == 0, applied.stderr
    entry_id = entry_id_from(applied.stdout)
    undone = run_cli("undo", entry_id, "--yes")
    assert undone.returncode == 0, undone.stderr
    assert {name: resolve(repo.git_dir, name) for name in repo.shadows} == values
    after = ref_files(repo.git_dir)
    # Every ref file is back byte for byte; reflogs only grew (two entries for the round trip).
    assert {k: v for k, v in after.items() if not k.startswith("logs/")} == {
        k: v for k, v in before.items() if not k.startswith("logs/")
    }
    assert fsck_errors(repo.git_dir) == ""
    statuses = {e["id"]: e["status"] for e in json.loads(run_cli("journal", "--json").stdout)}
    assert statuses[entry_id] == "undone"
    again = run_cli("undo", entry_id, "--yes")
    assert again.returncode == 1 and "already undone" in again.stderr


def test_undo_refuses_when_the_ref_moved_on(tmp_path):
    repo = build_shadows(tmp_path, kinds=("stale", "dead"))
    journal = Journal(str(tmp_path / "journal"))
    result = refedit.apply(refedit.plan_shadow_prune(repo.git_dir), journal)
    git(repo.path, "update-ref", "refs/heads/stale", repo.values["c5"])  # a push after the fix
    before = ref_files(repo.git_dir)
    with pytest.raises(StateChangedError, match="refs/heads/stale moved on since"):
        undo(journal, result.entry_id)
    assert ref_files(repo.git_dir) == before
    assert journal.get(result.entry_id).status == "done"


def test_undo_of_an_undo_and_unknown_ids_are_refused(tmp_path):
    repo = build_shadows(tmp_path, kinds=("stale",))
    journal = Journal(str(tmp_path / "journal"))
    result = refedit.apply(refedit.plan_shadow_prune(repo.git_dir), journal)
    undo_entry = undo(journal, result.entry_id)
    with pytest.raises(RefusedError, match="is itself the undo"):
        undo(journal, undo_entry.id)
    with pytest.raises(UnknownEntryError):
        undo(journal, "20990101-000000-ffff")
    cli = run_cli("undo", "nope")
    assert cli.returncode == 2 and "no journal entry 'nope'" in cli.stderr


def test_undo_in_read_only_mode_is_refused(tmp_path):
    repo = build_shadows(tmp_path, kinds=("stale",))
    applied = run_cli("shadows", "prune", repo.git_dir, "--yes")
    result = run_cli("undo", entry_id_from(applied.stdout), "--read-only")
    assert result.returncode == 1 and "read-only" in result.stderr


def test_undo_worktree_lock_and_unlock(wt_repo):
    locked = run_cli("worktree", "lock", wt_repo, "source", "--reason", "nfs")
    assert run_cli("undo", entry_id_from(locked.stdout), "--yes").returncode == 0
    assert not (wt_repo / ".git/worktrees/source/locked").exists()
    run_cli("worktree", "lock", wt_repo, "source", "--reason", "keep me")
    os.chmod(wt_repo / ".git/worktrees/source/locked", 0o600)
    unlocked = run_cli("worktree", "unlock", wt_repo, "source")
    assert unlocked.returncode == 0, unlocked.stderr
    assert run_cli("undo", entry_id_from(unlocked.stdout), "--yes").returncode == 0
    locked_file = wt_repo / ".git/worktrees/source/locked"
    assert locked_file.read_text() == "keep me\n" and locked_file.stat().st_mode & 0o777 == 0o600
    assert next(e for e in worktree_list(wt_repo) if e.path.endswith("/source")).lock_reason == "keep me"


def test_undo_lock_refuses_when_the_reason_changed(wt_repo, tmp_path):
    journal = Journal(str(tmp_path / "journal"))
    repo = WorktreeRepo(str(wt_repo / ".git"), str(wt_repo))
    entry = worktree_edit.apply(worktree_edit.plan_lock(repo, "source", "mine"), journal)
    (wt_repo / ".git/worktrees/source/locked").write_text("somebody else's\n")
    with pytest.raises(StateChangedError):
        undo(journal, entry.id)
    assert (wt_repo / ".git/worktrees/source/locked").read_text() == "somebody else's\n"


def test_undo_prune_restores_the_admin_dir(wt_repo):
    admin = wt_repo / ".git/worktrees/source"
    files_before = {p.relative_to(admin): p.read_bytes() for p in admin.rglob("*") if p.is_file()}
    shutil.rmtree(wt_repo / "source")
    pruned = run_cli("worktree", "prune", wt_repo, "--yes")
    assert pruned.returncode == 0 and not admin.exists()
    assert not any(name.startswith("gitward-") for name in os.listdir(wt_repo / ".git"))  # no trash left
    assert run_cli("undo", entry_id_from(pruned.stdout), "--yes").returncode == 0
    assert {p.relative_to(admin): p.read_bytes() for p in admin.rglob("*") if p.is_file()} == files_before
    assert prune_dry_run(wt_repo) == {"source": "gitdir file points to non-existent location"}


def test_undo_repair(tmp_path):
    main = init_with_worktrees(tmp_path / "main", "../side")
    gitdir = main / ".git/worktrees/side/gitdir"
    original = gitdir.read_bytes()
    (tmp_path / "side").rename(tmp_path / "moved")
    repaired = run_cli("worktree", "repair", main, str(tmp_path / "moved"))
    assert repaired.returncode == 0, repaired.stderr
    assert gitdir.read_text() == f"{tmp_path}/moved/.git\n"
    assert run_cli("undo", entry_id_from(repaired.stdout), "--yes").returncode == 0
    assert gitdir.read_bytes() == original
