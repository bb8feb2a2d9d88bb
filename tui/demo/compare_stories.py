"""The demo's migration rehearsal: a source and a replica that differ in every way
``gitward compare`` reports."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tui.demo.histories import GerritChange, linear_history
from tui.demo.plumbing import (
    Build,
    FastImport,
    change_ref,
    init_repo,
    set_age,
    write_loose_ref,
    write_loose_refs,
    write_packed_refs,
)


# --------------------------------------------------------------------------- story 9: compare


@dataclass
class _SmallProject:
    refs: dict[str, str]  # what the source has packed
    older: dict[str, str]  # earlier values of some of those refs
    peeled: dict[str, str]  # annotated tag -> commit (packed-refs' ^ lines)
    history: list[str]  # master's commits, oldest first
    patch_set: str  # change 2001's first patch set: on a side branch of master


def compare_pair(build: Build) -> None:
    """A migration rehearsal: the replica was rsynced without --delete before the source's gc.

    Every class ``gitward compare`` reports shows up once (``moving`` needs a live source).
    """
    source, replica = build.root / "compare/source", build.root / "compare/replica"
    projects = {
        name: _small_gerrit_project(source / f"{name}.git")
        for name in ("project-beta", "project-gamma", "project-delta", "project-epsilon")
    }
    _epsilon_source_extras(source / "project-epsilon.git", projects["project-epsilon"])
    # rsync --archive without --delete: a copy that keeps times and modes.
    shutil.copytree(source, replica, symlinks=True)

    beta = replica / "project-beta.git"  # stale loose files from the first copy
    write_loose_refs(beta, projects["project-beta"].older)
    gamma = replica / "project-gamma.git"  # a tag created after the final copy
    refs = dict(projects["project-gamma"].refs)
    del refs["refs/tags/v1.1"]
    write_packed_refs(gamma, refs, projects["project-gamma"].peeled)
    shutil.rmtree(replica / "project-delta.git")  # never copied
    _epsilon_replica_drift(build, replica / "project-epsilon.git", projects["project-epsilon"])
    zeta = _small_gerrit_project(replica / "project-zeta.git")  # removed from the source since
    del zeta


def _epsilon_source_extras(git_dir: Path, project: _SmallProject) -> None:
    """On the source: a stable branch one commit back, a loose tag, the hooks and config it runs with."""
    refs = dict(project.refs)
    refs["refs/heads/stable"] = project.history[-3]
    refs["refs/heads/topic"] = project.history[-1]
    refs["refs/heads/release"] = project.history[-2]
    refs["refs/heads/hotfix"] = project.history[-1]
    tag = refs.pop("refs/tags/v1.0")
    write_packed_refs(git_dir, refs, project.peeled)
    write_loose_ref(git_dir, "refs/tags/v1.0", tag)  # loose here, packed on the replica
    hook = git_dir / "hooks/post-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\nexec /usr/lib/gerrit/hooks/replicate \"$@\"\n")
    hook.chmod(0o755)
    with open(git_dir / "config", "a") as config:
        config.write("[receive]\n\tdenyNonFastForwards = true\n")


def _epsilon_replica_drift(build: Build, git_dir: Path, project: _SmallProject) -> None:
    """Everything else a copy can get wrong, in one repository of the replica."""
    history = project.history
    refs = dict(project.refs)
    refs["refs/heads/master"] = history[-3]  # behind: the last pushes never arrived
    refs["refs/heads/stable"] = history[-1]  # ahead: someone pushed to the replica
    refs["refs/heads/topic"] = project.patch_set  # diverged: on another line of history
    refs["refs/heads/release"] = history[-2]
    refs["refs/heads/old-feature"] = history[-4]  # extra: deleted on the source since
    # The ref arrived, its objects did not (refs copied before the pack that holds them).
    refs["refs/heads/hotfix"] = "0123456789abcdef0123456789abcdef01234567"
    write_packed_refs(git_dir, refs, project.peeled)  # v1.0 packed here: storage only
    (git_dir / "refs/tags/v1.0").unlink()
    write_loose_ref(git_dir, "refs/heads/release", history[-2])  # same value, loose only here
    (git_dir / "HEAD").write_text("ref: refs/heads/main\n")  # symref differs
    lock = git_dir / "packed-refs.lock"  # copied while the source ran pack-refs
    lock.write_text("")
    set_age(lock, build.now, 26 * 3600)
    (git_dir / "hooks/post-receive").write_text("#!/bin/sh\nexit 0\n")  # hook differs
    config = git_dir / "config"  # config differs
    config.write_text(config.read_text().replace("denyNonFastForwards = true", "denyNonFastForwards = false"))
    info = git_dir / "objects/info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "alternates").write_text("/srv/gerrit/shared/objects\n")  # absent on this host
    admin = git_dir / "worktrees/review"  # a worktree whose disk stayed behind
    admin.mkdir(parents=True)
    # Its checkout lived on the source machine's disk, which did not come along.
    (admin / "gitdir").write_text(f"{build.root}/review/project-epsilon/.git\n")
    build.remember_paths_in(admin / "gitdir")
    (admin / "HEAD").write_text(history[-1] + "\n")
    (admin / "commondir").write_text("../..\n")


def _small_gerrit_project(git_dir: Path) -> _SmallProject:
    init_repo(git_dir, bare=True)
    fi = FastImport()
    master = linear_history(fi, git_dir.stem, 6)
    change = GerritChange(fi, 2001, base=master[-2])
    before_comment = change.meta[-1]
    change.comment(fi, "Looks good, one question inline.")
    v11 = fi.tag("v1.1", master[-1], f"{git_dir.stem} 1.1\n")
    objects = fi.run(git_dir)
    refs = {
        "refs/heads/master": objects[master[-1]],
        "refs/tags/v1.0": objects[master[1]],
        "refs/tags/v1.1": objects[v11],
    }
    refs.update(change.refs(objects))
    write_packed_refs(git_dir, refs, objects.peeled)
    older = {"refs/heads/master": objects[master[-3]], change_ref(2001, "meta"): objects[before_comment]}
    return _SmallProject(
        refs, older, dict(objects.peeled), [objects[m] for m in master], refs[change_ref(2001, 1)]
    )
