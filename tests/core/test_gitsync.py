"""git-sync roots, synced by gitward: the scenarios of git-sync's own end-to-end suite
(test_e2e.sh), plus the rule of incident 2: unknown is not broken, nothing is destroyed on it."""

from __future__ import annotations

import errno
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from gitrepo import for_each_ref, git
from sync_support import (
    WAIT,
    add_commits,
    fsck_ok,
    log_texts,
    make_upstream,
    process_gone,
    slow_upstream,
    wait_for_line,
)

from tui.core import gitfile
from tui.core.fsutil import SpecialFile
from tui.core.sync import gitsync
from tui.core.discovery import classify
from tui.core.sync.gitsync import Check, Health
from tui.core.sync.plan import default_link_name, tracked_ref
from tui.core.sync import JobRunner, JobState, run_sync
from tui.core.model import Layout, Severity
from tui.core.scan import scan_repo
from tui.core.sync import GitRunner, SyncError, SyncKind, SyncRequest, git_environment, plan_sync
from tui.core.sync.synclog import JobLog, LogBuffer

LINK = "up.git"  # git-sync's default --link: the last element of the repo URL


@pytest.fixture
def upstream(tmp_path) -> Path:
    path = tmp_path / "up.git"
    make_upstream(path, 2)
    return path


@pytest.fixture
def root(tmp_path, upstream) -> Path:
    """A git-sync root after its first sync."""
    path = tmp_path / "root"
    job = sync(path, url=upstream.as_uri())
    assert job.state is JobState.OK, log_texts(job)
    return path


def sync(root: Path, **options):
    return run_sync(SyncRequest(str(root), **options), timeout=60)  # options may set a shorter one


def served(root: Path, link: str = LINK) -> str:
    """The sha the link serves (the link must be relative and point into .worktrees/)."""
    target = os.readlink(root / link)
    assert not os.path.isabs(target) and os.path.dirname(target) == ".worktrees"
    return os.path.basename(target)


def entries(root: Path) -> list[str]:
    return sorted(os.listdir(root / ".worktrees"))


def head_of(worktree: Path) -> str:
    return git(worktree, "rev-parse", "HEAD").strip()


def registered(root: Path) -> dict[str, bool]:
    """Registered linked worktrees: basename -> locked (as git lists them)."""
    out = git(root, "worktree", "list", "--porcelain")
    result, path = {}, None
    for line in out.splitlines() + [""]:
        if line.startswith("worktree "):
            path = line.split(" ", 1)[1]
        elif line.startswith("locked"):
            result[os.path.basename(path)] = True
        elif not line and path and os.path.dirname(path).endswith(".worktrees"):
            result.setdefault(os.path.basename(path), False)
            path = None
    return result


def assert_sane(root: Path, sha: str) -> None:
    worktree = root / ".worktrees" / sha
    assert served(root) == sha
    assert head_of(worktree) == sha
    assert git(worktree, "status", "--porcelain", "--untracked-files=no") == ""
    assert (worktree / ".git").read_text().startswith("gitdir: ../../.git/worktrees/")  # relative
    assert (worktree / "file.txt").is_file()


def sync_runner() -> GitRunner:
    """A GitRunner for calling one step directly, with a minute to do it."""
    env, _ = git_environment()
    return GitRunner(JobLog(LogBuffer()), cancel=threading.Event(), deadline=time.monotonic() + 60, env=env)


def tip(upstream: Path) -> str:
    return git(upstream, "rev-parse", "HEAD").strip()


# --------------------------------------------------------------------------- the e2e scenarios


def test_first_sync_into_an_empty_root(tmp_path, upstream):
    root = tmp_path / "root"
    job = sync(root, url=upstream.as_uri())
    assert job.state is JobState.OK, log_texts(job)
    assert job.plan.kind is SyncKind.GIT_SYNC
    assert_sane(root, tip(upstream))
    assert git(root, "symbolic-ref", "HEAD").strip() == "refs/heads/git-sync"
    assert git(root, "rev-parse", "git-sync").strip() == tip(upstream)
    assert [c.name for c in job.changed_refs] == ["refs/heads/git-sync"]
    assert job.link_change == (None, str(root / ".worktrees" / tip(upstream)))
    # gitward's own scan agrees: a git-sync root, the link's worktree is current, no errors
    report = scan_repo(classify(str(root), str(tmp_path)))
    assert report.layout is Layout.GIT_SYNC
    assert [w.id for w in report.worktrees if w.current] == [tip(upstream)]
    assert not [p for p in report.problems if p.severity is Severity.ERROR]


