"""kill -9 while gitward takes its locks: no lock is left that nobody removes (issue 8, item 5).

A lock used to be created empty (O_CREAT|O_EXCL) and marked as gitward's in a second step, so
a kill in between left an empty ``*.lock`` that recovery could not prove was gitward's: undo
said it succeeded with the lock still there, and the next run failed on it. Here a real
``gitward shadows prune`` on a repository with hundreds of shadows is killed the moment chosen
files appear or vanish (the k-th ref lock, packed-refs.lock, packed-refs.new, a loose file
unlinked) and at the fault points inside lock acquisition; then git judges the refs, and the
next run (undo, ``gitward journal``, or the prune again) must leave no lock and tell the truth.
"""

from __future__ import annotations

import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitrepo import commit_chain, for_each_ref, git, init_bare, init_with_worktrees
from refedit_support import ROOT, fsck_errors, run_cli
from tui.core.write.journal import Journal

N_STALE = 200  # loose older than packed: the loose file is unlinked
N_DEAD = 200  # loose newer than packed: the packed line is dropped


def leftovers(*dirs: Path) -> dict[str, int]:
    """Lock files, staging files and packed-refs.new under ``dirs``, with their sizes."""
    found = {}
    for base in dirs:
        for path in base.rglob("*"):
            if path.name.endswith(".lock") or path.name == "packed-refs.new":
                found[str(path)] = path.stat().st_size if path.is_file() else -1
    return found


@dataclass
class ManyShadows:
    template: Path
    before: dict[str, str]
    after: dict[str, str]
    runs: int = 0

    def fresh(self, base: Path) -> Path:
        self.runs += 1
        target = base / f"run{self.runs}" / "repo.git"
        shutil.copytree(self.template, target, symlinks=True)
        return target


def build_many_shadows(base: Path) -> ManyShadows:
    path = init_bare(base / "template.git")
    c0, c1 = commit_chain(path, 2)
    names = [f"refs/heads/s{i:04d}" for i in range(N_STALE + N_DEAD)]
    stale, dead = names[:N_STALE], names[N_STALE:]
    packed = {**{n: c1 for n in stale}, **{n: c0 for n in dead}}
    loose = {**{n: c0 for n in stale}, **{n: c1 for n in dead}}
    (path / "refs/heads/main").unlink()
    packed["refs/heads/main"] = c1
    lines = [b"# pack-refs with: peeled fully-peeled sorted \n"]
    lines += [f"{packed[n]} {n}\n".encode() for n in sorted(packed)]
    (path / "packed-refs").write_bytes(b"".join(lines))
    for name, value in loose.items():
        (path / name).write_text(value + "\n")
    before = for_each_ref(path)
    after = {**before, **{n: c1 for n in names}}
    assert before != after and fsck_errors(path) == ""
    return ManyShadows(path, before, after)


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    return build_many_shadows(tmp_path_factory.mktemp("many"))


def start_prune(repo: Path, env: dict | None = None) -> subprocess.Popen:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "tui.cli.write", "shadows", "prune", str(repo), "--yes"],
        cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def kill_when(process: subprocess.Popen, condition) -> bool:
    """SIGKILL ``process`` the moment ``condition()`` holds; False if it finished first."""
    while process.poll() is None:
        if condition():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
    return process.returncode == -9


def wait_for_entry(journal: Journal, repo: Path):
    found = [e for e in journal.entries() if e.repo == str(repo) and not e.undo_of]
    assert len(found) <= 1
    return found[0] if found else None


