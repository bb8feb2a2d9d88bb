"""A host's repositories as the source sees them: read from disk, written and read as JSON Lines.

The manifest file (``gitward manifest ROOT... -o FILE``) is JSON Lines, so a 2,200-repository host
is written and read one repository at a time:

- line 1, the header: ``{"format": "gitward-manifest", "version": 1, "created": <epoch>,
  "host": <hostname>, "roots": [...], "ref_fields": [...]}``;
- then one line per repository (``RepoManifest.to_json()``), whose first key is ``name`` (the
  path relative to its root), so a reader can index the file without decoding every line.

Each ref is an array in ``REF_FIELDS`` order. Reading a manifest back gives the same
``RepoManifest`` a local read gives, with a ``RefSnapshot`` rebuilt from the rows, so ``compare``
handles a directory, a file and an ssh host the same way.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

from tui.core import problems as analysis
from tui.core.compare.checksum import gitaly_checksum_reusing, storage_checksum
from tui.core.discovery import Candidate, discover
from tui.core.fsutil import read_bytes, replacing
from tui.core.gitconfig import GitConfig, read_config, repo_settings
from tui.core.loose import LooseRef, LooseWalk
from tui.core.model import Layout, Problem
from tui.core.packed import PackedRefs
from tui.core.redact import redact_url
from tui.core.refstore import HEX_WIDTH, RefSnapshot, iter_refs, read_snapshot, reftable_in_use
from tui.core.worktrees import linked_worktree_entries

FORMAT = "gitward-manifest"
VERSION = 1
REF_FIELDS = ("name", "value", "source", "loose_value", "packed_value", "peeled", "symbolic_target", "broken_reason")

# Config keys worth comparing between a source and its copy (sections whose every key counts,
# and single keys). Remote URLs are redacted before they are kept.
CONFIG_SECTIONS = ("extensions", "gc", "receive")
CONFIG_KEYS = (("core", "repositoryformatversion"), ("core", "bare"), ("core", "sharedrepository"))
REMOTE_KEYS = ("url", "pushurl", "fetch", "mirror")


class ManifestError(Exception):
    """A manifest that cannot be read: not ours, a newer version, or truncated."""


@dataclass(frozen=True, slots=True)
class TempFile:
    """A lock or temporary file, as a copy made mid-write would carry it."""

    path: str  # relative to the git dir
    kind: str  # "packed-refs.lock", "packed-refs.new", "ref", "tmp_objdir", ...
    age_seconds: float

    def to_json(self) -> dict:
        return {"path": self.path, "kind": self.kind, "age_seconds": round(self.age_seconds, 1)}


@dataclass(frozen=True, slots=True)
class Hook:
    name: str
    sha256: str | None  # None: unreadable
    executable: bool

    def to_json(self) -> dict:
        return {"name": self.name, "sha256": self.sha256, "executable": self.executable}


@dataclass(frozen=True, slots=True)
class Alternate:
    path: str  # as written in objects/info/alternates
    resolved: str  # absolute, where the manifest was made
    exists: bool  # a directory there, where the manifest was made

    def to_json(self) -> dict:
        return {"path": self.path, "resolved": self.resolved, "exists": self.exists}


@dataclass(frozen=True, slots=True)
class WorktreeAdmin:
    id: str
    path: str  # the worktree's directory, from its admin dir's gitdir file
    exists: bool  # where the manifest was made
    locked: bool

    def to_json(self) -> dict:
        return {"id": self.id, "path": self.path, "exists": self.exists, "locked": self.locked}


@dataclass(slots=True)
class RepoManifest:
    """One repository: its refs (as a ``RefSnapshot``) and the files a copy must carry."""

    name: str  # path relative to its root: how two sides are matched
    root: str
    path: str
    git_dir: str
    layout: str
    object_format: str = "sha1"
    ref_storage: str = "files"
    snapshot: RefSnapshot | None = None  # None: refs unreadable here (reftable, errors)
    gitaly_checksum: str | None = None
    storage_checksum: str | None = None
    temp_files: list[TempFile] = field(default_factory=list)
    config: dict[str, list[str]] = field(default_factory=dict)
    hooks: dict[str, Hook] = field(default_factory=dict)
    alternates: list[Alternate] = field(default_factory=list)
    worktrees: list[WorktreeAdmin] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    local: bool = False  # True: git_dir is on this machine (its object store can be read)
    # (inode, size, mtime_ns) of packed-refs taken before it was read; None: absent or remote.
    # Not in the JSON: it only lets a local re-read skip an unchanged packed-refs.
    packed_refs_stat: tuple[int, int, int] | None = None
    # Not in the JSON either: Gitaly's checksum before its object check, for a twin to reuse.
    gitaly_lines_checksum: str | None = None

    def to_json(self) -> dict:
        snapshot = self.snapshot
        head = None
        refs = []
        if snapshot is not None:
            if snapshot.head is not None:
                h = snapshot.head
                head = {"value": h.value, "symbolic_target": h.symbolic_target, "broken_reason": h.broken_reason,
                        "resolved": snapshot.resolve("HEAD")}
            refs = [
                [r.name, r.value, r.source.value, r.loose_value, r.packed_value, r.peeled, r.symbolic_target,
                 r.broken_reason]
                for r in iter_refs(snapshot, include_head=False)
            ]
        return {
            "name": self.name,  # first: the reader indexes lines by it
            "root": self.root,
            "path": self.path,
            "git_dir": self.git_dir,
            "layout": self.layout,
            "object_format": self.object_format,
            "ref_storage": self.ref_storage,
            "refs_readable": snapshot is not None,
            "gitaly_checksum": self.gitaly_checksum,
            "storage_checksum": self.storage_checksum,
            "head": head,
            "refs": refs,
            "temp_files": [t.to_json() for t in self.temp_files],
            "config": self.config,
            "hooks": [h.to_json() for h in self.hooks.values()],
            "alternates": [a.to_json() for a in self.alternates],
            "worktrees": [w.to_json() for w in self.worktrees],
            "errors": self.errors,
        }

    @classmethod
    def from_json(cls, data: dict) -> RepoManifest:
        snapshot = None
        if data.get("refs_readable"):
            snapshot = _snapshot_from_rows(data.get("head"), data.get("refs") or [], data.get("object_format", "sha1"))
        return cls(
            name=data["name"],
            root=data.get("root", ""),
            path=data.get("path", ""),
            git_dir=data.get("git_dir", ""),
            layout=data.get("layout", ""),
            object_format=data.get("object_format", "sha1"),
            ref_storage=data.get("ref_storage", "files"),
            snapshot=snapshot,
            gitaly_checksum=data.get("gitaly_checksum"),
            storage_checksum=data.get("storage_checksum"),
            temp_files=[TempFile(t["path"], t["kind"], float(t["age_seconds"])) for t in data.get("temp_files", [])],
            config={k: list(v) for k, v in (data.get("config") or {}).items()},
            hooks={h["name"]: Hook(h["name"], h.get("sha256"), bool(h.get("executable"))) for h in data.get("hooks", [])},
            alternates=[Alternate(a["path"], a.get("resolved", a["path"]), bool(a.get("exists"))) for a in data.get("alternates", [])],
            worktrees=[WorktreeAdmin(w["id"], w["path"], bool(w.get("exists")), bool(w.get("locked"))) for w in data.get("worktrees", [])],
            errors=list(data.get("errors", [])),
            local=False,
        )


def _snapshot_from_rows(head: dict | None, rows: list, object_format: str) -> RefSnapshot:
    packed = PackedRefs(exists=True)
    values = packed.values  # a plain dict until a file is parsed: filled in row (byte) order
    peeled = packed.peeled
    loose: dict[str, LooseRef] = {}
    for name, _value, source, loose_value, packed_value, peeled_value, symbolic_target, broken_reason in rows:
        if packed_value is not None:
            values[name] = packed_value
            if peeled_value is not None:
                peeled[name] = peeled_value
        if source != "packed":
            loose[name] = LooseRef(loose_value, symbolic_target, broken_reason)
    head_ref = None
    if head is not None:
        head_ref = LooseRef(head.get("value"), head.get("symbolic_target"), head.get("broken_reason"))
    return RefSnapshot(git_dir="", packed=packed, loose=LooseWalk(refs=loose), head=head_ref,
                       hex_width=HEX_WIDTH.get(object_format, 40))


# --- reading a repository from disk ------------------------------------------------------------


def read_repo(candidate: Candidate, now: float | None = None, *, objects=None, refs_only: bool = False,
              twin: RepoManifest | None = None) -> RepoManifest:
    """Read one repository. Never raises for bad input: what failed goes into ``errors``.

    ``objects``: an ``ObjectStore`` for the object checks of Gitaly's checksum (opened here
    when None). ``refs_only``: the refs alone (no checksums, files, hooks, worktrees).
    ``twin``: the same repository read on the other side of a comparison: when its refs are
    stored alike (same storage checksum and object format), Gitaly's lines are not hashed again.
    """
    now = time.time() if now is None else now
    git_dir = candidate.git_dir
    manifest = RepoManifest(
        name=candidate.name, root=candidate.root, path=candidate.path, git_dir=git_dir,
        layout=candidate.layout.value, local=True,
    )
    config, config_error = read_config(f"{git_dir}/config")
    if config_error:
        manifest.errors.append(f"config: {config_error}")
    settings = repo_settings(config)
    manifest.object_format = settings.object_format
    manifest.ref_storage = settings.ref_storage
    manifest.config = chosen_config(config)
    try:
        if reftable_in_use(git_dir, settings.ref_storage):
            manifest.ref_storage = "reftable"
            manifest.errors.append("reftable ref storage: gitward reads only loose files and packed-refs")
        else:
            manifest.packed_refs_stat = packed_refs_stat(git_dir)
            # may_fork: a large packed-refs is parsed while a child walks the loose refs (only
            # in a single-threaded process; read_snapshot checks).
            snapshot = read_snapshot(git_dir, settings.object_format, may_fork=True)
            manifest.snapshot = snapshot
            for path, message in snapshot.loose.errors:
                manifest.errors.append(f"{path}: {message}")
            if refs_only:
                return manifest
            if objects is None:
                from tui.core.compare.objectstore import ObjectStore  # opened lazily, only if needed

                objects = ObjectStore(git_dir)
            manifest.storage_checksum = storage_checksum(snapshot)
            same = (twin is not None and twin.storage_checksum == manifest.storage_checksum
                    and twin.object_format == manifest.object_format)
            manifest.gitaly_checksum, manifest.gitaly_lines_checksum = gitaly_checksum_reusing(
                snapshot, objects.any_missing, twin.gitaly_lines_checksum if same else None)
    except OSError as exc:
        manifest.snapshot = None
        manifest.errors.append(f"{exc.filename or git_dir}: {exc.strerror or exc}")
    bare = candidate.layout is Layout.BARE or (candidate.layout is Layout.GIT_SYNC and candidate.path == git_dir)
    # One listing of the git dir says which of worktrees/, hooks/ and the lock files exist
    # (None: it cannot be listed; then each is tried).
    names = analysis.list_names(git_dir)
    worktree_dirs = _read_worktrees(manifest, candidate, bare, names is None or "worktrees" in names)
    manifest.temp_files = _temp_files(git_dir, manifest.snapshot, now, worktree_dirs, names)
    manifest.hooks = _hooks(git_dir) if names is None or "hooks" in names else {}
    manifest.alternates = _alternates(git_dir)
    return manifest


def packed_refs_stat(git_dir: str) -> tuple[int, int, int] | None:
    """What changes when packed-refs is rewritten (git renames a new file into place)."""
    try:
        st = os.stat(os.path.join(git_dir, "packed-refs"))
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def chosen_config(config: GitConfig) -> dict[str, list[str]]:
    """The config keys a copy must agree on, ``section[.subsection].key`` -> values (redacted)."""
    chosen: dict[str, list[str]] = {}
    for entry in config.entries:
        section, subsection, key = entry.section, entry.subsection, entry.key
        value = entry.value if entry.value is not None else "true"
        if section in CONFIG_SECTIONS or (section, key) in CONFIG_KEYS and subsection is None:
            pass
        elif section == "remote" and subsection is not None and key in REMOTE_KEYS:
            if key in ("url", "pushurl"):
                value = redact_url(value)
        else:
            continue
        name = f"{section}.{subsection}.{key}" if subsection is not None else f"{section}.{key}"
        chosen.setdefault(name, []).append(value)
    return chosen


def _read_worktrees(manifest: RepoManifest, candidate: Candidate, bare: bool, admin_dir_listed: bool) -> dict[str, str]:
    main_path = candidate.git_dir if bare else candidate.path
    try:
        worktrees = linked_worktree_entries(candidate.git_dir, main_path=main_path, admin_dir_listed=admin_dir_listed)
    except OSError as exc:
        manifest.errors.append(f"worktrees: {exc.strerror or exc}")
        return {}
    admin = os.path.join(candidate.git_dir, "worktrees")
    dirs = {}
    for worktree in worktrees:
        dirs[worktree.id] = os.path.join(admin, worktree.id)
        manifest.worktrees.append(
            WorktreeAdmin(worktree.id, worktree.path, bool(worktree.path) and not worktree.missing, worktree.locked)
        )
    return dirs


def _temp_files(git_dir: str, snapshot: RefSnapshot | None, now: float, worktree_dirs: dict[str, str],
                git_dir_names: list[str] | None) -> list[TempFile]:
    loose = snapshot.loose if snapshot is not None else LooseWalk()
    found = [TempFile(lock.path, lock.kind, lock.age_seconds)
             for lock in analysis.collect_locks(git_dir, loose, now, worktree_dirs, git_dir_names)]
    objects_dir = os.path.join(git_dir, "objects")
    for name in sorted(analysis.list_names(objects_dir) or []):
        # git's tmp_objdir: objects received by a push that was not finished (or copied mid-push).
        if name.startswith("tmp_objdir"):
            try:
                mtime = os.lstat(os.path.join(objects_dir, name)).st_mtime
            except OSError:
                continue
            found.append(TempFile(f"objects/{name}", "tmp_objdir", max(0.0, now - mtime)))
    return found


def _hooks(git_dir: str) -> dict[str, Hook]:
    """Hooks git could run: regular files in hooks/ except git's ``*.sample`` templates."""
    hooks_dir = os.path.join(git_dir, "hooks")
    hooks: dict[str, Hook] = {}
    for name in sorted(analysis.list_names(hooks_dir) or []):
        if name.endswith(".sample") or name.startswith("."):
            continue
        path = os.path.join(hooks_dir, name)
        try:
            st = os.stat(path)
        except OSError:
            hooks[name] = Hook(name, None, False)
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        try:
            digest = hashlib.sha256(read_bytes(path, limit=64 << 20)).hexdigest()
        except OSError:
            digest = None
        hooks[name] = Hook(name, digest, bool(st.st_mode & 0o111))
    return hooks