def test_a_new_upstream_commit_moves_the_link_and_removes_the_old_worktree(root, upstream):
    old = served(root)
    new = add_commits(upstream)
    job = sync(root)
    assert job.state is JobState.OK, log_texts(job)
    assert_sane(root, new)
    assert entries(root) == [new]
    assert registered(root) == {new: False}
    assert job.link_change == (str(root / ".worktrees" / old), str(root / ".worktrees" / new))
    assert fsck_ok(root)


def test_nothing_new_upstream_is_a_no_op(root):
    before = (served(root), entries(root), for_each_ref(root))
    job = sync(root)
    assert job.state is JobState.OK and job.link_change is None and job.changed_refs == []
    assert (served(root), entries(root), for_each_ref(root)) == before
    assert "current worktree: ok" in log_texts(job)


def test_the_current_worktree_deleted_by_hand_is_rebuilt(root):
    sha = served(root)
    shutil.rmtree(root / ".worktrees" / sha)
    job = sync(root)
    assert job.state is JobState.OK, log_texts(job)
    assert_sane(root, sha)
    assert any("broken (the directory is missing)" in t for t in log_texts(job))


def test_the_link_deleted_is_republished_and_the_worktree_reused(root):
    sha = served(root)
    inode = (root / ".worktrees" / sha).stat().st_ino
    (root / LINK).unlink()
    job = sync(root)
    assert job.state is JobState.OK, log_texts(job)
    assert_sane(root, sha)
    assert (root / ".worktrees" / sha).stat().st_ino == inode  # reused, not rebuilt
    assert any("exists and is sane: reusing it" in t for t in log_texts(job))


def test_a_commit_made_inside_the_current_worktree_is_repaired(root):
    sha = served(root)
    worktree = root / ".worktrees" / sha
    (worktree / "file.txt").write_text("edited on the server\n")
    git(worktree, "commit", "-qam", "hotfix on the server")
    stray = head_of(worktree)
    assert stray != sha
    job = sync(root)
    assert job.state is JobState.OK, log_texts(job)
    assert_sane(root, sha)
    assert any(f"HEAD was {stray}" in t for t in log_texts(job))
    assert stray in git(worktree, "reflog", "--format=%H")  # recoverable, not destroyed


def test_modified_files_in_the_current_worktree_are_repaired(root):
    sha = served(root)
    (root / ".worktrees" / sha / "file.txt").write_text("scribbled\n")
    assert sync(root).state is JobState.OK
    assert_sane(root, sha)


def test_a_stray_file_in_worktrees_is_cleaned_but_nfs_files_are_left_to_nfs(root, upstream):
    (root / ".worktrees" / "stray.txt").write_text("junk\n")
    (root / ".worktrees" / "stray-dir").mkdir()
    (root / ".worktrees" / ".nfs000000000abc00000001").write_text("still open somewhere\n")
    new = add_commits(upstream)
    job = sync(root)
    assert job.state is JobState.OK
    assert entries(root) == [".nfs000000000abc00000001", new]
    assert "stray.txt" in " ".join(log_texts(job))


def test_old_worktrees_are_removed_but_a_locked_one_survives(root, upstream):
    first = served(root)
    git(root, "worktree", "lock", "--reason", "nfs volume", str(root / ".worktrees" / first))
    second = add_commits(upstream, message="second")
    assert sync(root).state is JobState.OK
    third = add_commits(upstream, message="third")
    job = sync(root)
    assert job.state is JobState.OK, log_texts(job)
    assert_sane(root, third)
    assert entries(root) == sorted([first, third])
    assert registered(root) == {first: True, third: False}
    assert second not in registered(root)
    assert any("kept .worktrees/" + first + ": locked (nfs volume)" in t for t in log_texts(job))