def test_kill_shadows_prune_during_lock_acquisition_and_after(many, tmp_path):
    rng = random.Random(8)
    names = sorted(n for n in many.before if n.startswith("refs/heads/s"))
    triggers: list[tuple[str, str, object]] = []  # (phase, label, condition factory)
    for k in sorted(rng.sample(range(len(names)), 14)):
        lock = f"{names[k]}.lock"
        triggers.append(("lock acquisition", f"{lock} appears", lambda repo, lock=lock: (repo / lock).exists()))
    for k in sorted(rng.sample(range(1, len(names)), 6)):
        triggers.append(("lock acquisition", f"fault lock:staged@{k}", f"lock:staged@{k}"))
        triggers.append(("lock acquisition", f"fault lock:linked@{k}", f"lock:linked@{k}"))
    triggers.append(("lock acquisition", "packed-refs.lock appears", lambda repo: (repo / "packed-refs.lock").exists()))
    triggers.append(("write", "packed-refs.new appears", lambda repo: (repo / "packed-refs.new").exists()))
    for k in sorted(rng.sample(range(N_STALE), 6)):
        gone = f"{names[k]}"
        triggers.append(("write", f"{gone} unlinked", lambda repo, gone=gone: not (repo / gone).exists()))

    journal = Journal()
    outcomes = {"killed": 0, "finished first": 0, "during lock acquisition": 0, "locks left": 0, "empty locks left": 0}
    for n, (phase, label, trigger) in enumerate(triggers):
        repo = many.fresh(tmp_path)
        if isinstance(trigger, str):
            process = start_prune(repo, {"GITWARD_FAULT": trigger})
            killed = process.wait(timeout=120) == -9
            assert killed, f"{label}: the fault point was not reached ({process.stderr.read().decode()[-300:]})"
        else:
            process = start_prune(repo)
            killed = kill_when(process, lambda: trigger(repo))
            process.stdout.close(), process.stderr.close()
        if not killed:
            outcomes["finished first"] += 1
            assert for_each_ref(repo) == many.after
            continue
        outcomes["killed"] += 1
        outcomes["during lock acquisition"] += phase == "lock acquisition"
        # git is the judge: every ref at its old or its new value, nothing else.
        now = for_each_ref(repo)
        assert set(now) == set(many.before), label
        assert all(now[name] in (many.before[name], many.after[name]) for name in now), label
        assert fsck_errors(repo) == "", label
        left = leftovers(repo)
        outcomes["locks left"] += len(left)
        # A staging file may be empty (its name carries the journaled nonce); a lock never.
        empty = [path for path, size in left.items() if size == 0 and path.endswith(".lock") and ".gitward-" not in path]
        assert empty == [], f"{label}: an empty lock nobody could prove was gitward's: {empty}"
        outcomes["empty locks left"] += len(empty)
        entry = wait_for_entry(journal, repo)
        next_run = n % 3
        if next_run == 1:  # the listing cleans up too
            listing = run_cli("journal")
            assert listing.returncode == 0, listing.stderr
            assert leftovers(repo) == {}, (label, listing.stdout)
            for path in left:
                assert f"removed {path}, left by an interrupted gitward" in listing.stdout, label
        if next_run == 2 or entry is None:  # any write to the repository: the prune again
            rerun = run_cli("shadows", "prune", repo, "--yes")
            assert rerun.returncode == 0, (label, rerun.stderr)
            assert leftovers(repo) == {} and for_each_ref(repo) == many.after, label
            assert fsck_errors(repo) == ""
            continue
        undone = run_cli("undo", entry.id, "--yes")
        assert undone.returncode == 0, (label, undone.stderr)
        assert f"undone {entry.id}" in undone.stdout
        # undo told the truth: the refs are as before, and no lock is left.
        assert leftovers(repo) == {}, label
        assert for_each_ref(repo) == many.before, label
        if next_run == 0:
            for path in left:
                assert f"removed {path}, left by an interrupted gitward" in undone.stdout, label
        git(repo, "update-ref", names[0], many.after[names[0]])  # git can write again
        assert fsck_errors(repo) == ""
    print(f"\nkill points tried: {len(triggers)}; {outcomes}")
    assert outcomes["killed"] >= len(triggers) - 3
    assert outcomes["during lock acquisition"] >= 20
    assert outcomes["empty locks left"] == 0


