"""Build the demo host: a small, deterministic git host that shows every capability and problem.

``build_demo(target_dir)`` lays out::

    target_dir/
      README-demo.txt        the story of every repository (also marks the dir as a demo)
      host/                  the root to scan
        gerrit/project-alpha.git   stale loose refs after an rsync without --delete
        gerrit/All-Users.git       ~3,000 starred-changes refs to one blob
        gitlab/busy-service.git    dead-packed and identical shadows, a loose-ref backlog
        gitlab/locked-repo.git     a two-hour-old packed-refs.lock, a stale ref lock
        gitlab/corrupt-packed.git  packed-refs with a torn line and a false "sorted" claim
        mirrors/upstream-lib.git   a bare mirror that is behind its upstream
        sync/webapp                a git-sync root: current, locked and vanished worktrees
        work/tooling               a non-bare repo: a locked, a prunable and a locked-but-missing worktree
      upstreams/             remotes the mirror and the git-sync root fetch from (not scanned)
      compare/source, compare/replica   a migration rehearsal with differences

History is made with one ``git fast-import`` per repository and fixed dates; ref files are
written directly, so the same ref values come out of every build, in about a second. Git runs
with a fixed environment (no system or global config, hooks disabled). The helpers at the top
(``git_env``, ``run_git``, ``init_repo``, ``FastImport``, ``write_packed_refs``,
``write_loose_refs``) are shared with ``benchmarks/fixtures.py``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# 2024-03-01T08:00:00Z. Every commit and tag date derives from it, so object ids are stable.
FIXED_EPOCH = 1_709_280_000

DEMO_MARKER = "README-demo.txt"

DEVELOPER = "Dana Developer <dana@example.com>"
GERRIT_SERVER = "Gerrit Code Review <gerrit@example.com>"
RELEASE_BOT = "Release Bot <release-bot@example.com>"


# --------------------------------------------------------------------------- git plumbing


def git_env() -> dict[str, str]:
    """The environment every git child gets: no user or system config, no hooks, fixed dates.

    Inherited ``GIT_*`` variables are dropped: a ``GIT_DIR`` leaking in from a hook or a test
    runner would silently point every command at the wrong repository.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    stamp = f"@{FIXED_EPOCH} +0000"
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL="/dev/null",
        # core.hooksPath=/dev/null: checkout/worktree hooks never run, whatever a template holds.
        GIT_CONFIG_COUNT="1",
        GIT_CONFIG_KEY_0="core.hooksPath",
        GIT_CONFIG_VALUE_0="/dev/null",
        GIT_AUTHOR_NAME="Dana Developer",
        GIT_AUTHOR_EMAIL="dana@example.com",
        GIT_AUTHOR_DATE=stamp,
        GIT_COMMITTER_NAME="Dana Developer",
        GIT_COMMITTER_EMAIL="dana@example.com",
        GIT_COMMITTER_DATE=stamp,
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
    )
    return env


def run_git(*args: str | os.PathLike, cwd: str | os.PathLike | None = None, stdin: bytes | None = None) -> str:
    """Run git with :func:`git_env`; return stdout; raise with git's stderr on failure."""
    argv = ["git", *map(os.fspath, args)]
    try:
        done = subprocess.run(argv, cwd=cwd, env=git_env(), input=stdin, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise RuntimeError("git is not installed or not on PATH") from exc
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()}"
        )
    return done.stdout.decode()


