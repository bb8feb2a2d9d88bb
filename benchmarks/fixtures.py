"""Benchmark fixtures: big ref stores and a many-repo host, built in seconds and cached.

- F1 (:class:`StarredSpec`): one bare repo, 25,000 ``refs/starred-changes/*`` pointing at one
  blob; the newer half loose, the older half packed (like Gerrit's All-Users).
- F2 (:class:`ChangesSpec`): one bare repo, 200,000 ``refs/changes/NN/NNNN/P`` over a chain of
  2,000 commits; 10,000 loose refs, 500 of which are stale-loose shadows (the loose file holds an
  ancestor of the packed value).
- F3 (:class:`HostSpec`): 2,200 repos with 20 refs each (some loose, some shadows of every kind),
  200 of them non-bare with two linked worktrees each (some locked, some prunable).

Each fixture runs ``git fast-import`` once (F3: once for a template whose pack every repo
hardlinks); refs, packed-refs and worktree admin files are written by Python. Fixtures live in
``benchmarks/.fixtures/<key>/`` and are reused while ``.complete`` (the manifest: what the
fixture claims to contain) is there; the smoke test checks those claims with git.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

from tui.demo import (
    FastImport,
    change_ref,
    init_repo,
    starred_ref,
    write_loose_refs,
    write_packed_refs,
)

# Bump when a builder changes what it writes: cached fixtures with an older version are rebuilt.
FIXTURE_VERSION = 1
DEFAULT_CACHE = Path(__file__).resolve().parent / ".fixtures"
COMPLETE = ".complete"


class _Spec:
    """The sizes of one fixture (the fields of a frozen dataclass)."""

    prefix: ClassVar[str]

    @property
    def key(self) -> str:
        """The cache directory name: every size in the spec, so different sizes never share one."""
        return "-".join([self.prefix, *(str(value) for value in asdict(self).values())])


@dataclass(frozen=True)
class StarredSpec(_Spec):
    """F1."""

    prefix: ClassVar[str] = "f1-starred"
    refs: int = 25_000
    accounts_per_change: int = 10


@dataclass(frozen=True)
class ChangesSpec(_Spec):
    """F2."""

    prefix: ClassVar[str] = "f2-changes"
    refs: int = 200_000
    commits: int = 2_000
    loose: int = 10_000
    stale: int = 500
    patch_sets: int = 4


@dataclass(frozen=True)
class HostSpec(_Spec):
    """F3."""

    prefix: ClassVar[str] = "f3-host"
    repos: int = 2_200
    non_bare: int = 200
    repos_per_group: int = 100


@dataclass(frozen=True)
class Sizes:
    f1: StarredSpec
    f2: ChangesSpec
    f3: HostSpec


FULL = Sizes(StarredSpec(), ChangesSpec(), HostSpec())
# `run.py --quick` and the smoke test: every feature of the full fixtures, in well under a second.
QUICK = Sizes(StarredSpec(200), ChangesSpec(2_000, 100, 200, 20), HostSpec(20, 4, 5))

# `run.py --scale`: does the time per repo and per ref stay flat? Non-bare share as in F3 (~9%).
SCALE_HOSTS = tuple(HostSpec(n, n * 200 // 2_200, 100) for n in (1_000, 5_000, 20_000, 50_000))
SCALE_CHANGES = tuple(ChangesSpec(n) for n in (50_000, 200_000, 1_000_000))
QUICK_SCALE_HOSTS = (HostSpec(10, 2, 5), HostSpec(40, 4, 5))
QUICK_SCALE_CHANGES = (ChangesSpec(1_000, 100, 200, 20), ChangesSpec(4_000, 100, 200, 20))


@dataclass
class Fixture:
    directory: Path
    path: Path  # the repository (F1, F2) or the scan root (F3)
    manifest: dict  # what the fixture claims to contain; paths are relative to ``directory``
    build_seconds: float | None = None  # None when it came from the cache

    def resolve(self, relative: str) -> Path:
        return self.directory / relative


def load(spec: StarredSpec | ChangesSpec | HostSpec, *, cache: Path = DEFAULT_CACHE) -> Fixture | None:
    """The cached fixture for ``spec`` when it is complete and current; None otherwise. Builds nothing."""
    directory = cache / spec.key
    marker = directory / COMPLETE
    if not marker.is_file():
        return None
    recorded = json.loads(marker.read_text())
    if recorded.get("version") != FIXTURE_VERSION or recorded.get("spec") != asdict(spec):
        return None
    return Fixture(directory, directory / recorded["path"], recorded["manifest"], recorded.get("build_seconds"))


def ensure(
    spec: StarredSpec | ChangesSpec | HostSpec, *, cache: Path = DEFAULT_CACHE, rebuild: bool = False
) -> Fixture:
    """Return the fixture for ``spec``, building it when missing, incomplete, stale or asked to.

    Builds happen in place (worktree admin files hold absolute paths, so building elsewhere and
    renaming would break them); ``.complete`` is written last, so an interrupted build is
    detected and redone.
    """
    directory = cache / spec.key
    marker = directory / COMPLETE
    if not rebuild:
        cached = load(spec, cache=cache)
        if cached is not None:
            return Fixture(cached.directory, cached.path, cached.manifest)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    started = time.perf_counter()
    path, manifest = BUILDERS[type(spec)](directory, spec)
    seconds = time.perf_counter() - started
    record = {
        "version": FIXTURE_VERSION,
        "spec": asdict(spec),
        "path": path,
        "manifest": manifest,
        "build_seconds": round(seconds, 2),
    }
    marker.write_text(json.dumps(record, indent=1))
    return Fixture(directory, directory / path, manifest, seconds)


# --------------------------------------------------------------------------- F1


def build_starred(directory: Path, spec: StarredSpec) -> tuple[str, dict]:
    git_dir = init_repo(directory / "All-Users.git", bare=True)
    fi = FastImport()
    star = fi.blob(b"star\n")
    blob = fi.run(git_dir)[star]
    names = [
        starred_ref(10_001 + i // spec.accounts_per_change, 1_000_000 + i % spec.accounts_per_change)
        for i in range(spec.refs)
    ]
    half = spec.refs // 2
    packed, loose = names[:half], names[half:]  # the newer stars are loose: made since the last gc
    write_packed_refs(git_dir, dict.fromkeys(packed, blob))
    write_loose_refs(git_dir, dict.fromkeys(loose, blob))
    manifest = {"refs": spec.refs, "packed": len(packed), "loose": len(loose), "value": blob}
    return "All-Users.git", manifest


# --------------------------------------------------------------------------- F2


def build_changes(directory: Path, spec: ChangesSpec) -> tuple[str, dict]:
    git_dir = init_repo(directory / "project.git", bare=True)
    chain = _commit_chain(git_dir, spec.commits, files=50)
    names = [change_ref(10_001 + i // spec.patch_sets, 1 + i % spec.patch_sets) for i in range(spec.refs)]
    position = {name: _spread(i, spec.commits) for i, name in enumerate(names)}

    loose_only = names[len(names) - (spec.loose - spec.stale) :]  # the newest changes, not yet packed
    packed = {name: chain[position[name]] for name in names[: len(names) - len(loose_only)]}
    packed["refs/heads/master"] = chain[-1]
    stale = _pick_evenly([n for n in packed if n.startswith("refs/changes/") and position[n] > 0], spec.stale)
    # A stale-loose file holds an ancestor of the packed value (chain is linear).
    loose = {name: chain[max(0, position[name] - 1 - i % 7)] for i, name in enumerate(stale)}
    loose.update({name: chain[position[name]] for name in loose_only})

    write_packed_refs(git_dir, packed)
    write_loose_refs(git_dir, loose)
    manifest = {
        "refs": len(names) + 1,
        "packed": len(packed),
        "loose": len(loose),
        "stale_loose": stale,
        "commits": spec.commits,
    }
    return "project.git", manifest


def _spread(i: int, n: int) -> int:
    """Deterministically scatter ref i over n commits (neighbouring refs land far apart)."""
    return (i * 7919) % n


def _pick_evenly(items: list[str], count: int) -> list[str]:
    step = len(items) / count
    return [items[int(k * step)] for k in range(count)]


def _commit_chain(git_dir: Path, count: int, *, files: int) -> list[str]:
    """A linear history of ``count`` commits; each edits one of ``files`` files."""
    fi = FastImport(tick=60)
    marks = []
    for i in range(count):
        parents = marks[-1:]
        marks.append(
            fi.commit(
                f"change {i}\n", parents=parents, files={f"src/file-{i % files:03d}.txt": f"revision {i}\n".encode()}
            )
        )
    objects = fi.run(git_dir)
    return [objects[m] for m in marks]


# --------------------------------------------------------------------------- F3

# Every F3 repo holds these 20 refs. Values are positions in the template's 40-commit chain.
F3_TEMPLATE_COMMITS = 40
F3_PACKED = {
    "refs/heads/main": 39,
    "refs/heads/develop": 30,
    "refs/heads/release/1.0": 10,
    "refs/heads/release/2.0": 20,
    **{f"refs/heads/feature/f{k:02d}": 20 + k for k in range(1, 8)},
    **{f"refs/tags/v1.{k}": 5 * k for k in range(6)},
}
F3_ANNOTATED_TAG = "refs/tags/v1.5"
F3_LOOSE_ONLY = {f"refs/heads/feature/f{k:02d}": 20 + k for k in range(8, 11)}
# Which shadow a repo carries depends on its index modulo 4 (the fourth kind: none).
F3_SHADOWS = (
    ("stale-loose", "refs/heads/develop", 25),  # loose holds an ancestor of packed 30
    ("dead-packed", "refs/heads/develop", 35),  # loose descends from packed 30
    ("identical", "refs/heads/release/2.0", 20),
)
LOCK_REASON = "kept for bisect; on removable disk"


@dataclass(frozen=True)
class _Template:
    pack_files: tuple[Path, ...]  # pack, idx (and whatever else fast-import wrote)
    chain: tuple[str, ...]
    annotated_tag: str
    peeled: dict[str, str]


def build_host(directory: Path, spec: HostSpec) -> tuple[str, dict]:
    template = _host_template(directory / "template.git")
    root = directory / "root"
    packed_refs_text = _f3_packed_refs(template)
    repos: list[Path] = []
    locked: list[Path] = []
    prunable: list[Path] = []
    shadows = {kind: 0 for kind, _, _ in F3_SHADOWS}
    for index in range(spec.repos):
        non_bare = index < spec.non_bare
        if non_bare:
            top = root / "work" / f"repo-{index:04d}"
            git_dir = top / ".git"
        else:
            group = index // spec.repos_per_group
            top = git_dir = root / "gitlab" / f"group-{group:02d}" / f"repo-{index:04d}.git"
        _write_repo(git_dir, template, packed_refs_text, bare=not non_bare)
        shadow = _write_loose(git_dir, template, index)
        if shadow:
            shadows[shadow] += 1
        if non_bare:
            wt_locked, wt_prunable = _write_linked_worktrees(git_dir, top, template, index)
            locked += wt_locked
            prunable += wt_prunable
        repos.append(top)

    def relative(paths: list[Path]) -> list[str]:
        return [p.relative_to(directory).as_posix() for p in paths]

    manifest = {
        "repos": relative(repos),
        "bare": spec.repos - spec.non_bare,
        "non_bare": spec.non_bare,
        "refs_per_repo": len(F3_PACKED) + len(F3_LOOSE_ONLY),
        "shadows": shadows,
        # Repo i carries shadow kind i % 4, so the first repos show one of each.
        "shadow_examples": [
            {
                "repo": relative([repos[i]])[0],
                "kind": kind,
                "ref": name,
                "loose": template.chain[position],
                "packed": template.chain[F3_PACKED[name]],
            }
            for i, (kind, name, position) in enumerate(F3_SHADOWS[: spec.repos])
        ],
        "locked_worktrees": relative(locked),
        "prunable_worktrees": relative(prunable),
    }
    return "root", manifest


def _host_template(git_dir: Path) -> _Template:
    """The one fast-import: a chain of commits and an annotated tag all repos share."""
    init_repo(git_dir, bare=True, branch="main")
    fi = FastImport(tick=600)
    marks: list[int] = []
    for i in range(F3_TEMPLATE_COMMITS):
        marks.append(
            fi.commit(f"commit {i}\n", parents=marks[-1:], files={f"src/module-{i % 8}.txt": f"version {i}\n".encode()})
        )
    tag = fi.tag("v1.5", marks[F3_PACKED[F3_ANNOTATED_TAG]], "release 1.5\n")
    objects = fi.run(git_dir)
    pack_files = tuple(sorted((git_dir / "objects" / "pack").iterdir()))
    return _Template(pack_files, tuple(objects[m] for m in marks), objects[tag], objects.peeled)


def _f3_packed_refs(template: _Template) -> str:
    lines = ["# pack-refs with: peeled fully-peeled sorted \n"]
    for name in sorted(F3_PACKED):
        if name == F3_ANNOTATED_TAG:
            lines.append(f"{template.annotated_tag} {name}\n^{template.peeled[template.annotated_tag]}\n")
        else:
            lines.append(f"{template.chain[F3_PACKED[name]]} {name}\n")
    return "".join(lines)


def _write_repo(git_dir: Path, template: _Template, packed_refs_text: str, *, bare: bool) -> None:
    """What `git init` plus a clone would leave, without running git: 2,200 inits take too long."""
    pack_dir = git_dir / "objects" / "pack"
    pack_dir.mkdir(parents=True)
    (git_dir / "objects" / "info").mkdir()
    (git_dir / "refs" / "heads").mkdir(parents=True)
    (git_dir / "refs" / "tags").mkdir()
    (git_dir / "HEAD").write_text("ref: refs/heads/main\n")
    config = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n"
    config += "\tbare = true\n" if bare else "\tbare = false\n\tlogallrefupdates = true\n"
    (git_dir / "config").write_text(config)
    (git_dir / "packed-refs").write_text(packed_refs_text)
    # Hardlinks, not alternates: each repo stays self-contained and git and libgit2 read it
    # without caveats (libgit2 only follows relative alternates that start with ".").
    for source in template.pack_files:
        _link_or_copy(source, pack_dir / source.name)


def _link_or_copy(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError:  # a filesystem without hardlinks
        shutil.copy2(source, destination)


def _write_loose(git_dir: Path, template: _Template, index: int) -> str | None:
    """Loose-only refs every repo has, plus this repo's shadow (if any); return the shadow kind."""
    refs = {name: template.chain[position] for name, position in F3_LOOSE_ONLY.items()}
    shadow = F3_SHADOWS[index % 4] if index % 4 < len(F3_SHADOWS) else None
    if shadow:
        _, name, position = shadow
        refs[name] = template.chain[position]
    write_loose_refs(git_dir, refs)
    return shadow[0] if shadow else None