def test_a_slow_fetch_with_a_short_timeout_leaves_the_link_and_deletes_nothing(root, upstream, tmp_path):
    old = served(root)
    (root / ".worktrees" / "stray.txt").write_text("would be cleaned by a successful sync\n")
    add_commits(upstream)
    slow = slow_upstream(tmp_path / "wrappers")
    slow.use(root)
    before = (entries(root), for_each_ref(root), registered(root))
    job = sync(root, timeout=1.0)
    assert job.state is JobState.TIMED_OUT
    assert job.duration < 2.0
    assert served(root) == old
    assert (entries(root), for_each_ref(root), registered(root)) == before
    assert_sane(root, old)


def test_cancel_during_the_fetch_leaves_the_link_on_a_sane_worktree(root, upstream, tmp_path):
    old = served(root)
    add_commits(upstream)
    slow = slow_upstream(tmp_path / "wrappers")
    slow.use(root)
    before = (entries(root), for_each_ref(root))
    runner = JobRunner()
    try:
        job = runner.submit(SyncRequest(str(root)))
        assert wait_for_line(job, slow.hello)
        asked = time.monotonic()
        job.cancel()
        assert job.wait(WAIT) and job.state is JobState.CANCELLED
        assert time.monotonic() - asked < 1.0
    finally:
        assert runner.shutdown()
    assert process_gone(slow.pid())
    assert (entries(root), for_each_ref(root)) == before
    assert_sane(root, old)


def test_a_bad_ref_exits_non_zero_without_touching_the_link(root):
    old = served(root)
    before = (entries(root), for_each_ref(root))
    job = sync(root, ref="refs/heads/no-such-branch")
    assert job.state is JobState.FAILED
    assert job.exit_code == 128
    assert "couldn't find remote ref" in job.error
    assert served(root) == old and (entries(root), for_each_ref(root)) == before


# --------------------------------------------------------------------------- beyond the e2e suite


def test_unknown_health_is_not_broken_and_nothing_is_destroyed(root, monkeypatch):
    """Incident 2: a check that could not look (a volume that blinked) must not lead to a rebuild."""
    sha = served(root)
    worktree = root / ".worktrees" / sha
    git(worktree, "commit", "-q", "--allow-empty", "-m", "would be repaired if we could tell")
    stray = head_of(worktree)
    monkeypatch.setattr(gitsync, "check_worktree", lambda runner, path, want: Check(Health.UNKNOWN, "Input/output error"))
    job = sync(root)
    assert job.state is JobState.FAILED
    assert "unknown is not broken" in job.error
    assert head_of(worktree) == stray and served(root) == sha and entries(root) == [sha]


def test_an_io_error_from_git_counts_as_unknown():
    assert gitsync._CANNOT_TELL.search("fatal: failed to read object 1234: Input/output error")
    assert gitsync._CANNOT_TELL.search("error: unable to stat '.git': Stale file handle")
    assert not gitsync._CANNOT_TELL.search("fatal: not a git repository: /r/.git/worktrees/x")


def test_a_broken_locked_worktree_for_the_new_commit_is_not_deleted(root, upstream):
    old = served(root)
    new = add_commits(upstream)
    # A leftover worktree for the coming commit, locked by an operator, with the wrong HEAD.
    git(root, "worktree", "add", "-q", "--detach", str(root / ".worktrees" / new), old)
    git(root, "worktree", "lock", str(root / ".worktrees" / new))
    job = sync(root)
    assert job.state is JobState.FAILED and "locked" in job.error
    assert served(root) == old and head_of(root / ".worktrees" / new) == old


def test_an_annotated_tag_is_unwrapped_to_its_commit(root, upstream):
    commit = add_commits(upstream)
    git(upstream, "tag", "-a", "v2", "-m", "release 2", commit)
    job = sync(root, ref="refs/tags/v2")
    assert job.state is JobState.OK
    assert_sane(root, commit)
    assert tracked_ref(str(root / ".git")) == "refs/tags/v2"  # the next sync tracks the tag


def test_a_link_that_is_not_a_symlink_is_refused(root, upstream):
    (root / LINK).unlink()
    (root / LINK).mkdir()
    add_commits(upstream)
    job = sync(root)
    assert job.state is JobState.FAILED and "not a symlink" in job.error


def test_a_stale_tmp_link_from_an_interrupted_swap_is_replaced(root, upstream):
    os.symlink(".worktrees/gone", root / "tmp-link")
    new = add_commits(upstream)
    assert sync(root).state is JobState.OK
    assert_sane(root, new) is None and not os.path.lexists(root / "tmp-link")