def init_repo(path: Path, *, bare: bool, branch: str = "master") -> Path:
    """``git init``; return the git dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    run_git("init", "-q", "-b", branch, *(["--bare"] if bare else []), path)
    return path if bare else path / ".git"


@dataclass
class Objects:
    """What a fast-import run made: mark -> object id, and tag id -> the commit it peels to."""

    ids: dict[int, str]
    peeled: dict[str, str]

    def __getitem__(self, mark: int) -> str:
        return self.ids[mark]


class FastImport:
    """One ``git fast-import`` stream. Objects are named by marks until :meth:`run` returns ids.

    Commits go to a scratch branch and tags to refs/tags/; :meth:`run` deletes the refs
    fast-import wrote, because callers write refs themselves (packed or loose, by design).
    Each commit and tag is one ``tick`` later than the previous one, from ``start``.
    """

    SCRATCH = "refs/fast-import/scratch"

    def __init__(self, *, start: int = FIXED_EPOCH, tick: int = 3600) -> None:
        self._chunks: list[bytes] = []
        self._mark = 0
        self._clock = start
        self._tick = tick
        self._tag_targets: dict[int, int] = {}
        self._tag_names: list[str] = []

    def blob(self, data: bytes) -> int:
        mark = self._next_mark()
        self._emit(b"blob\nmark :%d\n" % mark)
        self._data(data)
        return mark

    def commit(
        self,
        message: str,
        *,
        parents: Sequence[int] = (),
        files: Mapping[str, bytes | int | None] | None = None,
        notes: Mapping[int, bytes] | None = None,
        clear_tree: bool = False,
        author: str = DEVELOPER,
        committer: str | None = None,
    ) -> int:
        """A commit; ``files`` maps path -> content, a blob mark, or None to delete.

        The tree starts as the first parent's (fast-import's rule); ``clear_tree`` starts empty.
        ``notes`` maps a commit mark to note text (NoteDB keeps review comments as notes).
        """
        mark = self._next_mark()
        when = self._tock()
        if not parents:
            # Without a reset fast-import would chain this onto the scratch branch's tip.
            self._emit(b"reset %s\n" % self.SCRATCH.encode())
        self._emit(b"commit %s\nmark :%d\n" % (self.SCRATCH.encode(), mark))
        self._emit(b"author %s %d +0000\n" % (author.encode(), when))
        self._emit(b"committer %s %d +0000\n" % ((committer or author).encode(), when))
        self._data(message.encode())
        if parents:
            self._emit(b"from :%d\n" % parents[0])
            for parent in parents[1:]:
                self._emit(b"merge :%d\n" % parent)
        if clear_tree:
            self._emit(b"deleteall\n")
        for path, content in (files or {}).items():
            self._file(path, content)
        for target, text in (notes or {}).items():
            self._emit(b"N inline :%d\n" % target)
            self._data(text)
        self._emit(b"\n")
        return mark

    def tag(self, name: str, target: int, message: str, *, tagger: str = RELEASE_BOT) -> int:
        """An annotated tag object (the ref fast-import writes for it is discarded)."""
        mark = self._next_mark()
        self._tag_targets[mark] = target
        self._tag_names.append(name)
        self._emit(b"tag %s\nmark :%d\nfrom :%d\n" % (name.encode(), mark, target))
        self._emit(b"tagger %s %d +0000\n" % (tagger.encode(), self._tock()))
        self._data(message.encode())
        return mark

    def run(self, git_dir: Path) -> Objects:
        stream = b"".join(self._chunks) + b"done\n"
        marks_file = git_dir / "fast-import-marks.tmp"
        # unpackLimit=0: always keep one pack, even for tiny imports, so builds can hardlink it.
        run_git(
            "--git-dir",
            git_dir,
            "-c",
            "fastimport.unpackLimit=0",
            "fast-import",
            "--quiet",
            "--done",
            f"--export-marks={marks_file}",
            stdin=stream,
        )
        ids = _read_marks(marks_file)
        marks_file.unlink()
        _remove_refs(git_dir, [self.SCRATCH, *(f"refs/tags/{name}" for name in self._tag_names)])
        peeled = {ids[tag]: ids[target] for tag, target in self._tag_targets.items()}
        return Objects(ids, peeled)

    def _file(self, path: str, content: bytes | int | None) -> None:
        if content is None:
            self._emit(b"D %s\n" % path.encode())
        elif isinstance(content, int):
            self._emit(b"M 100644 :%d %s\n" % (content, path.encode()))
        else:
            self._emit(b"M 100644 inline %s\n" % path.encode())
            self._data(content)

    def _next_mark(self) -> int:
        self._mark += 1
        return self._mark

    def _tock(self) -> int:
        self._clock += self._tick
        return self._clock

    def _data(self, data: bytes) -> None:
        self._emit(b"data %d\n" % len(data))
        self._emit(data)
        self._emit(b"\n")

    def _emit(self, chunk: bytes) -> None:
        self._chunks.append(chunk)


def _read_marks(marks_file: Path) -> dict[int, str]:
    ids = {}
    for line in marks_file.read_text().splitlines():
        mark, oid = line.split()
        ids[int(mark[1:])] = oid
    return ids


def _remove_refs(git_dir: Path, names: Iterable[str]) -> None:
    for name in names:
        (git_dir / name).unlink(missing_ok=True)
    scratch_dir = (git_dir / FastImport.SCRATCH).parent
    if scratch_dir.is_dir() and not any(scratch_dir.iterdir()):
        scratch_dir.rmdir()


def write_packed_refs(git_dir: Path, refs: Mapping[str, str], peeled: Mapping[str, str] | None = None) -> None:
    """Write packed-refs as ``git pack-refs`` does: sorted, with ``^`` lines for annotated tags."""
    peeled = peeled or {}
    lines = ["# pack-refs with: peeled fully-peeled sorted \n"]
    for name in sorted(refs, key=str.encode):
        oid = refs[name]
        lines.append(f"{oid} {name}\n")
        if oid in peeled:
            lines.append(f"^{peeled[oid]}\n")
    (git_dir / "packed-refs").write_text("".join(lines))


def write_loose_ref(git_dir: Path, name: str, oid: str) -> Path:
    path = git_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(oid + "\n")
    return path


def write_loose_refs(git_dir: Path, refs: Mapping[str, str]) -> None:
    """Many loose refs; plain os calls and one makedirs per directory (benchmarks write 10,000s)."""
    made: set[str] = set()
    base = os.fspath(git_dir)
    for name, oid in refs.items():
        path = os.path.join(base, name)
        parent = os.path.dirname(path)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        with open(path, "w") as ref_file:
            ref_file.write(oid + "\n")


def change_ref(change: int, suffix: str | int) -> str:
    """Gerrit's ref for a change: refs/changes/<last two digits>/<number>/<patch set|meta>."""
    return f"refs/changes/{change % 100:02d}/{change}/{suffix}"


