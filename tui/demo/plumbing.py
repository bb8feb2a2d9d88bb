"""Git plumbing for the demo host and the benchmark fixtures: a fixed git environment, one
``git fast-import`` per repository, ref files written directly, and ``Build``, the staging
dir a build writes into."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


# 2024-03-01T08:00:00Z. Every commit and tag date derives from it, so object ids are stable.
FIXED_EPOCH = 1_709_280_000

DEVELOPER = "Dana Developer <dana@example.com>"
GERRIT_SERVER = "Gerrit Code Review <gerrit@example.com>"
RELEASE_BOT = "Release Bot <release-bot@example.com>"

HOUR = 3600.0


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



# --------------------------------------------------------------------------- the build's staging dir

@dataclass
class Build:
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
