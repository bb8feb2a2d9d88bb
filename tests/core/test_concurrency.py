"""gitward's prunes against a live `git update-ref` loop on the same repository.

A writer process updates other refs and the very ref being pruned, deletes packed refs (each
deletion rewrites packed-refs under packed-refs.lock: real contention with gitward's rewrite)
and reads refs all the time. Meanwhile the test recreates shadows and prunes them, many times.
Afterwards: no successful git update is lost or undone, no deleted ref came back, every read
saw an old or a new value, a moved ref made gitward refuse (never overwrite), no lock is left.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from gitrepo import commit_chain, for_each_ref, git, init_bare
from refedit_support import fsck_errors
from tui.core.write import shadows as refedit
from tui.core.write.journal import Journal
from tui.core.write.errors import LockHeldError, StateChangedError
from tui.core.packed import read_packed_refs

PRUNES = 40
DELETABLE = 40

WRITER = r"""
import os, subprocess, sys, itertools
repo, log_path, stop, values, older, plain, c2, c5, deletable = sys.argv[1:10]
values = values.split(","); older = older.split(","); deletable = int(deletable)
def git(*args):
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
with open(log_path, "w") as log:
    for n in itertools.count():
        if os.path.exists(stop):
            break
        if n % 2:
            name, value = f"refs/heads/other-{n % 3}", values[n % len(values)]
        else:
            # hot always moves to an ancestor of its packed value: a stale-loose shadow again
            # and again, so gitward keeps pruning the very ref this loop keeps moving.
            name, value = "refs/heads/hot", older[n // 2 % len(older)]
        result = git("update-ref", name, value)
        log.write(f"update {name} {value} {result.returncode}\n")
        if n % 2 == 0 and n // 2 < deletable:
            name = f"refs/heads/del-{n // 2}"
            result = git("update-ref", "-d", name)
            log.write(f"delete {name} - {result.returncode}\n")
        seen = git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/plain-", "refs/heads/victim-")
        if seen.returncode:
            log.write(f"readfail - - {seen.returncode} {seen.stderr.strip()}\n")
        for line in seen.stdout.splitlines():
            ref, oid = line.split()
            ok = oid == plain if ref.startswith("refs/heads/plain-") else oid in (c2, c5)
            if not ok:
                log.write(f"bogus {ref} {oid} 1\n")
        log.flush()
"""


def build(tmp_path: Path) -> tuple[Path, list[str]]:
    repo = init_bare(tmp_path / "busy.git")
    chain = commit_chain(repo, 10)
    for k in range(4):
        git(repo, "update-ref", f"refs/heads/victim-{k}", chain[5])
        git(repo, "update-ref", f"refs/heads/plain-{k}", chain[0])
    for i in range(PRUNES):
        git(repo, "update-ref", f"refs/heads/dead-{i}", chain[1])
    for j in range(DELETABLE):
        git(repo, "update-ref", f"refs/heads/del-{j}", chain[3])
    git(repo, "update-ref", "refs/heads/hot", chain[5])
    git(repo, "pack-refs", "--all", "--prune")
    git(repo, "update-ref", "refs/heads/hot", chain[2])  # hot starts as a stale-loose shadow
    return repo, chain


def test_prunes_against_a_live_update_ref_loop(tmp_path):
    repo, chain = build(tmp_path)
    journal = Journal(str(tmp_path / "journal"))
    log, stop = tmp_path / "writer.log", tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(repo), str(log), str(stop), ",".join(chain[6:]), ",".join(chain[1:5]), chain[0], chain[2], chain[5], str(DELETABLE)]
    )
    outcomes = {"applied": 0, "moved": 0, "held": 0, "changes": 0, "hot": 0}
    try:
        time.sleep(0.2)  # let the writer get going
        for i in range(PRUNES):
            git(repo, "update-ref", f"refs/heads/victim-{i % 4}", chain[2])  # stale-loose again
            git(repo, "update-ref", f"refs/heads/dead-{i}", chain[7])  # dead-packed
            plan = refedit.plan_shadow_prune(str(repo), "auto")
            try:
                refedit.apply(plan, journal)
            except StateChangedError:
                outcomes["moved"] += 1
            except LockHeldError:
                outcomes["held"] += 1
            else:
                outcomes["applied"] += 1
                outcomes["changes"] += len(plan.changes)
                outcomes["hot"] += any(item.name == "refs/heads/hot" for item in plan.changes)
    finally:
        stop.write_text("")
        writer.wait(timeout=30)
    print(f"\nconcurrency: {PRUNES} prunes: {outcomes}; writer ops: {len(log.read_text().splitlines())}")

    records = [line.split(" ", 3) for line in log.read_text().splitlines()]
    assert not [r for r in records if r[0] in ("bogus", "readfail")], "a reader saw a third value"
    final = for_each_ref(repo)
    last_update: dict[str, str] = {}
    for kind, name, value, rc in records:
        if kind == "update" and rc == "0":
            last_update[name] = value
    # no successful git update was lost or overwritten (hot: or a prune after the last update
    # replaced that stale value by the packed value it shadowed, which is the prune's job)
    for name, value in last_update.items():
        allowed = {value, chain[5]} if name == "refs/heads/hot" else {value}
        assert final.get(name) in allowed, name
    hot_changes = [i for e in journal.entries() for i in e.items if i["ref"] == "refs/heads/hot"]
    hot_values = {value for kind, name, value, rc in records if name == "refs/heads/hot" and rc == "0"}
    assert all(i["before"] in hot_values | {chain[2]} for i in hot_changes)  # only values git wrote
    # no ref git deleted came back (a rewrite from a stale read would resurrect it)
    for kind, name, _value, rc in records:
        if kind == "delete" and rc == "0":
            assert name not in final, f"{name} was resurrected"
    for i in range(PRUNES):
        assert final[f"refs/heads/dead-{i}"] == chain[7]  # keep-loose never changed a value
    for k in range(4):
        assert final[f"refs/heads/victim-{k}"] in (chain[2], chain[5])
        assert final[f"refs/heads/plain-{k}"] == chain[0]
    assert outcomes["applied"] >= 3 and outcomes["applied"] + outcomes["moved"] + outcomes["held"] == PRUNES, outcomes
    assert read_packed_refs(str(repo)).anomalies == []
    assert not list(repo.rglob("*.lock")) and not (repo / "packed-refs.new").exists()
    assert fsck_errors(repo) == ""
    statuses = {e.status for e in journal.entries()}
    assert statuses <= {"done"}, statuses  # refusals left no entries, applied ones finished


def test_a_ref_moved_between_plan_and_apply_is_refused(tmp_path):
    repo, chain = build(tmp_path)
    journal = Journal(str(tmp_path / "journal"))
    refused = 0
    for n in range(5):
        plan = refedit.plan_shadow_prune(str(repo), "auto", ["refs/heads/hot"])
        git(repo, "update-ref", "refs/heads/hot", chain[6 + n % 4])  # a push lands in between
        try:
            refedit.apply(plan, journal)
        except StateChangedError as exc:
            assert "refs/heads/hot moved since the plan" in str(exc)
            refused += 1
        assert for_each_ref(repo)["refs/heads/hot"] == chain[6 + n % 4]
        git(repo, "update-ref", "refs/heads/hot", chain[2])  # stale again? only if packed is newer
    assert refused == 5
