"""The sides ``compare`` reads: a local directory root, a manifest file, an ssh host.

ssh is started the way git starts it (``connect.c``: ``GIT_SSH_COMMAND`` through the shell, else
``GIT_SSH`` run directly, else ``ssh``), in batch mode, so the operator's ssh config, keys and
known hosts apply and nothing ever prompts. The remote runs ``gitward manifest PATH``; its output
is spooled to an anonymous temporary file (outside both sides) and read as a manifest file.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from glob import escape as glob_escape

from tui.core.discovery import Candidate, Superseded, discover_lazily
from tui.core.loose import read_loose_file
from tui.core.compare.manifest import (
    ManifestError, ManifestReader, RepoManifest, local_candidates, packed_refs_stat, read_repo, select,
)
from tui.core.model import Problem
from tui.core.compare.diff import Side


class SideError(Exception):
    """A side that cannot be read: one line for the operator."""


class LocalSide(Side):
    """A directory root. Discovered on first need: by ``names()`` and the like, or by a
    ``compare`` that consumes ``discovered_lazily()`` while its workers compare."""

    def __init__(self, root: str, repo_globs: list[str] | None = None) -> None:
        self.description = root
        self.roots = [os.path.abspath(root)]
        self.repo_globs = repo_globs
        self._candidates: dict[str, Candidate] | None = None
        self._problems: list[Problem] = []

    @property
    def candidates(self) -> dict[str, Candidate]:
        if self._candidates is None:
            candidates, self._problems = local_candidates([self.description], self.repo_globs)
            self._candidates = {c.name: c for c in candidates}
        return self._candidates

    @property
    def problems(self) -> list[Problem]:
        _ = self.candidates  # discovers the root when not done yet
        return self._problems

    def discovered_lazily(self) -> Iterator[Candidate | Superseded] | None:
        if self._candidates is not None:
            return None
        return self._discover_lazily()

    def _discover_lazily(self) -> Iterator[Candidate | Superseded]:
        # What local_candidates() lists, in its order: discover_lazily() without the candidates
        # it took back (discovery.py: a consumer that drops those sees exactly what discover() lists).
        found: list[Candidate] = []
        dropped: set[int] = set()
        problems: list[Problem] = []
        for item in discover_lazily([self.description]):
            if isinstance(item, Problem):
                problems.append(item)
            elif isinstance(item, Superseded):
                dropped.add(id(item.candidate))
                yield item
            elif select([item.name], self.repo_globs):
                found.append(item)
                yield item
        self._problems = problems
        self._candidates = {c.name: c for c in found if id(c) not in dropped}

    def names(self) -> list[str]:
        return list(self.candidates)

    def load(self, name: str, twin: RepoManifest | None = None) -> RepoManifest:
        return read_repo(self.candidates[name], twin=twin)

    def worker_ref(self, name: str) -> Candidate | None:
        return self.candidates.get(name)

    def reread_refs(self, name: str, findings: list, packed_stat) -> dict[str, str | None] | None:
        """When packed-refs is the file read before (same inode, size, mtime), only the loose files
        of the refs that differed can have changed: read those. Anything less simple (a loose
        file that appeared over or vanished from a packed value, a symbolic ref): None."""
        candidate = self.candidates.get(name)
        if candidate is None or packed_stat is None or packed_refs_stat(candidate.git_dir) != packed_stat:
            return None
        current: dict[str, str | None] = {}
        for finding in findings:
            if finding.source_storage is not None and finding.source_storage.startswith("->"):
                return None
            had_loose = finding.source_storage in ("loose", "both")
            loose = read_loose_file(os.path.join(candidate.git_dir, finding.subject), missing_ok=True)
            if loose is None:
                if had_loose:
                    return None  # now packed-only or deleted: the packed value is not at hand
                current[finding.subject] = finding.source_value  # packed-refs did not change
            elif loose.symbolic_target or loose.broken_reason:
                return None
            else:
                current[finding.subject] = loose.value
        return current

    def reload(self, names: list[str]) -> dict[str, RepoManifest]:
        # Only the refs are asked again: no checksums, hooks or worktrees.
        return {name: read_repo(self.candidates[name], refs_only=True) for name in names if name in self.candidates}


class ManifestSide(Side):
    def __init__(self, path: str, description: str | None = None) -> None:
        self.description = description or path
        try:
            self.reader = ManifestReader(path)
        except ManifestError as exc:
            raise SideError(str(exc)) from None
        except OSError as exc:
            raise SideError(f"{path}: {exc.strerror or exc}") from None
        self.roots = self.reader.roots
        self.host = self.reader.header.get("host")

    def names(self) -> list[str]:
        return self.reader.names()

    def load(self, name: str, twin: RepoManifest | None = None) -> RepoManifest:
        return self.reader.load(name)

    def worker_ref(self, name: str):
        return self.reader.line_ref(name)

    def close(self) -> None:
        self.reader.close()


@dataclass(frozen=True, slots=True)
class SshUrl:
    user: str | None
    host: str
    port: int | None
    path: str

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host


_SSH_URL = re.compile(r"ssh://(?:(?P<user>[^@/]+)@)?(?P<host>\[[^\]]+\]|[^:/]+)(?::(?P<port>\d+))?(?P<path>/.*)")


def parse_ssh_url(spec: str) -> SshUrl:
    match = _SSH_URL.fullmatch(spec)
    if match is None:
        raise SideError(f"{spec}: not an ssh://[user@]host[:port]/path URL")
    host = match["host"].strip("[]")
    if host.startswith("-"):
        raise SideError(f"{spec}: a host name cannot start with '-'")
    return SshUrl(match["user"], host, int(match["port"]) if match["port"] else None, match["path"])


def ssh_argv(url: SshUrl, remote_command: str, environ: dict[str, str] | None = None) -> list[str]:
    """The command line git would use to reach ``url``, running ``remote_command`` there."""
    env = os.environ if environ is None else environ
    options = ["-o", "BatchMode=yes"]
    if url.port is not None:
        options += ["-p", str(url.port)]
    args = [*options, url.destination, remote_command]
    ssh_command = env.get("GIT_SSH_COMMAND")
    if ssh_command:
        # git runs it through the shell with the arguments appended, as "$@".
        return ["/bin/sh", "-c", f'{ssh_command} "$@"', ssh_command, *args]
    ssh = env.get("GIT_SSH")
    if ssh:
        return [ssh, *args]
    return ["ssh", *args]


class SshSide(ManifestSide):
    def __init__(self, spec: str, repo_globs: list[str] | None = None, timeout: float | None = None) -> None:
        self.url = parse_ssh_url(spec)
        self.timeout = timeout
        self.spec = spec
        self._spool = self._fetch(repo_globs)
        try:
            super().__init__(f"/dev/fd/{self._spool.fileno()}", description=spec)
        except SideError as exc:
            raise SideError(f"{self.url.host}: the remote gitward wrote no readable manifest ({exc})") from None

    def _fetch(self, repo_globs: list[str] | None):
        command = ["gitward", "manifest", self.url.path]
        for glob in repo_globs or []:
            command += ["--repo", glob]
        remote = " ".join(shlex.quote(part) for part in command)
        spool = tempfile.TemporaryFile()
        try:
            completed = subprocess.run(
                ssh_argv(self.url, remote), stdin=subprocess.DEVNULL, stdout=spool, stderr=subprocess.PIPE,
                timeout=self.timeout, check=False,
            )
        except FileNotFoundError as exc:
            spool.close()
            raise SideError(f"cannot start ssh for {self.url.host}: {exc.strerror}") from None
        except subprocess.TimeoutExpired:
            spool.close()
            raise SideError(f"{self.url.host}: no manifest after {self.timeout} s") from None
        if completed.returncode != 0:
            spool.close()
            stderr = completed.stderr.decode("utf-8", "replace").strip()
            last = stderr.splitlines()[-1] if stderr else ""
            if completed.returncode == 127 or "command not found" in stderr or "gitward: not found" in stderr:
                raise SideError(f"{self.url.host}: gitward is not installed there (or not on the ssh session's PATH)")
            raise SideError(f"{self.url.host}: 'gitward manifest' over ssh failed (exit {completed.returncode}): {last}")
        spool.seek(0)
        return spool

    def reload(self, names: list[str]) -> dict[str, RepoManifest] | None:
        try:
            again = SshSide(self.spec, [glob_escape(name) for name in names], self.timeout)
        except SideError:
            return None
        try:
            return {name: again.load(name) for name in again.names()}
        finally:
            again.close()

    def close(self) -> None:
        super().close()
        self._spool.close()


def open_side(spec: str, repo_globs: list[str] | None = None) -> Side:
    """A directory root, a manifest file, or ``ssh://[user@]host[:port]/path``."""
    if spec.startswith("ssh://"):
        return SshSide(spec, repo_globs)
    if os.path.isdir(spec):
        return LocalSide(spec, repo_globs)
    if os.path.isfile(spec):
        return ManifestSide(spec)
    if not os.path.exists(spec):
        raise SideError(f"{spec}: no such directory or manifest file")
    raise SideError(f"{spec}: neither a directory nor a manifest file")