def starred_ref(change: int, account: int) -> str:
    """A star in All-Users: refs/starred-changes/<last two digits>/<change>/<account>, to a blob."""
    return f"refs/starred-changes/{change % 100:02d}/{change}/{account}"


def set_age(path: Path, now: float, seconds: float) -> None:
    """Make ``path`` look ``seconds`` old at ``now`` (atime and mtime, symlinks not followed)."""
    stamp = now - seconds
    os.utime(path, (stamp, stamp), follow_symlinks=False)


# --------------------------------------------------------------------------- the demo


@dataclass
class _Build:
    """One build in a staging dir; files that embed the staging path are fixed before the rename."""

    root: Path
    now: float
    files_with_paths: list[Path] = field(default_factory=list)

    @property
    def host(self) -> Path:
        return self.root / "host"

    @property
    def upstreams(self) -> Path:
        return self.root / "upstreams"

    def remember_paths_in(self, *files: Path) -> None:
        self.files_with_paths.extend(files)


def build_demo(target_dir: str, *, now: float | None = None) -> str:
    """Build (or rebuild) the demo under ``target_dir``; return the host root to scan.

    The demo is built in a staging dir next to ``target_dir`` and renamed into place, so a failed
    build leaves an existing demo untouched. An existing ``target_dir`` is replaced only when it
    is empty or is a demo (holds README-demo.txt); anything else raises FileExistsError.
    ``now`` is the clock that lock-file and fetch ages are relative to (default: the real time).
    """
    now = time.time() if now is None else now
    # Real paths: git stores them for worktrees, and the relocation below must match them.
    # Only the parent is resolved, so a symlink named as the target is refused, not followed.
    requested = Path(os.path.abspath(target_dir))
    requested.parent.mkdir(parents=True, exist_ok=True)
    target = Path(os.path.realpath(requested.parent)) / requested.name
    _refuse_unless_replaceable(target)
    staging = Path(os.path.realpath(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent)))
    try:
        build = _Build(staging, now)
        _build_everything(build)
        _relocate(build.files_with_paths, staging, target)
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return str(target / "host")


def _refuse_unless_replaceable(target: Path) -> None:
    if not os.path.lexists(target):
        return
    if not target.is_dir() or target.is_symlink():
        raise FileExistsError(f"{target} exists and is not a directory; refusing to replace it")
    if any(target.iterdir()) and not (target / DEMO_MARKER).is_file():
        raise FileExistsError(
            f"{target} is not empty and is not a gitward demo (no {DEMO_MARKER}); refusing to replace it"
        )


def _build_everything(build: _Build) -> None:
    _gerrit_project_alpha(build)
    _gerrit_all_users(build)
    _gitlab_busy_service(build)
    _gitlab_locked_repo(build)
    _gitlab_corrupt_packed(build)
    _mirror_upstream_lib(build)
    _git_sync_webapp(build)
    _work_tooling(build)
    _compare_pair(build)
    (build.root / DEMO_MARKER).write_text(_readme())


def _relocate(files: Iterable[Path], staging: Path, target: Path) -> None:
    """Point absolute paths git wrote during the build (worktree links, remote URLs) at ``target``."""
    old, new = os.fsencode(staging), os.fsencode(target)
    for path in files:
        if not path.exists():
            continue
        times = path.stat()
        path.write_bytes(path.read_bytes().replace(old, new))
        os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))  # FETCH_HEAD's age is part of the story


def _swap_into_place(staging: Path, target: Path) -> None:
    if not os.path.lexists(target):
        os.rename(staging, target)
        return
    # Two renames: directories cannot be exchanged atomically (portably). On failure the old
    # demo goes back; either way the graveyard is removed.
    graveyard = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rename(target, graveyard / "demo")
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(graveyard / "demo", target)
        raise
    finally:
        shutil.rmtree(graveyard, ignore_errors=True)


# --------------------------------------------------------------------------- story 1: Gerrit project