def test_held_lock_message_names_a_command_that_works(many, tmp_path):
    repo = many.fresh(tmp_path)
    foreign = repo / "refs/heads/s0100.lock"
    foreign.write_bytes(b"")  # git's: held by another process
    result = run_cli("shadows", "prune", repo, "--yes")
    assert result.returncode == 1, result.stderr
    assert "Unable to create" in result.stderr
    command = result.stderr.split("'gitward ", 1)[1].split("'", 1)[0]
    argv = shlex.split(command)
    assert argv[:2] == ["locks", "clear"] and argv[2] == os.path.realpath(repo)
    assert argv[3] == "refs/heads/s0100.lock"
    assert not foreign.exists() or foreign.read_bytes() == b""  # never removed by the prune
    past = time.time() - 7200
    os.utime(foreign, (past, past))
    cleared = run_cli(*argv, "--yes")
    assert cleared.returncode == 0, cleared.stderr
    assert not foreign.exists()
    assert leftovers(repo) == {}


def test_the_packed_refs_new_hint_names_a_command_that_works(many, tmp_path):
    repo = many.fresh(tmp_path)
    (repo / "packed-refs.new").write_bytes(b"")
    result = run_cli("shadows", "prune", repo, "--dry-run")
    command = result.stderr.split("('gitward ", 1)[1].split("')", 1)[0]
    argv = shlex.split(command)
    assert argv[2:] == [os.path.realpath(repo), "packed-refs.new"]
    past = time.time() - 7200
    os.utime(repo / "packed-refs.new", (past, past))
    cleared = run_cli(*argv, "--yes")
    assert cleared.returncode == 0, cleared.stderr
    assert not (repo / "packed-refs.new").exists()


# --------------------------------------------------------------------------- other journaled writes


def kill_at(step: str, *argv, cwd=None) -> None:
    result = run_cli(*argv, env={"GITWARD_FAULT": step}, cwd=cwd)
    assert result.returncode == -9, f"not killed at {step}: rc={result.returncode} {result.stderr}"


def journal_staging(journal: Journal) -> list[str]:
    return [name for name in os.listdir(journal.root) if name.startswith(".")] if os.path.isdir(journal.root) else []


@pytest.mark.parametrize("step", ["lock:staged", "lock:linked"])
@pytest.mark.parametrize("command", ["lock", "unlock"])
def test_kill_worktree_lock_and_unlock_while_taking_the_lock(tmp_path, command, step):
    main = init_with_worktrees(tmp_path / "main", "../wt1")
    if command == "unlock":
        git(main, "worktree", "lock", "--reason", "keep", "../wt1")
    admin = main / ".git/worktrees/wt1"
    before = {p.name: p.read_bytes() for p in admin.iterdir() if p.is_file()}
    kill_at(step, "worktree", command, main, "wt1")
    left = leftovers(admin)
    assert left and all(size > 0 for size in left.values()), left  # the marker, never empty
    # The next run of the same command removes the lock, says so, and does its work.
    again = run_cli("worktree", command, main, "wt1")
    assert again.returncode == 0, again.stderr
    for path in left:
        assert f"removed {path}, left by an interrupted gitward" in again.stdout
    assert leftovers(admin) == {}
    assert (admin / "locked").exists() == (command == "lock")
    # And undo of the interrupted entry tells the truth: nothing had changed.
    journal = Journal()
    (interrupted,) = [e for e in journal.entries() if e.status == "interrupted"]
    undone = run_cli("undo", interrupted.id, "--yes")
    assert undone.returncode == 0 and "nothing had changed" in undone.stdout, undone.stdout + undone.stderr
    assert leftovers(admin) == {}
    after = {p.name: p.read_bytes() for p in admin.iterdir() if p.is_file()}
    assert ("locked" in after) == (command == "lock") and ("locked" in before) == (command == "unlock")


