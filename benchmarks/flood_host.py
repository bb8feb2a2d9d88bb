"""A host for the sync-log benchmark: a mirror whose upstream's server floods stderr.

``flood_host`` builds, with the git CLI, ``host/lib.git``: a mirror one commit behind an
upstream whose ``remote.origin.uploadpack`` is a script that prints numbered lines on stderr at
a steady rate for a while, then runs ``git-upload-pack``. git fetch runs that script with its
stderr on git's own, which a sync reads line by line into the job's buffer and log file: the
path a chatty real server's output takes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FLOOD_TICK = 0.01  # the server writes a burst every 10 ms, paced by the clock

# The upstream's upload-pack (run by the python that runs the benchmark).
FLOOD_SERVER = """\
import os, sys, time
rate, seconds, tick = {rate}, {seconds}, {tick}
per_tick = round(rate * tick)
start = time.monotonic()
number = 0
for step in range(round(seconds / tick)):
    burst = []
    for _ in range(per_tick):
        number += 1
        burst.append(f"flood line {{number}} of a chatty remote\\n")
    os.write(2, "".join(burst).encode())
    time.sleep(max(0.0, start + (step + 1) * tick - time.monotonic()))
os.execvp("git-upload-pack", ["git-upload-pack", *sys.argv[1:]])
"""


def _git(*args: str, cwd: str | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def flood_host(directory: str, rate: int, seconds: float) -> tuple[str, int]:
    """``host/lib.git``, a mirror one commit behind an upstream whose upload-pack floods; the
    host root and the number of flood lines the server will print."""
    upstream = os.path.join(directory, "upstream.git")
    host = os.path.join(directory, "host")
    _git("init", "--quiet", "--bare", "--initial-branch=main", upstream)
    tree = subprocess.run(["git", "mktree"], cwd=upstream, input="", check=True, capture_output=True, text=True).stdout.strip()
    identity = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid"}
    identity.update(GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")

    def commit(parent: str | None, message: str) -> str:
        argv = ["git", "commit-tree", tree, "-m", message] + (["-p", parent] if parent else [])
        env = dict(os.environ, **identity)
        return subprocess.run(argv, cwd=upstream, check=True, capture_output=True, text=True, env=env).stdout.strip()

    first = commit(None, "first")
    _git("update-ref", "refs/heads/main", first, cwd=upstream)
    os.makedirs(host)
    mirror = os.path.join(host, "lib.git")
    _git("clone", "--quiet", "--mirror", Path(upstream).as_uri(), mirror)
    _git("update-ref", "refs/heads/main", commit(first, "second"), cwd=upstream)
    server = os.path.join(directory, "flood-upload-pack")
    with open(server, "w") as handle:
        handle.write(f"#!{sys.executable}\n" + FLOOD_SERVER.format(rate=rate, seconds=seconds, tick=FLOOD_TICK))
    os.chmod(server, 0o755)
    _git("config", "remote.origin.uploadpack", server, cwd=mirror)
    return host, round(rate * FLOOD_TICK) * round(seconds / FLOOD_TICK)