def _gerrit_project_alpha(build: _Build) -> None:
    """Copied with rsync without --delete, then the source ran gc: stale loose refs win.

    The packed values are the newer ones (merged changes, new review comments); the loose files
    are ancestors left behind from the first copy.
    """
    git_dir = init_repo(build.host / "gerrit/project-alpha.git", bare=True)
    fi = FastImport()
    master = _linear_history(fi, "alpha", 10)
    stable = _linear_history(fi, "alpha-stable", 3, base=master[4])
    config = _meta_config_history(fi, 3)
    changes = {n: _GerritChange(fi, n, base=master[-1 if n < 1008 else -3]) for n in range(1001, 1015)}
    # Change 1001 was merged (master fast-forwarded to it), then 1004 was rebased onto it and
    # merged too. 1002 got a review comment and 1007 a third patch set.
    before_merge_1001 = changes[1001].meta[-1]
    merged_1001 = changes[1001].merge(fi)
    before_merge_1004 = changes[1004].meta[-1]
    changes[1004].upload_patch_set(fi, parent=merged_1001)
    merged_1004 = changes[1004].merge(fi)
    before_comment_1002 = changes[1002].meta[-1]
    changes[1002].comment(fi, "Nit: please add a test for the empty case.")
    before_ps3_1007 = changes[1007].meta[-1]
    changes[1007].upload_patch_set(fi)
    v11 = fi.tag("v1.1", master[5], "Alpha 1.1\n")
    v20 = fi.tag("v2.0", master[9], "Alpha 2.0\n")
    objects = fi.run(git_dir)

    # What the source had packed at the final rsync: the newest values.
    packed = {
        "refs/heads/master": objects[merged_1004],
        "refs/heads/stable-1.0": objects[stable[-1]],
        "refs/meta/config": objects[config[-1]],
        "refs/tags/v1.0": objects[master[2]],
        "refs/tags/v1.1": objects[v11],
        "refs/tags/v2.0": objects[v20],
    }
    for number, change in changes.items():
        if number < 1013:  # 1013 and 1014 were created after the source's gc: loose only
            packed.update(change.refs(objects))
    write_packed_refs(git_dir, packed, objects.peeled)

    # Left over from the first rsync: older values of refs that moved since.
    stale = {
        "refs/heads/master": objects[master[-1]],
        "refs/heads/stable-1.0": objects[stable[0]],
        "refs/meta/config": objects[config[1]],
    }
    for number, meta in (
        (1001, before_merge_1001),
        (1002, before_comment_1002),
        (1004, before_merge_1004),
        (1007, before_ps3_1007),
    ):
        stale[change_ref(number, "meta")] = objects[meta]
    write_loose_refs(git_dir, stale)
    for number in (1013, 1014):
        write_loose_refs(git_dir, changes[number].refs(objects))


def _linear_history(fi: FastImport, topic: str, count: int, *, base: int | None = None) -> list[int]:
    commits = []
    parent = base
    for i in range(1, count + 1):
        files = {f"src/{topic}.txt": f"{topic} step {i}\n".encode()}
        if parent is None:
            files["README.md"] = f"# {topic}\n".encode()
        parent = fi.commit(f"{topic}: step {i}\n", parents=[] if parent is None else [parent], files=files)
        commits.append(parent)
    return commits


def _meta_config_history(fi: FastImport, count: int) -> list[int]:
    """refs/meta/config: project.config and groups, edited a few times by admins."""
    commits: list[int] = []
    for version in range(1, count + 1):
        config = (
            '[access "refs/heads/*"]\n\tlabel-Code-Review = -2..+2 group Reviewers\n'
            f"[submit]\n\taction = fast forward only\n# revision {version}\n"
        )
        commits.append(
            fi.commit(
                f"Update project config (revision {version})\n",
                parents=commits[-1:],
                files={"project.config": config.encode(), "groups": b"# UUID\tGroup Name\nabc123\tReviewers\n"},
                clear_tree=not commits,
                author="Ada Admin <ada@example.com>",
                committer=GERRIT_SERVER,
            )
        )
    return commits


