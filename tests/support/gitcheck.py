"""Cross-check a built tree (the demo host, the benchmark fixtures) with the git CLI.

The environment is fixed when the test module is imported: the caller's, without any GIT_*
variable, plus a config-free, English-speaking git.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_DATE": "@1709280000 +0000",
    "GIT_COMMITTER_DATE": "@1709280000 +0000",
    "LC_ALL": "C",
}


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *args], env=GIT_ENV, capture_output=True, text=True, check=check)


def is_ancestor(repo: Path, older: str, newer: str) -> bool:
    return git(repo, "merge-base", "--is-ancestor", older, newer, check=False).returncode == 0


def for_each_ref(repo: Path, *patterns: str) -> dict[str, str]:
    """{ref name: object id} as ``git for-each-ref`` lists them."""
    out = git(repo, "for-each-ref", "--format=%(objectname) %(refname)", *patterns).stdout
    return {name: oid for oid, name in (line.split(" ", 1) for line in out.splitlines())}