def _alternates(git_dir: str) -> list[Alternate]:
    objects_dir = os.path.join(git_dir, "objects")
    try:
        data = read_bytes(os.path.join(objects_dir, "info", "alternates"))
    except OSError:
        return []
    found = []
    for raw in data.decode("utf-8", "surrogateescape").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        resolved = os.path.normpath(line if os.path.isabs(line) else os.path.join(objects_dir, line))
        found.append(Alternate(line, resolved, os.path.isdir(resolved)))
    return found


# --- a host: many repositories, streamed ---------------------------------------------------------


def select(candidates_or_names, repo_globs: list[str] | None, name=lambda item: item):
    if not repo_globs:
        return list(candidates_or_names)
    return [item for item in candidates_or_names if any(fnmatch.fnmatchcase(name(item), g) for g in repo_globs)]


def local_candidates(roots: list[str], repo_globs: list[str] | None = None) -> tuple[list[Candidate], list[Problem]]:
    candidates: list[Candidate] = []
    problems: list[Problem] = []
    for found in discover(roots):
        if isinstance(found, Problem):
            problems.append(found)
        else:
            candidates.append(found)
    return select(candidates, repo_globs, name=lambda c: c.name), problems


def header(roots: list[str], now: float | None = None) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": time.time() if now is None else now,
        "host": socket.gethostname(),
        "roots": [os.path.abspath(r) for r in roots],
        "ref_fields": list(REF_FIELDS),
    }