class _GerritChange:
    """A change: patch set commits on top of master, and its NoteDB meta history."""

    def __init__(self, fi: FastImport, number: int, base: int) -> None:
        self.number = number
        self.base = base
        self.change_id = "I" + hashlib.sha1(f"change {number}".encode()).hexdigest()
        self.owner = f"Gerrit User {1000000 + number % 7} <{1000000 + number % 7}@gerrit-demo>"
        self.patch_sets: list[int] = []
        self.meta: list[int] = []
        self.upload_patch_set(fi)
        if number % 3 != 0:  # most changes also have a second patch set
            self.upload_patch_set(fi)

    def upload_patch_set(self, fi: FastImport, *, parent: int | None = None) -> int:
        n = len(self.patch_sets) + 1
        commit = fi.commit(
            f"Change {self.number}: improve the frobnicator\n\nChange-Id: {self.change_id}\n",
            parents=[parent or self.base],
            files={f"src/change_{self.number}.txt": f"patch set {n}\n".encode()},
            author=self.owner,
        )
        self.patch_sets.append(commit)
        label = "Create change" if n == 1 else f"Upload patch set {n}"
        self._meta(
            fi,
            f"{label}\n\nPatch-set: {n}\nChange-id: {self.change_id}\nSubject: improve the frobnicator\n"
            "Branch: refs/heads/master\nStatus: new\n",
        )
        return commit

    def comment(self, fi: FastImport, text: str) -> None:
        n = len(self.patch_sets)
        self._meta(
            fi,
            f"Update patch set {n}\n\nPatch-set: {n}\nLabel: Code-Review=-1\n",
            notes={self.patch_sets[-1]: f'{{"comments":[{{"line":1,"message":"{text}"}}]}}\n'.encode()},
        )

    def merge(self, fi: FastImport) -> int:
        """Review +2 and submit; returns the merged patch set commit."""
        n = len(self.patch_sets)
        self._meta(fi, f"Update patch set {n}\n\nPatch-set: {n}\nLabel: Code-Review=+2\n")
        self._meta(fi, f"Change has been successfully merged\n\nPatch-set: {n}\nStatus: merged\nSubmitted-with: OK\n")
        return self.patch_sets[-1]

    def refs(self, objects: Objects) -> dict[str, str]:
        refs = {change_ref(self.number, i): objects[c] for i, c in enumerate(self.patch_sets, 1)}
        refs[change_ref(self.number, "meta")] = objects[self.meta[-1]]
        return refs

    def _meta(self, fi: FastImport, message: str, *, notes: Mapping[int, bytes] | None = None) -> None:
        self.meta.append(
            fi.commit(
                message,
                parents=self.meta[-1:],
                clear_tree=not self.meta,
                notes=notes,
                author=self.owner,
                committer=GERRIT_SERVER,
            )
        )


# --------------------------------------------------------------------------- story 2: All-Users

STARRING_ACCOUNTS = range(1000000, 1000012)
STARRED_CHANGES = range(1001, 1251)


def _gerrit_all_users(build: _Build) -> None:
    """Every star is a ref to the same blob: thousands of refs, most packed, recent ones loose."""
    git_dir = init_repo(build.host / "gerrit/All-Users.git", bare=True)
    fi = FastImport()
    star = fi.blob(b"star\n")
    config = fi.commit(
        "Initialize All-Users\n",
        files={"project.config": b"[access]\n\tinheritFrom = All-Projects\n"},
        author=GERRIT_SERVER,
    )
    users = {
        account: fi.commit(
            f"Create account {account}\n",
            files={"account.config": f"[account]\n\tfullName = User {account}\n".encode()},
            author=GERRIT_SERVER,
        )
        for account in STARRING_ACCOUNTS
    }
    objects = fi.run(git_dir)

    packed = {"refs/meta/config": objects[config]}
    packed.update({f"refs/users/{a % 100:02d}/{a}": objects[c] for a, c in users.items()})
    loose = {}
    for change in STARRED_CHANGES:
        starred = loose if change > 1240 else packed  # starred since the last gc
        for account in STARRING_ACCOUNTS:
            starred[starred_ref(change, account)] = objects[star]
    write_packed_refs(git_dir, packed)
    write_loose_refs(git_dir, loose)
    # HEAD stays on the unborn refs/heads/master: All-Users has no branches, and a HEAD that
    # points outside refs/heads/ (e.g. at refs/meta/config) makes `git fsck` fail.


# --------------------------------------------------------------------------- story 3: busy GitLab repo

# git refuses this name ("[" is not allowed in refs), but a file can still be put there on disk;
# git then ignores it with a warning. It shows that ref names are shown escaped, never as markup.
MARKUP_REF = "refs/heads/[bold red]not-markup"
FAKE_CREDENTIAL_URL = "https://ci-bot:not-a-real-secret@gitlab.example.com/acme/busy-service.git"


def _gitlab_busy_service(build: _Build) -> None:
    """Hundreds of loose refs since the last pack-refs: normal (dead-packed) and identical shadows."""
    git_dir = init_repo(build.host / "gitlab/busy-service.git", bare=True, branch="main")
    fi = FastImport()
    main = _linear_history(fi, "service", 24)
    develop = _linear_history(fi, "service-develop", 6, base=main[15])
    release = _linear_history(fi, "service-release", 2, base=main[12])
    features = {name: _linear_history(fi, f"feature-{name}", 3, base=main[10 + i]) for i, name in enumerate("abcde")}
    v10 = fi.tag("v1.0", main[12], "busy-service 1.0\n")
    objects = fi.run(git_dir)

    def head(name: str) -> str:
        return f"refs/heads/{name}"

    # The last `git pack-refs`, weeks ago.
    packed = {
        head("main"): objects[main[17]],
        head("develop"): objects[develop[2]],
        head("release/1.x"): objects[release[-1]],
        "refs/tags/v0.9": objects[main[8]],
        "refs/tags/v1.0": objects[v10],
    }
    packed.update({head(f"feature/{n}"): objects[c[0 if n in "abc" else -1]] for n, c in features.items()})
    write_packed_refs(git_dir, packed, objects.peeled)
    # Normal pushes since then wrote loose files that descend from the packed values.
    dead_packed = {head("main"): objects[main[-1]], head("develop"): objects[develop[-1]]}
    dead_packed.update({head(f"feature/{n}"): objects[features[n][-1]] for n in "abc"})
    # A pack-refs killed before it deleted the loose files leaves identical copies.
    identical = {name: packed[name] for name in (head("release/1.x"), head("feature/d"), "refs/tags/v0.9")}
    write_loose_refs(git_dir, dead_packed | identical)
    write_loose_refs(git_dir, _gitlab_backlog(objects, main, features))
    write_loose_ref(git_dir, MARKUP_REF, objects[main[-1]])
    with open(git_dir / "config", "a") as config:
        # A pull mirror's remote with a credential in the URL: shown redacted, never in clear.
        config.write(f'[remote "upstream"]\n\turl = {FAKE_CREDENTIAL_URL}\n\tfetch = +refs/heads/*:refs/heads/*\n')


