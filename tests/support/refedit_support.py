"""Builders shared by the write-path tests (no tests in here; the name keeps it with them).

Real repositories made with the git CLI; shadows made the way the migration incident made
them: refs packed by ``git pack-refs``, then older (or newer) loose files written next to them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gitrepo import commit_chain, git, init_bare, rev_parse, run_git, write_loose

ROOT = Path(__file__).resolve().parents[2]

# name -> (loose value key, packed value key, verdict) over a chain c0..c5 and an unrelated u1
SHADOW_KINDS = {
    "stale": ("refs/heads/stale", "c2", "c4", "stale-loose"),
    "meta": ("refs/changes/01/1/meta", "c1", "c5", "stale-loose"),
    "dead": ("refs/heads/dead", "c3", "c1", "dead-packed"),
    "same": ("refs/heads/same", "c3", "c3", "identical"),
    "diverged": ("refs/heads/diverged", "u1", "c2", "diverged"),
    "undecidable": ("refs/tags/odd", "tree", "c2", "undecidable"),
    "broken": ("refs/heads/broken", "garbage", "c2", "broken-loose"),
    "missing": ("refs/heads/missing", "nowhere", "c2", "missing-object"),
}
CLEAN_KINDS = ("stale", "meta", "dead", "same", "diverged", "undecidable")  # git fsck stays clean


@dataclass
class ShadowRepo:
    path: Path  # a bare repository: the git dir
    values: dict[str, str] = field(default_factory=dict)  # c0..c5, u0, u1, tree
    shadows: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # name -> (loose, packed, verdict)

    @property
    def git_dir(self) -> str:
        return str(self.path)


def build_shadows(tmp_path: Path, kinds=CLEAN_KINDS, *, name: str = "repo.git", log_refs: bool = False) -> ShadowRepo:
    """A bare repository with an annotated tag, packed-only and loose-only refs, and one
    shadow per kind in ``kinds`` (see SHADOW_KINDS)."""
    path = init_bare(tmp_path / name)
    if log_refs:
        git(path, "config", "core.logAllRefUpdates", "true")
    chain = commit_chain(path, 6)
    side = commit_chain(path, 2, branch="unrelated", message="u")
    values = {f"c{i}": oid for i, oid in enumerate(chain)}
    values.update({f"u{i}": oid for i, oid in enumerate(side)})
    values["tree"] = git(path, "rev-parse", f"{chain[2]}^{{tree}}").strip()
    values["nowhere"] = "1234567890abcdef1234567890abcdef12345678"
    git(path, "tag", "-a", "-m", "release", "v1", chain[3])
    git(path, "update-ref", "refs/heads/plain", chain[0])
    repo = ShadowRepo(path, values)
    for kind in kinds:
        ref, _loose, packed, verdict = SHADOW_KINDS[kind]
        git(path, "update-ref", ref, values[packed])
    git(path, "pack-refs", "--all", "--prune")
    for kind in kinds:
        ref, loose, packed, verdict = SHADOW_KINDS[kind]
        content = b"this is not an object id\n" if loose == "garbage" else values[loose]
        write_loose(path, ref, content)
        repo.shadows[ref] = (values.get(loose, "garbage"), values[packed], verdict)
    git(path, "update-ref", "refs/heads/onlyloose", chain[1])
    return repo


# Root without the capabilities that let it ignore file permissions: permission errors happen.
WITHOUT_DAC_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def run_cli(*args, env: dict | None = None, input: str | None = None, wrap: list[str] = (), cwd=None):
    """``python -m tui.cli.write ARGS`` as a subprocess (the CLI as operators run it)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [*wrap, sys.executable, "-m", "tui.cli.write", *map(str, args)],
        cwd=cwd or ROOT,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ref_files(git_dir: str | Path) -> dict[str, bytes]:
    """Every file that holds ref state (packed-refs, refs/, logs/, lock files), by relative path."""
    base = Path(git_dir)
    files = {}
    for top in ("packed-refs", "packed-refs.lock", "packed-refs.new"):
        if (base / top).exists():
            files[top] = (base / top).read_bytes()
    for sub in ("refs", "logs"):
        for path in sorted((base / sub).rglob("*")):
            if path.is_file():
                files[str(path.relative_to(base))] = path.read_bytes()
    return files


resolve = rev_parse  # what git resolves ``name`` to, None when it does not resolve


def fsck_errors(git_dir: str | Path) -> str:
    """git fsck's complaints ('' when clean)."""
    result = run_git(git_dir, "fsck", "--no-progress", text=True)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if not line.startswith(("dangling", "notice"))]
    if result.returncode != 0 and not lines:
        lines.append(f"git fsck exited {result.returncode}")
    return "\n".join(lines)