def write_manifest(
    roots: list[str],
    out: IO[str],
    *,
    repo_globs: list[str] | None = None,
    cancel: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the manifest of ``roots`` to ``out``, one repository at a time. Returns the count."""
    candidates, problems = local_candidates(roots, repo_globs)
    now = time.time()
    head = header(roots, now)
    head["problems"] = [p.to_json() for p in problems]
    out.write(_encode(head) + "\n")
    written = 0
    for lines in _encoded_chunks(candidates, now, cancel):
        for line in lines:
            out.write(line + "\n")
        written += len(lines)
        if progress is not None:
            progress(written, len(candidates))
    return written


_encode = json.JSONEncoder(separators=(",", ":")).encode

# As for scan: below this many repositories a process pool costs more than it saves.
PARALLEL_THRESHOLD = 48
CHUNK_SIZE = 32


def _manifest_chunk(candidates: list[Candidate], now: float) -> list[str]:
    # Encoded in the worker: a string pickles faster than a tree of objects.
    return [_encode(read_repo(candidate, now).to_json()) for candidate in candidates]


def _encoded_chunks(candidates: list[Candidate], now: float, cancel: threading.Event | None) -> Iterator[list[str]]:
    """Encoded repository lines, a chunk at a time (in worker processes when it pays and when
    this process runs no other thread). Order is not kept: readers index lines by name."""
    jobs = os.cpu_count() or 1
    if jobs == 1 or len(candidates) < PARALLEL_THRESHOLD or threading.active_count() > 1:
        for candidate in candidates:
            if cancel is not None and cancel.is_set():
                raise InterruptedError("cancelled")
            yield _manifest_chunk([candidate], now)
        return
    # deferred: only a run with several processes needs the process pool
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    chunks = [candidates[i : i + CHUNK_SIZE] for i in range(0, len(candidates), CHUNK_SIZE)]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        pending = {pool.submit(_manifest_chunk, chunk, now) for chunk in chunks}
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                if cancel is not None and cancel.is_set():
                    raise InterruptedError("cancelled")
        finally:
            for future in pending:
                future.cancel()


def write_manifest_file(path: str, roots: list[str], **kwargs) -> int:
    """``write_manifest`` to ``path`` atomically (fsutil.replacing: temp file, fsync, rename)."""
    with replacing(path) as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape")
        count = write_manifest(roots, out, **kwargs)
        out.flush()
        out.detach()  # the raw file stays open for replacing's fsync
    return count


def _load_line(handle, offset: int) -> RepoManifest:
    handle.seek(offset)
    line = handle.readline().decode("utf-8", "surrogateescape")
    return RepoManifest.from_json(json.loads(line))


@dataclass(frozen=True, slots=True)
class ManifestLine:
    """One repository's line in a manifest file (picklable: worker processes read it themselves)."""

    path: str
    offset: int

    def load(self) -> RepoManifest:
        with open(self.path, "rb") as handle:
            return _load_line(handle, self.offset)


class ManifestReader:
    """A manifest file, indexed by repository name; each repository decoded only when asked for."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = open(path, "rb")  # noqa: SIM115 (closed by close())
        first = self._file.readline()
        try:
            self.header = json.loads(first)
        except ValueError as exc:
            self.close()
            raise ManifestError(f"{path}: not a gitward manifest (first line is not JSON)") from exc
        if not isinstance(self.header, dict) or self.header.get("format") != FORMAT:
            self.close()
            raise ManifestError(f"{path}: not a gitward manifest")
        if self.header.get("version") != VERSION:
            self.close()
            raise ManifestError(f"{path}: manifest version {self.header.get('version')!r}; this gitward reads {VERSION}")
        self.offsets: dict[str, int] = {}
        decoder = json.JSONDecoder()
        while True:
            offset = self._file.tell()
            line = self._file.readline()
            if not line:
                break
            if not line.endswith(b"\n"):
                raise ManifestError(f"{path}: truncated (last line incomplete)")
            text = line.decode("utf-8", "surrogateescape")
            if not text.startswith('{"name":'):
                raise ManifestError(f"{path}: line without a repository name at byte {offset}")
            name, _ = decoder.raw_decode(text, len('{"name":'))
            self.offsets[name] = offset

    @property
    def roots(self) -> list[str]:
        return list(self.header.get("roots", []))

    def names(self) -> list[str]:
        return list(self.offsets)

    def load(self, name: str) -> RepoManifest:
        return _load_line(self._file, self.offsets[name])

    def line_ref(self, name: str) -> ManifestLine:
        """Where ``name`` is, for a worker process to read it itself."""
        return ManifestLine(self.path, self.offsets[name])

    def __iter__(self) -> Iterator[RepoManifest]:
        for name in self.offsets:
            yield self.load(name)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ManifestReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