def test_a_non_empty_directory_that_is_not_a_repository_is_never_wiped(tmp_path, upstream):
    target = tmp_path / "precious"
    target.mkdir()
    (target / "data.txt").write_text("do not delete\n")
    with pytest.raises(SyncError, match="not a git repository"):
        plan_sync(SyncRequest(str(target), url=upstream.as_uri()))
    assert (target / "data.txt").read_text() == "do not delete\n"


def test_git_sync_options_are_refused_for_plain_repositories(tmp_path, upstream):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", upstream.as_uri(), str(clone))
    with pytest.raises(SyncError, match="git-sync roots only"):
        plan_sync(SyncRequest(str(clone), ref="main"))


@pytest.mark.parametrize(
    ("fetch_head", "ref"),
    [
        ("abc\t\tbranch 'main' of file:///up\n", "refs/heads/main"),
        ("abc\t\ttag 'v1' of https://h/x\n", "refs/tags/v1"),
        ("abc\t\t'refs/changes/01/1/2' of ssh://h/x\n", "refs/changes/01/1/2"),
        ("abc\t\tfile:///up\n", "HEAD"),
        ("", "HEAD"),
    ],
)
def test_tracked_ref_from_fetch_head(tmp_path, fetch_head, ref):
    (tmp_path / "FETCH_HEAD").write_text(fetch_head)
    assert tracked_ref(str(tmp_path)) == ref


@pytest.mark.parametrize(
    ("url", "name"),
    [("https://h/org/webapp.git", "webapp.git"), ("git@h:org/site", "site"), ("/srv/x.git/", "x.git"), ("", "current")],
)
def test_default_link_name_is_git_syncs(url, name):
    assert default_link_name(url) == name


def test_only_the_git_sync_branch_follows_the_served_commit(root, upstream):
    old = served(root)
    git(root, "symbolic-ref", "HEAD", "refs/heads/operator-branch")
    git(root, "update-ref", "refs/heads/operator-branch", old)
    new = add_commits(upstream)
    job = sync(root)
    assert job.state is JobState.OK, log_texts(job)
    assert_sane(root, new)
    assert git(root, "rev-parse", "operator-branch").strip() == old  # not moved by reset --soft
    assert any("not moved" in w for w in job.warnings)


def test_a_root_mounted_at_another_path_is_synced_without_pruning_its_served_worktree(root, tmp_path):
    # The volume seen at another path: git recorded the worktrees under the old one, so from here
    # they look prunable; `git worktree prune` would unregister the worktree being served.
    moved = tmp_path / "mounted-elsewhere"
    os.rename(root, moved)
    sha = served(moved)
    job = sync(moved)
    assert job.state is JobState.OK, log_texts(job)
    assert any("git worktree prune skipped" in t and "mounted at another path" in t for t in log_texts(job))
    assert os.listdir(moved / ".git" / "worktrees")  # still registered
    assert head_of(moved / ".worktrees" / sha) == sha and served(moved) == sha


@pytest.mark.parametrize(
    ("error", "health"),
    [
        (errno.EIO, Health.UNKNOWN),
        (errno.ESTALE, Health.UNKNOWN),
        (errno.EACCES, Health.UNKNOWN),
        (errno.ENOENT, Health.BROKEN),  # looked, and it is not there
        (errno.EINVAL, Health.BROKEN),  # looked, and it is not a regular file
    ],
)
def test_what_reading_the_gitfile_answers(root, monkeypatch, error, health):
    """A volume that blinks gives EIO or ESTALE where a file is: *unknown*, never *broken*."""
    sha = served(root)
    worktree = root / ".worktrees" / sha

    def failing_open(path, *args, **kwargs):
        if path == str(worktree / ".git"):
            if error == errno.EINVAL:
                raise SpecialFile(path, "FIFO")  # what fsutil says of a file that is not regular
            raise OSError(error, os.strerror(error), path)
        return real_open(path, *args, **kwargs)

    real_open = gitfile.open_regular
    monkeypatch.setattr(gitfile, "open_regular", failing_open)
    runner = sync_runner()
    check = gitsync.check_worktree(runner, str(worktree), sha)
    assert check.health is health
    if health is Health.UNKNOWN:
        assert check.reason == f"cannot read {worktree / '.git'}: {os.strerror(error)}"