def _gitlab_backlog(objects: Objects, main: list[int], features: Mapping[str, list[int]]) -> dict[str, str]:
    """The refs GitLab keeps creating: merge request heads, pipelines, keep-arounds, deployments."""
    feature_tips = [objects[c] for commits in features.values() for c in commits]
    refs = {f"refs/merge-requests/{i}/head": feature_tips[i % len(feature_tips)] for i in range(1, 81)}
    refs.update({f"refs/pipelines/{i}": objects[main[i % len(main)]] for i in range(1, 151)})
    refs.update({f"refs/keep-around/{objects[c]}": objects[c] for c in main[:25]})
    refs.update({f"refs/environments/production/deployments/{i}": objects[main[i % len(main)]] for i in range(1, 31)})
    return refs


# --------------------------------------------------------------------------- stories 6, 7: locks, corruption

HOUR = 3600.0


def _gitlab_locked_repo(build: _Build) -> None:
    """A `git pack-refs` killed two hours ago left packed-refs.lock; a dead push left a ref lock."""
    git_dir = init_repo(build.host / "gitlab/locked-repo.git", bare=True, branch="main")
    fi = FastImport()
    main = _linear_history(fi, "locked", 5)
    feature = _linear_history(fi, "locked-feature", 2, base=main[2])
    objects = fi.run(git_dir)
    refs = {
        "refs/heads/main": objects[main[-1]],
        "refs/heads/feature": objects[feature[0]],
        "refs/tags/v1": objects[main[1]],
    }
    write_packed_refs(git_dir, refs)
    # The lock holds the content the killed pack-refs was about to install.
    packed_lock = git_dir / "packed-refs.lock"
    packed_lock.write_bytes((git_dir / "packed-refs").read_bytes())
    set_age(packed_lock, build.now, 2 * HOUR)
    # A ref lock holds the value the dead push meant to write.
    ref_lock = git_dir / "refs/heads/feature.lock"
    ref_lock.write_text(objects[feature[1]] + "\n")
    set_age(ref_lock, build.now, 3 * HOUR)


def _gitlab_corrupt_packed(build: _Build) -> None:
    """packed-refs with a torn line in the middle and entries out of order under a `sorted` claim."""
    git_dir = init_repo(build.host / "gitlab/corrupt-packed.git", bare=True, branch="main")
    fi = FastImport()
    main = _linear_history(fi, "corrupt", 4)
    objects = fi.run(git_dir)
    tip, older = objects[main[-1]], objects[main[1]]
    (git_dir / "packed-refs").write_text(
        "# pack-refs with: peeled fully-peeled sorted \n"
        f"{tip} refs/tags/v1.0\n"  # out of order: tags before heads
        f"{tip} refs/heads/main\n"
        f"{older[:17]} refs/heads/rele\n"  # torn write: a short id and a cut name
        f"{older} refs/heads/develop\n"
    )
    write_loose_ref(git_dir, "refs/heads/hotfix", tip)


# --------------------------------------------------------------------------- story 5: mirror


