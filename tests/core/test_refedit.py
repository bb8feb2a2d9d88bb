"""shadows prune and locks clear on real repositories; git is the judge.

Ports of git's own scenarios where they apply (t1400-update-ref, t0600-reffiles-backend,
t/pack-refs-tests.sh): a held packed-refs.lock or a left packed-refs.new fails cleanly and
leaves both in place; a ref that is both loose and packed never shows a third value.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time

import pytest

from gitrepo import git, write_loose
from refedit_support import (
    SHADOW_KINDS,
    WITHOUT_DAC_OVERRIDE,
    build_shadows,
    fsck_errors,
    ref_files,
    resolve,
    run_cli,
)
from tui.core.write import shadows as refedit
from tui.core.write.journal import Journal
from tui.core.write.locking import LockHeldError, OwnershipError, RefusedError, StateChangedError, UnsupportedError
from tui.core.write.shadows import Action, Keep


@pytest.fixture
def journal(tmp_path):
    return Journal(str(tmp_path / "journal"))


def test_plan_by_verdict_is_pure(tmp_path):
    repo = build_shadows(tmp_path, kinds=tuple(SHADOW_KINDS))
    before = ref_files(repo.git_dir)
    plan = refedit.plan_shadow_prune(repo.git_dir, "auto")
    assert ref_files(repo.git_dir) == before  # planning never writes
    actions = {item.name: (item.verdict.value, item.action) for item in plan.items}
    assert actions == {
        "refs/changes/01/1/meta": ("stale-loose", Action.KEEP_PACKED),
        "refs/heads/stale": ("stale-loose", Action.KEEP_PACKED),
        "refs/heads/dead": ("dead-packed", Action.KEEP_LOOSE),
        "refs/heads/same": ("identical", Action.KEEP_LOOSE),
        "refs/heads/diverged": ("diverged", Action.SKIP),
        "refs/tags/odd": ("undecidable", Action.SKIP),
        "refs/heads/broken": ("broken-loose", Action.SKIP),
        "refs/heads/missing": ("missing-object", Action.SKIP),
    }
    stale = next(i for i in plan.items if i.name == "refs/heads/stale")
    assert (stale.before, stale.after) == (repo.values["c2"], repo.values["c4"])
    assert all(i.note.startswith("left for a human decision") for i in plan.skipped)
    assert plan.refusals == []


def test_auto_applies_what_the_plan_promised(tmp_path, journal):
    repo = build_shadows(tmp_path)
    header_before = (repo.path / "packed-refs").read_bytes().split(b"\n", 1)[0]
    plan = refedit.plan_shadow_prune(repo.git_dir, Keep.AUTO)
    result = refedit.apply(plan, journal)
    for item in plan.items:
        assert resolve(repo.git_dir, item.name) == item.after, item.name
    # keep-packed: the loose file is gone; keep-loose: the packed entry is gone
    assert not (repo.path / "refs/heads/stale").exists()
    assert not (repo.path / "refs/changes/01").exists()  # empty parents removed, as git does
    assert (repo.path / "refs/changes").is_dir()  # but never refs/<kind>/ itself
    packed = (repo.path / "packed-refs").read_text()
    assert "refs/heads/dead" not in packed and "refs/heads/same" not in packed
    assert "refs/heads/diverged" in packed and "refs/tags/odd" in packed  # untouched
    assert packed.split("\n", 1)[0].encode() == header_before
    assert f"refs/tags/v1\n^{repo.values['c3']}\n" in packed  # peeled line kept with its ref
    assert fsck_errors(repo.git_dir) == ""
    entry = journal.get(result.entry_id)
    assert entry.status == "done" and {i["ref"] for i in entry.items} == {i.name for i in plan.changes}


def test_keep_packed_fixes_the_migration_incident_via_cli(tmp_path):
    repo = build_shadows(tmp_path, kinds=("stale", "meta", "dead"), log_refs=True)
    result = run_cli("shadows", "prune", repo.git_dir, "--keep", "packed", "--yes")
    assert result.returncode == 0, result.stderr
    assert resolve(repo.git_dir, "refs/heads/stale") == repo.values["c4"]
    assert resolve(repo.git_dir, "refs/changes/01/1/meta") == repo.values["c5"]
    # dead-packed under --keep packed would revert a normal update: untouched without --ref
    assert resolve(repo.git_dir, "refs/heads/dead") == repo.values["c3"]
    assert "name it with --ref" in result.stdout
    reflog = git(repo.path, "reflog", "show", "--format=%H %gs", "refs/heads/stale").splitlines()
    assert reflog[0].startswith(repo.values["c4"]) and "gitward shadows prune" in reflog[0]
    assert fsck_errors(repo.git_dir) == ""


def test_keep_packed_with_ref_forces_and_warns(tmp_path):
    repo = build_shadows(tmp_path, kinds=("dead", "stale"))
    result = run_cli("shadows", "prune", repo.git_dir, "--keep", "packed", "--ref", "refs/heads/dead", "--yes")
    assert result.returncode == 0, result.stderr
    assert "WARNING dead-packed" in result.stdout
    assert resolve(repo.git_dir, "refs/heads/dead") == repo.values["c1"]
    assert resolve(repo.git_dir, "refs/heads/stale") == repo.values["c2"]  # not named: untouched


def test_keep_loose_never_changes_visible_values(tmp_path):
    repo = build_shadows(tmp_path)
    before = {name: resolve(repo.git_dir, name) for name in repo.shadows}
    result = run_cli("shadows", "prune", repo.git_dir, "--keep", "loose", "--yes", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {c["name"] for c in report["changes"]} == {"refs/heads/dead", "refs/heads/same"}
    assert report["journal_entry"]
    assert {name: resolve(repo.git_dir, name) for name in repo.shadows} == before
    # stale-loose under --keep loose would throw the newer packed value away: untouched
    assert repo.values["c4"] in (repo.path / "packed-refs").read_text()


def test_dry_run_changes_nothing(tmp_path):
    repo = build_shadows(tmp_path)
    before = ref_files(repo.git_dir)
    result = run_cli("shadows", "prune", repo.git_dir, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would change:" in result.stdout and "refs/heads/stale" in result.stdout
    assert ref_files(repo.git_dir) == before


def test_without_yes_it_asks_or_refuses(tmp_path):
    repo = build_shadows(tmp_path, kinds=("stale",))
    before = ref_files(repo.git_dir)
    result = run_cli("shadows", "prune", repo.git_dir)  # stdin is not a terminal
    assert result.returncode == 1
    assert "add --yes" in result.stderr
    assert ref_files(repo.git_dir) == before


def test_unknown_ref_is_refused(tmp_path):
    repo = build_shadows(tmp_path, kinds=("stale",))
    result = run_cli("shadows", "prune", repo.git_dir, "--ref", "refs/heads/plain", "--yes")
    assert result.returncode == 1
    assert "refs/heads/plain is not both loose and packed" in result.stderr


def test_read_only_refuses(tmp_path, monkeypatch):
    repo = build_shadows(tmp_path, kinds=("stale",))
    before = ref_files(repo.git_dir)
    flag = run_cli("shadows", "prune", repo.git_dir, "--yes", "--read-only")
    assert flag.returncode == 1 and "read-only" in flag.stderr
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "config.toml").write_text("read_only = true\n")
    configured = run_cli("shadows", "prune", repo.git_dir, "--yes", env={"GITWARD_CONFIG_DIR": str(config_dir)})
    assert configured.returncode == 1 and "read-only" in configured.stderr
    assert ref_files(repo.git_dir) == before


# --------------------------------------------------------------------------- refusals


def test_anomalies_refuse(tmp_path, journal):
    repo = build_shadows(tmp_path, kinds=("stale",))
    with open(repo.path / "packed-refs", "ab") as handle:
        handle.write(b"garbage line\n")
    before = ref_files(repo.git_dir)
    plan = refedit.plan_shadow_prune(repo.git_dir)
    assert plan.refusals and "garbage line" in str(plan.refusals[0])
    with pytest.raises(UnsupportedError):
        refedit.apply(plan, journal)
    result = run_cli("shadows", "prune", repo.git_dir, "--yes")
    assert result.returncode == 1 and "does not fully understand" in result.stderr
    assert ref_files(repo.git_dir) == before and journal.entries() == []


def test_left_packed_refs_new_refuses_and_stays(tmp_path):
    # t1400/t0600: a left packed-refs.new makes git's own writers fail cleanly
    repo = build_shadows(tmp_path, kinds=("dead",))
    (repo.path / "packed-refs.new").write_bytes(b"someone else's\n")
    before = ref_files(repo.git_dir)
    result = run_cli("shadows", "prune", repo.git_dir, "--yes")
    assert result.returncode == 1
    assert "packed-refs.new is left behind" in result.stderr
    assert ref_files(repo.git_dir) == before  # including the .new file itself


def test_held_packed_refs_lock_fails_after_about_a_second(tmp_path):
    repo = build_shadows(tmp_path, kinds=("dead",))
    (repo.path / "packed-refs.lock").write_bytes(b"")
    before = ref_files(repo.git_dir)
    started = time.monotonic()
    result = run_cli("shadows", "prune", repo.git_dir, "--yes")
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert f"Unable to create '{repo.path}/packed-refs.lock': File exists" in result.stderr
    assert 0.9 < elapsed < 5
    assert ref_files(repo.git_dir) == before  # the foreign lock is still there, untouched
    # git agrees that it is held
    git_result = subprocess.run(["git", "update-ref", "-d", "refs/heads/dead"], cwd=repo.path, capture_output=True, text=True)
    assert git_result.returncode != 0 and "packed-refs.lock': File exists" in git_result.stderr


def test_held_ref_lock_fails_cleanly(tmp_path, journal):
    repo = build_shadows(tmp_path, kinds=("stale", "dead"))
    (repo.path / "refs/heads/stale.lock").write_bytes(b"")
    before = ref_files(repo.git_dir)
    plan = refedit.plan_shadow_prune(repo.git_dir)
    with pytest.raises(LockHeldError) as caught:
        refedit.apply(plan, journal)
    assert "refs/heads/stale.lock': File exists" in str(caught.value)
    assert ref_files(repo.git_dir) == before  # dead was not touched either: all or nothing
    assert journal.entries() == []


def test_reftable_is_refused(tmp_path):
    repo = build_shadows(tmp_path, kinds=("stale",))
    git(repo.path, "config", "core.repositoryformatversion", "1")
    git(repo.path, "config", "extensions.refStorage", "reftable")
    result = run_cli("shadows", "prune", repo.git_dir, "--yes")
    assert result.returncode == 1 and "reftable" in result.stderr


def test_moved_ref_refuses_instead_of_overwriting(tmp_path, journal):
    repo = build_shadows(tmp_path, kinds=("stale", "dead"))
    plan = refedit.plan_shadow_prune(repo.git_dir)
    git(repo.path, "update-ref", "refs/heads/stale", repo.values["c5"])  # someone pushed
    before = ref_files(repo.git_dir)
    with pytest.raises(StateChangedError) as caught:
        refedit.apply(plan, journal)
    assert "refs/heads/stale moved since the plan" in str(caught.value)
    assert ref_files(repo.git_dir) == before
    assert resolve(repo.git_dir, "refs/heads/stale") == repo.values["c5"]


def test_moved_packed_value_refuses(tmp_path, journal):
    repo = build_shadows(tmp_path, kinds=("dead",))
    plan = refedit.plan_shadow_prune(repo.git_dir)
    text = (repo.path / "packed-refs").read_text().replace(
        f"{repo.values['c1']} refs/heads/dead", f"{repo.values['c2']} refs/heads/dead"
    )
    (repo.path / "packed-refs").write_text(text)
    with pytest.raises(StateChangedError, match="packed-refs said"):
        refedit.apply(plan, journal)


# --------------------------------------------------------------------------- owner and mode


def test_wrong_owner_is_refused_naming_the_user(tmp_path):
    repo = build_shadows(tmp_path, kinds=("stale", "dead"))
    for folder, dirs, files in os.walk(repo.path):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), 12345, 12345)
    os.chown(repo.path, 12345, 12345)
    before = ref_files(repo.git_dir)
    result = run_cli("shadows", "prune", repo.git_dir, "--yes")
    assert result.returncode == 1
    assert "uid 12345" in result.stderr and "run gitward as" in result.stderr
    assert "sudo -u '#12345'" in result.stderr
    assert ref_files(repo.git_dir) == before
    with pytest.raises(OwnershipError) as caught:
        refedit.apply(refedit.plan_shadow_prune(repo.git_dir), Journal(str(tmp_path / "j")))
    assert caught.value.owner_uid == 12345


def test_rewrite_keeps_owner_group_and_mode(tmp_path, journal):
    repo = build_shadows(tmp_path, kinds=("dead", "stale"))
    packed = repo.path / "packed-refs"
    os.chmod(packed, 0o640)
    os.chown(packed, os.geteuid(), 4321)
    loose = repo.path / "refs/heads/stale"
    os.chmod(loose, 0o600)
    result = refedit.apply(refedit.plan_shadow_prune(repo.git_dir), journal)
    st = os.stat(packed)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, os.geteuid(), 4321)
    # undo puts the loose file back with its old mode
    from tui.core.write.journal import undo

    undo(journal, result.entry_id)
    assert stat.S_IMODE(os.stat(loose).st_mode) == 0o600
    assert resolve(repo.git_dir, "refs/heads/stale") == repo.values["c2"]
    st = os.stat(packed)
    assert (stat.S_IMODE(st.st_mode), st.st_gid) == (0o640, 4321)


def test_permission_error_is_clear_and_changes_nothing(tmp_path):
    # The running user owns the repo but cannot write in refs/heads (root without its
    # permission-override capabilities stands in for the owner here).
    repo = build_shadows(tmp_path, kinds=("stale", "dead"))
    os.chmod(repo.path / "refs/heads", 0o555)
    before = ref_files(repo.git_dir)
    try:
        result = run_cli("shadows", "prune", repo.git_dir, "--yes", wrap=WITHOUT_DAC_OVERRIDE)
    finally:
        os.chmod(repo.path / "refs/heads", 0o755)
    assert result.returncode == 1, result.stderr
    assert "refs/heads/dead.lock': Permission denied; nothing was changed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert ref_files(repo.git_dir) == before


# --------------------------------------------------------------------------- git's own scenarios


def test_git_deletes_cleanly_after_either_keep(tmp_path, journal):
    # t1400 "delete ref that is both loose and packed": after gitward resolved the shadow,
    # git's own delete removes the ref completely; no older packed value comes back.
    repo = build_shadows(tmp_path, kinds=("stale", "dead"))
    refedit.apply(refedit.plan_shadow_prune(repo.git_dir), journal)
    for name in ("refs/heads/stale", "refs/heads/dead"):
        git(repo.path, "update-ref", "-d", name)
        assert resolve(repo.git_dir, name) is None
    assert fsck_errors(repo.git_dir) == ""


def test_pack_refs_after_keep_packed_keeps_the_newer_values(tmp_path, journal):
    # The incident's danger: 'git pack-refs' folds stale loose values. After gitward it cannot.
    repo = build_shadows(tmp_path, kinds=("stale", "meta"))
    refedit.apply(refedit.plan_shadow_prune(repo.git_dir), journal)
    git(repo.path, "pack-refs", "--all")
    assert resolve(repo.git_dir, "refs/heads/stale") == repo.values["c4"]
    assert resolve(repo.git_dir, "refs/changes/01/1/meta") == repo.values["c5"]


def test_broken_and_missing_refs_fixed_only_when_named(tmp_path):
    repo = build_shadows(tmp_path, kinds=("broken", "missing"))
    assert "refs/heads/broken" in fsck_errors(repo.git_dir)
    unnamed = run_cli("shadows", "prune", repo.git_dir, "--keep", "packed", "--yes")
    assert unnamed.returncode == 0 and "name it with --ref" in unnamed.stdout
    assert resolve(repo.git_dir, "refs/heads/broken") is None  # still broken: nobody checked it
    named = run_cli(
        "shadows", "prune", repo.git_dir, "--keep", "packed", "--ref", "refs/heads/broken", "refs/heads/missing", "--yes"
    )
    assert named.returncode == 0, named.stderr
    assert resolve(repo.git_dir, "refs/heads/broken") == repo.values["c2"]
    assert resolve(repo.git_dir, "refs/heads/missing") == repo.values["c2"]
    assert fsck_errors(repo.git_dir) == ""
    # keeping the loose side of a broken ref would leave it broken: never, not even when named
    plan = refedit.plan_shadow_prune(build_shadows(tmp_path / "again", kinds=("broken",)).git_dir, "loose", ["refs/heads/broken"])
    assert plan.changes == [] and "leave the ref broken" in plan.skipped[0].note


def test_symbolic_loose_ref_forced_keep_packed(tmp_path, journal):
    repo = build_shadows(tmp_path, kinds=())
    git(repo.path, "update-ref", "refs/heads/sym", repo.values["c1"])
    git(repo.path, "pack-refs", "--all")
    write_loose(repo.path, "refs/heads/sym", "ref: refs/heads/plain")
    plan = refedit.plan_shadow_prune(repo.git_dir, "packed", ["refs/heads/sym"])
    (item,) = plan.changes
    assert item.loose.symbolic_target == "refs/heads/plain" and item.action is Action.KEEP_PACKED
    refedit.apply(plan, journal)
    assert resolve(repo.git_dir, "refs/heads/sym") == repo.values["c1"]


# --------------------------------------------------------------------------- locks clear


def test_locks_clear_refuses_a_fresh_lock(tmp_path):
    repo = build_shadows(tmp_path, kinds=())
    lock = repo.path / "packed-refs.lock"
    lock.write_bytes(b"")
    result = run_cli("locks", "clear", repo.git_dir, "packed-refs.lock", "--yes")
    assert result.returncode == 1
    assert "inside its grace period of an hour" in result.stderr
    assert "packed-refs.lock:" in result.stdout and "old" in result.stdout  # the age was shown
    assert lock.exists()


def test_locks_clear_removes_a_stale_lock_and_undo_restores_it(tmp_path):
    repo = build_shadows(tmp_path, kinds=())
    lock = repo.path / "refs/heads/plain.lock"
    lock.write_bytes(b"abc\n")
    two_hours_ago = time.time() - 7200
    os.utime(lock, (two_hours_ago, two_hours_ago))
    result = run_cli("locks", "clear", repo.git_dir, "refs/heads/plain.lock", "--yes")
    assert result.returncode == 0, result.stderr
    assert "2 hours old, grace period an hour" in result.stdout
    assert not lock.exists()
    git(repo.path, "update-ref", "refs/heads/plain", repo.values["c2"])  # git can write again
    entry_id = result.stdout.rsplit("journal entry ", 1)[1].split()[0]
    undone = run_cli("undo", entry_id, "--yes")
    assert undone.returncode == 0, undone.stderr
    assert lock.read_bytes() == b"abc\n"


def test_locks_clear_only_takes_lock_files(tmp_path):
    repo = build_shadows(tmp_path, kinds=())
    result = run_cli("locks", "clear", repo.git_dir, "packed-refs", "--yes")
    assert result.returncode == 1 and "not a lock file" in result.stderr
    outside = run_cli("locks", "clear", repo.git_dir, "../elsewhere.lock", "--yes")
    assert outside.returncode == 1 and "not inside the repository" in outside.stderr


def test_refused_error_hierarchy():
    assert issubclass(StateChangedError, RefusedError) and issubclass(LockHeldError, RefusedError)