def _write_linked_worktrees(git_dir: Path, top: Path, template: _Template, index: int) -> tuple[list[Path], list[Path]]:
    """Two linked worktrees, admin files as `git worktree add` writes them.

    wt-a is on a branch and locked in every third repo (no reason in every sixth); wt-b is
    detached and its directory is missing (so prunable) in every fourth.
    """
    base = top.parent / f"{top.name}.worktrees"
    locked, prunable = [], []
    for name, head in (("wt-a", "ref: refs/heads/feature/f01"), ("wt-b", template.chain[33])):
        worktree = base / name
        admin = git_dir / "worktrees" / name
        admin.mkdir(parents=True)
        (admin / "HEAD").write_text(head + "\n")
        (admin / "commondir").write_text("../..\n")
        (admin / "gitdir").write_text(f"{worktree}/.git\n")
        if name == "wt-a" and index % 3 == 0:
            (admin / "locked").write_text("" if index % 6 == 0 else LOCK_REASON + "\n")
            locked.append(worktree)
        if name == "wt-b" and index % 4 == 1:
            prunable.append(worktree)
            continue  # its directory vanished
        worktree.mkdir(parents=True)
        (worktree / ".git").write_text(f"gitdir: {admin}\n")
    return locked, prunable


BUILDERS: dict[type, Callable[[Path, object], tuple[str, dict]]] = {
    StarredSpec: build_starred,
    ChangesSpec: build_changes,
    HostSpec: build_host,
}


def spec_from_key(key: str) -> StarredSpec | ChangesSpec | HostSpec:
    """The spec whose ``key`` this is (``f2-changes-200000-2000-10000-500-4``)."""
    for spec_type in BUILDERS:
        prefix = spec_type.prefix + "-"
        if key.startswith(prefix):
            return spec_type(*(int(part) for part in key[len(prefix) :].split("-")))
    raise ValueError(f"no fixture kind for {key!r}")


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.fixtures [--rebuild] [--cache DIR] KEY...``: build, print what was built.

    The benchmark runs this in a child process, so that nothing the builds allocate is in the
    runner's memory (a child's peak RSS on Linux starts from its parent's at fork).
    """
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    parser.add_argument("keys", nargs="+")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    built = {}
    for key in args.keys:
        fixture = ensure(spec_from_key(key), cache=args.cache, rebuild=args.rebuild)
        built[key] = fixture.build_seconds
    print(json.dumps(built))
    return 0


if __name__ == "__main__":  # python -m benchmarks.fixtures, from the repository's top
    raise SystemExit(main())