def _mirror_upstream_lib(build: _Build) -> None:
    """A bare mirror cloned from upstream, last fetched three days ago; upstream has moved on."""
    upstream = init_repo(build.upstreams / "upstream-lib.git", bare=True, branch="main")
    fi = FastImport()
    main = _linear_history(fi, "lib", 8)
    release = _linear_history(fi, "lib-release", 2, base=main[3])
    old_feature = _linear_history(fi, "lib-old-feature", 1, base=main[5])
    v10 = fi.tag("v1.0", main[3], "lib 1.0\n")
    v11 = fi.tag("v1.1", main[7], "lib 1.1\n")
    main_next = _linear_history(fi, "lib", 3, base=main[-1])
    release_next = _linear_history(fi, "lib-release", 1, base=release[-1])
    asyncio = _linear_history(fi, "lib-async", 2, base=main[-1])
    v12 = fi.tag("v1.2", main_next[-1], "lib 1.2\n")
    objects = fi.run(upstream)
    tags = {"refs/tags/v1.0": objects[v10], "refs/tags/v1.1": objects[v11]}
    before = {
        "refs/heads/main": objects[main[-1]],
        "refs/heads/release/1.x": objects[release[-1]],
        "refs/heads/old-feature": objects[old_feature[-1]],
    }
    write_packed_refs(upstream, before | tags, objects.peeled)

    mirror = build.host / "mirrors/upstream-lib.git"
    run_git("clone", "--mirror", "-q", upstream.as_uri(), mirror)
    run_git("-C", mirror, "fetch", "-q")  # leaves FETCH_HEAD: "last fetched"
    set_age(mirror / "FETCH_HEAD", build.now, 3 * 24 * HOUR)
    build.remember_paths_in(mirror / "config", mirror / "FETCH_HEAD")

    # Since then upstream got new commits, a new branch and tag, and deleted old-feature.
    after = {
        "refs/heads/main": objects[main_next[-1]],
        "refs/heads/release/1.x": objects[release_next[-1]],
        "refs/heads/feature/async": objects[asyncio[-1]],
        "refs/tags/v1.2": objects[v12],
    }
    write_packed_refs(upstream, after | tags, objects.peeled)


# --------------------------------------------------------------------------- story 4: git-sync

GIT_SYNC_LINK = "current"
NFS_LOCK_REASON = "nfs volume"


def _git_sync_webapp(build: _Build) -> None:
    """A git-sync --root, laid out as git-sync v4 does it.

    The repo is at the root (``git init -b git-sync``), one detached worktree per synced commit
    under ``.worktrees/<sha>`` whose ``.git`` file is relative, and a relative symlink (--link)
    to the current one. An old worktree was locked by an operator (``nfs volume``), a newer one
    vanished with the NFS server, and an NFS silly-rename file sits in ``.worktrees/``.
    """
    upstream = init_repo(build.upstreams / "webapp.git", bare=True, branch="main")
    fi = FastImport()
    site = _linear_history(fi, "webapp", 5)
    objects = fi.run(upstream)
    # The root synced site[3]; upstream has since moved on to site[4], so a sync moves the link.
    write_packed_refs(upstream, {"refs/heads/main": objects[site[3]]})

    root = build.host / "sync/webapp"
    root.mkdir(parents=True)
    run_git("init", "-q", "-b", "git-sync", cwd=root)
    run_git("remote", "add", "origin", upstream.as_uri(), cwd=root)
    run_git("fetch", upstream.as_uri(), "main", "--no-progress", "--prune", "--no-auto-gc", "-q", cwd=root)
    run_git("reset", "--soft", "FETCH_HEAD", cwd=root)
    build.remember_paths_in(root / ".git/config", root / ".git/FETCH_HEAD")

    locked, vanished, current = (objects[c] for c in site[1:4])
    for sha in (locked, vanished, current):
        _git_sync_worktree(build, root, sha)
    os.symlink(f".worktrees/{current}", root / GIT_SYNC_LINK)
    write_packed_refs(upstream, {"refs/heads/main": objects[site[4]]})
    run_git("worktree", "lock", "--reason", NFS_LOCK_REASON, root / ".worktrees" / locked, cwd=root)
    set_age(root / ".worktrees" / locked, build.now, 2 * 24 * HOUR)
    shutil.rmtree(root / ".worktrees" / vanished)
    (root / ".worktrees/.nfs000000000a1b2c3d00000001").write_bytes(b"deleted while still open on an NFS client\n")


def _git_sync_worktree(build: _Build, root: Path, sha: str) -> None:
    worktree = root / ".worktrees" / sha
    run_git("worktree", "add", "--force", "--detach", "--no-checkout", worktree, sha, cwd=root)
    # git-sync rewrites the worktree's .git file to a relative path so volumes can move.
    (worktree / ".git").write_text(f"gitdir: ../../.git/worktrees/{sha}\n")
    run_git("reset", "-q", "--hard", sha, "--", cwd=worktree)
    build.remember_paths_in(root / ".git/worktrees" / sha / "gitdir")


# --------------------------------------------------------------------------- story 8: worktrees

# Lock reasons are free text an operator typed; this one shows they are never rendered as markup.
MARKUP_LOCK_REASON = "release build on usb disk; [bold red]not-markup[/] must show literally"


