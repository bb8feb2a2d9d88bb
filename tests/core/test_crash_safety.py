"""Kill gitward at every step of every action; the repository must stay valid and undo must work.

How: the core calls ``fault_point(name)`` at each step. A first run with GITWARD_FAULT_TRACE
lists the steps an action reaches (``name@n`` for the n-th time); then, for each step, a fresh
repository and a run with GITWARD_FAULT=<step>, where the CLI process SIGKILLs itself. After
each kill:

- every ref (worktree file) holds its old or its new value, nothing else; git fsck is clean;
- the journal shows the entry as interrupted (or has none: killed before the intent was written,
  and then nothing was touched at all);
- undo restores the old state exactly, removes every lock the killed process left, and git can
  write again.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from gitrepo import for_each_ref, git, init_with_worktrees
from gitutil import prune_dry_run, worktree_list
from refedit_support import build_shadows, fsck_errors, ref_files, run_cli
from tui.core.write import shadows as refedit, worktree_edit
from tui.core.write.journal import Journal, undo
from tui.core.write.worktree_edit import WorktreeRepo


def trace_steps(tmp_path: Path, argv: list, cwd=None) -> list[str]:
    trace = tmp_path / "trace.txt"
    result = run_cli(*argv, env={"GITWARD_FAULT_TRACE": str(trace)}, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return trace.read_text().split()


def kill_at(step: str, argv: list, cwd=None) -> None:
    result = run_cli(*argv, env={"GITWARD_FAULT": step}, cwd=cwd)
    assert result.returncode == -9, f"not killed at {step}: rc={result.returncode} {result.stderr}"


def interrupted_entries(journal: Journal) -> list:
    return [e for e in journal.entries() if e.status == "interrupted"]


def no_lock_files(*dirs: Path) -> list[str]:
    found = []
    for base in dirs:
        for path in base.rglob("*"):
            if path.name.endswith((".lock", ".new")) or path.name.startswith("gitward-"):
                found.append(str(path))
    return found


# --------------------------------------------------------------------------- shadows prune


class ShadowsScenario:
    """--keep auto on two stale-loose refs (keep packed) and two dead/identical (keep loose)."""

    def __init__(self, base: Path) -> None:
        self.template = build_shadows(base / "template", log_refs=True)
        plan = refedit.plan_shadow_prune(self.template.git_dir)
        self.promised = {item.name: (item.before, item.after) for item in plan.items}
        assert len(plan.changes) == 4
        self.runs = 0
        self.base = base

    def fresh(self) -> Path:
        self.runs += 1
        target = self.base / f"run{self.runs}" / "repo.git"
        shutil.copytree(self.template.path, target, symlinks=True)
        return target

    def check_each_ref_old_or_new(self, repo: Path, before: dict[str, str]) -> None:
        now = for_each_ref(repo)
        assert set(now) == set(before)
        for name, value in now.items():
            old, new = self.promised.get(name, (before[name], before[name]))
            assert value in (old, new), f"{name} shows {value}, neither old nor new"


@pytest.fixture(scope="module")
def shadows(tmp_path_factory):
    return ShadowsScenario(tmp_path_factory.mktemp("shadows"))


def test_kill_shadows_prune_at_every_step(shadows, tmp_path):
    argv = lambda repo: ["shadows", "prune", repo, "--yes"]  # noqa: E731
    steps = trace_steps(tmp_path, argv(shadows.fresh()))
    print(f"\ncrash points, shadows prune: {len(steps)}: {' '.join(steps)}")
    assert {"shadows:packed-new-written@1", "shadows:packed-refs-renamed@1", "shadows:loose-unlinked@2"} <= set(steps)
    journal = Journal()
    for step in steps:
        repo = shadows.fresh()
        before_files = {k: v for k, v in ref_files(repo).items() if not k.startswith("logs/")}
        before = for_each_ref(repo)
        kill_at(step, argv(repo))
        shadows.check_each_ref_old_or_new(repo, before)
        assert fsck_errors(repo) == "", step
        entries = [e for e in interrupted_entries(journal) if e.repo == str(repo)]
        if step.startswith("journal:staged"):
            assert entries == [] and ref_files(repo) == {**before_files, **_logs(repo)}
            continue
        (entry,) = entries
        undo(journal, entry.id)
        assert {k: v for k, v in ref_files(repo).items() if not k.startswith("logs/")} == before_files, step
        assert for_each_ref(repo) == before
        assert no_lock_files(repo) == [], step
        git(repo, "update-ref", "refs/heads/stale", shadows.template.values["c5"])  # git can write
        assert fsck_errors(repo) == ""


def _logs(repo: Path) -> dict[str, bytes]:
    return {k: v for k, v in ref_files(repo).items() if k.startswith("logs/")}


def test_kill_undo_of_shadows_prune_at_every_step(shadows, tmp_path):
    journal = Journal()
    probe = shadows.fresh()
    applied = refedit.apply(refedit.plan_shadow_prune(str(probe)), journal)
    steps = trace_steps(tmp_path, ["undo", applied.entry_id, "--yes"])
    print(f"\ncrash points, undo of shadows prune: {len(steps)}: {' '.join(steps)}")
    assert "undo:loose-restored@2" in steps and "undo:packed-refs-renamed@1" in steps
    for step in steps:
        repo = shadows.fresh()
        original_files = {k: v for k, v in ref_files(repo).items() if not k.startswith("logs/")}
        original = for_each_ref(repo)
        entry_id = refedit.apply(refedit.plan_shadow_prune(str(repo)), journal).entry_id
        kill_at(step, ["undo", entry_id, "--yes"])
        shadows.check_each_ref_old_or_new(repo, original)
        assert fsck_errors(repo) == "", step
        if not step.startswith("journal:staged"):
            (interrupted,) = [e for e in interrupted_entries(journal) if e.repo == str(repo)]
            assert interrupted.undo_of == entry_id
        undo(journal, entry_id)  # run again: finishes what the killed undo started
        assert {k: v for k, v in ref_files(repo).items() if not k.startswith("logs/")} == original_files, step
        assert no_lock_files(repo) == [], step


# --------------------------------------------------------------------------- worktrees


def make_worktrees(base: Path, names=("wt1", "wt2")) -> Path:
    return init_with_worktrees(base / "main", *(f"../{name}" for name in names))


def admin_state(main: Path) -> dict[str, dict[str, bytes]]:
    """Every admin dir's files, by worktree id."""
    root = main / ".git/worktrees"
    if not root.exists():
        return {}
    return {
        admin.name: {str(p.relative_to(admin)): p.read_bytes() for p in sorted(admin.rglob("*")) if p.is_file()}
        for admin in root.iterdir()
    }