def test_kill_undo_while_taking_its_locks(many, tmp_path):
    repo = many.fresh(tmp_path)
    applied = run_cli("shadows", "prune", repo, "--yes")
    assert applied.returncode == 0, applied.stderr
    entry_id = applied.stdout.rsplit("gitward undo ", 1)[1].split(")")[0]
    kill_at("lock:staged@57", "undo", entry_id, "--yes")
    left = leftovers(repo)
    assert len(left) == 57 and all(size > 0 for size in left.values())
    assert for_each_ref(repo) == many.after and fsck_errors(repo) == ""
    undone = run_cli("undo", entry_id, "--yes")  # again: removes the killed undo's locks, then undoes
    assert undone.returncode == 0, undone.stderr
    assert sum("left by an interrupted gitward" in line for line in undone.stdout.splitlines()) == 57
    assert leftovers(repo) == {} and for_each_ref(repo) == many.before


def test_kill_locks_clear_and_its_undo_leave_nothing_unexplained(tmp_path):
    main = init_with_worktrees(tmp_path / "main")
    lock = main / ".git/packed-refs.lock"
    lock.write_bytes(b"")
    past = time.time() - 7200
    os.utime(lock, (past, past))
    # locks clear takes no lock of its own (it removes one): killed as its journal entry is staged
    kill_at("journal:staged", "locks", "clear", main, "packed-refs.lock", "--yes")
    journal = Journal()
    assert lock.exists() and journal_staging(journal)
    listing = run_cli("journal")
    assert listing.returncode == 0 and journal_staging(journal) == []
    cleared = run_cli("locks", "clear", main, "packed-refs.lock", "--yes")
    assert cleared.returncode == 0 and not lock.exists(), cleared.stderr
    entry_id = cleared.stdout.rsplit("journal entry ", 1)[1].strip()
    # its undo recreates the (foreign) lock: killed half-way, the next undo finishes it
    kill_at("journal:before:published", "undo", entry_id, "--yes")
    undone = run_cli("undo", entry_id, "--yes")
    assert undone.returncode == 0, undone.stderr
    assert lock.exists() and lock.read_bytes() == b""


def test_a_kill_while_the_journal_stages_an_entry_leaves_no_tmp_dir(tmp_path):
    main = init_with_worktrees(tmp_path / "main", "../wt1")
    journal = Journal()
    kill_at("journal:staged", "worktree", "lock", main, "wt1")
    assert journal_staging(journal), "the kill left a staging dir"
    kill_at("journal:before:staged", "worktree", "lock", main, "wt1")
    (entry,) = [e for e in journal.entries() if e.status == "interrupted"]
    assert ".before-tmp" in os.listdir(entry.path)
    result = run_cli("worktree", "lock", main, "wt1")
    assert result.returncode == 0, result.stderr
    assert journal_staging(journal) == []
    assert ".before-tmp" not in os.listdir(entry.path)
    assert leftovers(main / ".git") == {}


@pytest.mark.parametrize("step", ["undo:lock-staged", "undo:lock-linked"])
def test_kill_the_undo_of_locks_clear_while_it_puts_the_lock_back(tmp_path, step):
    main = init_with_worktrees(tmp_path / "main")
    lock = main / ".git/packed-refs.lock"
    lock.write_bytes(b"held by pid 4242\n")
    past = time.time() - 7200
    os.utime(lock, (past, past))
    mtime_ns = lock.stat().st_mtime_ns
    cleared = run_cli("locks", "clear", main, "packed-refs.lock", "--yes")
    assert cleared.returncode == 0 and not lock.exists(), cleared.stderr
    entry_id = cleared.stdout.rsplit("journal entry ", 1)[1].strip()
    kill_at(step, "undo", entry_id, "--yes")
    left = leftovers(main / ".git")
    # never a half-written lock: either none yet, or the whole one (content and mtime)
    assert not lock.exists() or (lock.read_bytes() == b"held by pid 4242\n" and lock.stat().st_mtime_ns == mtime_ns)
    assert any(".gitward-" in path for path in left) == (step == "undo:lock-staged"), left
    undone = run_cli("undo", entry_id, "--yes")
    assert undone.returncode == 0, undone.stderr
    assert lock.read_bytes() == b"held by pid 4242\n" and lock.stat().st_mtime_ns == mtime_ns
    assert list(leftovers(main / ".git")) == [str(lock)]