def _work_tooling(build: _Build) -> None:
    """A checkout with linked worktrees: locked, deleted (prunable), locked but unmounted (missing)."""
    top = build.host / "work/tooling"
    git_dir = init_repo(top, bare=False, branch="main")
    fi = FastImport()
    main = _linear_history(fi, "tooling", 5)
    release = _linear_history(fi, "tooling-release", 2, base=main[2])
    experiment = _linear_history(fi, "tooling-experiment", 1, base=main[-1])
    v20 = fi.tag("v2.0", release[0], "tooling 2.0\n")
    objects = fi.run(git_dir)
    # As a fresh clone leaves them: packed; the experiment branch was made afterwards.
    packed = {
        "refs/heads/main": objects[main[-1]],
        "refs/heads/release/2.x": objects[release[-1]],
        "refs/tags/v2.0": objects[v20],
    }
    write_packed_refs(git_dir, packed, objects.peeled)
    write_loose_ref(git_dir, "refs/heads/experiment", objects[experiment[-1]])
    run_git("reset", "-q", "--hard", cwd=top)

    linked = build.host / "work/tooling-worktrees"
    run_git("worktree", "add", "-q", linked / "release", "release/2.x", cwd=top)
    run_git("worktree", "add", "-q", linked / "experiment", "experiment", cwd=top)
    run_git("worktree", "add", "-q", "--detach", linked / "scratch", "main", cwd=top)
    run_git("worktree", "lock", "--reason", MARKUP_LOCK_REASON, linked / "release", cwd=top)
    run_git("worktree", "lock", "--reason", "scratch disk unmounted for repair", linked / "scratch", cwd=top)
    shutil.rmtree(linked / "experiment")
    # Locked and gone (an unmounted disk): git keeps it, gitward says it is missing.
    shutil.rmtree(linked / "scratch")
    build.remember_paths_in(
        git_dir / "worktrees/release/gitdir",
        git_dir / "worktrees/experiment/gitdir",
        git_dir / "worktrees/scratch/gitdir",
        linked / "release/.git",
    )


# --------------------------------------------------------------------------- story 9: compare


@dataclass
class _SmallProject:
    refs: dict[str, str]  # what the source has packed
    older: dict[str, str]  # earlier values of some of those refs
    peeled: dict[str, str]  # annotated tag -> commit (packed-refs' ^ lines)
    history: list[str]  # master's commits, oldest first
    patch_set: str  # change 2001's first patch set: on a side branch of master


def _compare_pair(build: _Build) -> None:
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


def _epsilon_replica_drift(build: _Build, git_dir: Path, project: _SmallProject) -> None:
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
    master = _linear_history(fi, git_dir.stem, 6)
    change = _GerritChange(fi, 2001, base=master[-2])
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


# --------------------------------------------------------------------------- README


def _readme() -> str:
    return """\
gitward demo host
=================

Built by `gitward demo DIR` (or `gitward --demo`); rebuilding replaces this directory.
Scan host/; upstreams/ holds the remotes the mirror and git-sync root fetch from.

host/gerrit/project-alpha.git
    A Gerrit project copied with rsync without --delete before the source ran gc. Seven refs
    (master, stable-1.0, refs/meta/config, four change meta refs) have a stale loose file that
    hides the newer packed value: merged changes look open, review comments are gone.
    Running `git pack-refs`/`git gc` here would make the loss permanent.
host/gerrit/All-Users.git
    3,000 refs/starred-changes/* pointing at one blob; most packed, the newest 120 loose.
host/gitlab/busy-service.git
    A loose-ref backlog (hundreds of merge-request, pipeline and keep-around refs), normal
    dead-packed shadows (pushes since the last pack-refs) and identical shadows (an interrupted
    pack-refs). Its remote URL carries a (fake) credential that must be shown redacted. One loose
    file is named refs/heads/[bold red]not-markup: git rejects the name and ignores the file, and
    gitward must show it literally, never as markup.
host/gitlab/locked-repo.git
    A packed-refs.lock left two hours ago by a killed pack-refs, and a three-hour-old
    refs/heads/feature.lock from a push that died.
host/gitlab/corrupt-packed.git
    packed-refs with a torn line and out-of-order entries under a "sorted" header; git refuses
    to read it, so nothing may write to this repo until it is repaired by hand.
host/mirrors/upstream-lib.git
    A bare mirror (git clone --mirror) last fetched three days ago; upstream has three new
    commits on main, a new branch, a new tag, and deleted old-feature. Sync brings them in.
host/sync/webapp
    A git-sync root: the link `current` points at .worktrees/<sha>; an older worktree is locked
    ("nfs volume"), a newer one vanished with the NFS server (prunable), and an NFS
    silly-rename file sits in .worktrees/. Upstream has one new commit: a sync moves the link.
host/work/tooling
    A developer checkout with linked worktrees in work/tooling-worktrees/: `release` is locked
    (its reason contains markup-looking text), `experiment` was deleted and is prunable,
    `scratch` is locked but its disk is unmounted (missing, kept by git).
compare/source, compare/replica
    A migration rehearsal (`gitward compare compare/source compare/replica`): on the replica
    project-beta has stale loose refs, project-gamma lacks tag v1.1, project-delta is missing
    and project-zeta exists only there; project-epsilon shows every other class: a branch
    behind, one ahead, one diverged, an extra branch, a missing object, HEAD pointing
    elsewhere, a ref stored differently, a loose file only on the replica, a copied
    packed-refs.lock, a hook and a config key that differ, an alternate and a worktree path
    that do not exist on the replica.
"""