def run_worktree_scenario(tmp_path: Path, prepare, argv_for, check_mid, cwd_for=lambda ctx: None) -> int:
    """Trace once, then kill at every step; returns the number of crash points covered."""
    ctx = prepare(tmp_path / "trace")
    steps = trace_steps(tmp_path, argv_for(ctx), cwd=cwd_for(ctx))
    print(f"\ncrash points, {argv_for(ctx)[0]} {argv_for(ctx)[1]}: {len(steps)}: {' '.join(steps)}")
    journal = Journal()
    for n, step in enumerate(steps):
        ctx = prepare(tmp_path / f"run{n}")
        main = ctx["main"]
        before = admin_state(main)
        before_files = {p: p.read_bytes() if p.exists() else None for p in ctx.get("files", [])}
        kill_at(step, argv_for(ctx), cwd=cwd_for(ctx))
        worktree_list(main)  # git still reads every entry
        check_mid(ctx, before)
        assert fsck_errors(main) == "", step
        entries = [e for e in interrupted_entries(journal) if e.repo == str(main / ".git")]
        if step.startswith("journal:staged"):
            assert entries == [] and admin_state(main) == before
            continue
        (entry,) = entries
        undo(journal, entry.id)
        assert admin_state(main) == before, step
        assert {p: p.read_bytes() if p.exists() else None for p in before_files} == before_files, step
        assert no_lock_files(main / ".git/worktrees", *ctx.get("dirs", [])) == [], step
        assert not [n for n in os.listdir(main / ".git") if n.startswith("gitward-")], step
    return len(steps)


