"""Commit histories the stories share: a linear topic history, Gerrit's refs/meta/config,
and a Gerrit change (patch sets and its NoteDB meta history)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from tui.demo.plumbing import FastImport, GERRIT_SERVER, Objects, change_ref


def linear_history(fi: FastImport, topic: str, count: int, *, base: int | None = None) -> list[int]:
    commits = []
    parent = base
    for i in range(1, count + 1):
        files = {f"src/{topic}.txt": f"{topic} step {i}\n".encode()}
        if parent is None:
            files["README.md"] = f"# {topic}\n".encode()
        parent = fi.commit(f"{topic}: step {i}\n", parents=[] if parent is None else [parent], files=files)
        commits.append(parent)
    return commits


def meta_config_history(fi: FastImport, count: int) -> list[int]:
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


class GerritChange:
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