def test_kill_worktree_lock_at_every_step(tmp_path):
    def prepare(base):
        return {"main": make_worktrees(base)}

    def check(ctx, before):
        locked = ctx["main"] / ".git/worktrees/wt1/locked"
        assert not locked.exists() or locked.read_bytes() == b"nfs blinks\n"

    covered = run_worktree_scenario(
        tmp_path, prepare, lambda ctx: ["worktree", "lock", ctx["main"], "wt1", "--reason", "nfs blinks"], check
    )
    assert covered >= 6


def test_kill_worktree_unlock_at_every_step(tmp_path):
    def prepare(base):
        main = make_worktrees(base)
        git(main, "worktree", "lock", "--reason", "keep", "../wt1")
        return {"main": main}

    def check(ctx, before):
        locked = ctx["main"] / ".git/worktrees/wt1/locked"
        assert not locked.exists() or locked.read_bytes() == b"keep\n"
        entry = next(e for e in worktree_list(ctx["main"]) if e.path.endswith("/wt1"))
        assert entry.lock_reason in ("keep", None)

    covered = run_worktree_scenario(tmp_path, prepare, lambda ctx: ["worktree", "unlock", ctx["main"], "wt1"], check)
    assert covered >= 5


def test_kill_worktree_prune_at_every_step(tmp_path):
    def prepare(base):
        main = make_worktrees(base, ("wt1", "wt2", "kept"))
        shutil.rmtree(base / "wt1")
        shutil.rmtree(base / "wt2")
        return {"main": main}

    def check(ctx, before):
        now = admin_state(ctx["main"])
        for worktree_id, files in now.items():
            assert files == before[worktree_id], f"{worktree_id} is half removed"
        assert "kept" in now
        assert set(prune_dry_run(ctx["main"])) <= {"wt1", "wt2"}

    covered = run_worktree_scenario(tmp_path, prepare, lambda ctx: ["worktree", "prune", ctx["main"], "--yes"], check)
    assert covered >= 8


def test_kill_worktree_repair_at_every_step(tmp_path):
    # The migration: repository and worktrees moved to a new root.
    def prepare(base):
        make_worktrees(base / "old")
        (base / "old").rename(base / "new")
        main = base / "new/main"
        files = [main / ".git/worktrees/wt1/gitdir", main / ".git/worktrees/wt2/gitdir", base / "new/wt1/.git", base / "new/wt2/.git"]
        return {"main": main, "files": files, "dirs": [base / "new/wt1", base / "new/wt2"], "old": {p: p.read_bytes() for p in files}}

    def check(ctx, before):
        for path in ctx["files"]:
            content = path.read_bytes()
            if content != ctx["old"][path]:
                # the new content is exactly git's repair of that file
                assert content.rstrip(b"\n").endswith((b"/new/wt1/.git", b"/new/wt2/.git", b"/new/main/.git/worktrees/wt1", b"/new/main/.git/worktrees/wt2"))

    covered = run_worktree_scenario(
        tmp_path,
        prepare,
        lambda ctx: ["worktree", "repair", ctx["main"], "../wt1", "../wt2"],
        check,
        cwd_for=lambda ctx: ctx["main"],
    )
    assert covered >= 10


def test_kill_locks_clear_at_every_step(tmp_path):
    def prepare(base):
        main = make_worktrees(base, ())
        lock = main / ".git/packed-refs.lock"
        lock.write_bytes(b"")
        past = time.time() - 7200
        os.utime(lock, (past, past))
        return {"main": main, "files": [lock]}

    def check(ctx, before):
        pass  # the lock is there or not: both are fine

    covered = run_worktree_scenario(tmp_path, prepare, lambda ctx: ["locks", "clear", ctx["main"], "packed-refs.lock", "--yes"], check)
    assert covered >= 5


def test_a_lock_left_by_a_killed_gitward_is_cleared_at_once(tmp_path):
    main = make_worktrees(tmp_path, ("wt1",))
    kill_at("worktree:locked-written", ["worktree", "lock", main, "wt1"])
    lock = main / ".git/worktrees/wt1/locked.lock"
    assert lock.exists()
    result = run_cli("locks", "clear", main, "worktrees/wt1/locked.lock", "--yes")
    # not past its grace period, but provably left by the killed gitward
    assert "left by interrupted gitward entry" in result.stdout
    assert result.returncode == 0 and not lock.exists()
    wt = WorktreeRepo(str(main / ".git"), str(main))
    assert worktree_edit.plan_lock(wt, "wt1").refusals == []
