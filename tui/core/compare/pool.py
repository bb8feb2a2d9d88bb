"""``compare`` in worker processes: each worker reads both sides of a chunk of repositories
(``diff._compare_chunk``, passed in: that module imports this one when it needs a pool).

Two ways in. ``compare_in_processes``: the pairs are known (a manifest side, or sides already
discovered). ``compare_while_discovering``: two local directories, discovered here while the
workers compare the pairs found so far, as ``scan`` overlaps its discovery with its workers:
discovering both 2,200-repository hosts first took ~0.5 s of CPU in this process alone, with
the workers not started yet.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from typing import TYPE_CHECKING

from tui.core.compare.manifest import select
from tui.core.discovery import Candidate, Superseded

if TYPE_CHECKING:  # diff imports this module (lazily); the worker function comes from there
    from tui.core.compare.diff import Comparison

# (name, source handle or None, replica handle or None): a Candidate or a ManifestLine
Pair = tuple[str, object, object]
ChunkWorker = Callable[[list[Pair]], list]
CHUNK_SIZE = 32


def _pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"))


def compare_in_processes(pairs: list[Pair], chunk_worker: ChunkWorker, jobs: int, result: Comparison, cancel,
                         progress) -> None:
    chunks = [pairs[i : i + CHUNK_SIZE] for i in range(0, len(pairs), CHUNK_SIZE)]
    done_count = 0
    with _pool(jobs) as pool:
        pending = {pool.submit(chunk_worker, chunk) for chunk in chunks}
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    for repo in future.result():
                        result.repos.append(repo)
                        done_count += 1
                        if progress is not None:
                            progress(done_count, len(pairs), repo.name)
                if cancel is not None and cancel.is_set():
                    result.cancelled = True
                    return
        finally:
            for future in pending:
                future.cancel()
    result.repos.sort(key=lambda r: r.name)


class _Pairing:
    """Candidates of both sides as discovery yields them, paired by name as soon as both have one.

    A ``Superseded(earlier)`` takes ``earlier`` back (a separate git dir reached first as a bare
    directory, then through its work tree): a pair sent with it is compared again at the end,
    and its first answer dropped. What counts is ``final()``: exactly what ``discover()`` lists.
    """

    def __init__(self, repo_globs: list[str] | None) -> None:
        self.repo_globs = repo_globs
        self.current: tuple[dict[str, Candidate], dict[str, Candidate]] = ({}, {})
        self.sent: dict[str, tuple[Candidate, Candidate]] = {}
        self.ready: list[Pair] = []

    def take(self, side: int, item) -> None:
        mine = self.current[side]
        if isinstance(item, Superseded):
            if mine.get(item.candidate.name) is item.candidate:
                del mine[item.candidate.name]
            return
        if not isinstance(item, Candidate) or not select([item.name], self.repo_globs):
            return
        name = item.name
        mine[name] = item
        other = self.current[1 - side].get(name)
        if other is not None and name not in self.sent:
            pair = (item, other) if side == 0 else (other, item)
            self.sent[name] = pair
            self.ready.append((name, *pair))

    def names(self) -> set[str]:
        return self.current[0].keys() | self.current[1].keys()

    def final(self) -> dict[str, tuple[Candidate | None, Candidate | None]]:
        source, replica = self.current
        return {name: (source.get(name), replica.get(name)) for name in sorted(self.names())}

    def unsent(self, final: dict) -> list[Pair]:
        """The final pairs not sent as they are now (one side only, or taken back)."""
        return [(name, *pair) for name, pair in final.items() if not _same(self.sent.get(name), pair)]


def _same(sent: tuple | None, pair: tuple) -> bool:
    return sent is not None and sent[0] is pair[0] and sent[1] is pair[1]


def _interleaved(source: Iterable, replica: Iterable) -> Iterator[tuple[int, object]]:
    """(0, item) and (1, item), one from each side in turn: a copy is walked in the same order,
    so a name is usually found on both sides within a few items."""
    live = [(0, iter(source)), (1, iter(replica))]
    while live:
        for entry in list(live):
            side, items = entry
            try:
                yield side, next(items)
            except StopIteration:
                live.remove(entry)


def compare_while_discovering(
    source_found: Iterable,
    replica_found: Iterable,
    chunk_worker: ChunkWorker,
    repo_globs: list[str] | None,
    jobs: int,
    threshold: int,
    result: Comparison,
    cancel: threading.Event | None,
    progress: Callable[[int, int, str], None] | None,
) -> bool:
    """Discover both sides (``Side.discovered_lazily()``) and compare in workers meanwhile.

    Returns False, with both sides fully discovered and nothing compared, when there are fewer
    than ``threshold`` repositories (the caller then compares them in this process).
    The answer is the one ``compare_in_processes`` gives for the pairs ``discover()`` lists.
    """
    pairing = _Pairing(repo_globs)
    found = _interleaved(source_found, replica_found)
    for side, item in found:
        pairing.take(side, item)
        if len(pairing.names()) >= threshold:
            break
    else:
        if len(pairing.names()) < threshold:
            return False
    queued: list[tuple[Future, list[Pair]]] = []
    with _pool(jobs) as pool:
        try:
            for side, item in found:
                pairing.take(side, item)
                if len(pairing.ready) >= CHUNK_SIZE:
                    queued.append((pool.submit(chunk_worker, pairing.ready), pairing.ready))
                    pairing.ready = []
                if cancel is not None and cancel.is_set():
                    result.cancelled = True
                    return True
            final = pairing.final()
            rest = pairing.ready + pairing.unsent(final)
            for i in range(0, len(rest), CHUNK_SIZE):
                chunk = rest[i : i + CHUNK_SIZE]
                queued.append((pool.submit(chunk_worker, chunk), chunk))
            done_count = 0
            for future, chunk in queued:
                while not future.done():
                    wait([future], timeout=0.2)
                    if cancel is not None and cancel.is_set():
                        result.cancelled = True
                        return True
                for (name, source_candidate, replica_candidate), repo in zip(chunk, future.result(), strict=True):
                    if _same(final.get(name), (source_candidate, replica_candidate)):
                        result.repos.append(repo)
                        done_count += 1
                        if progress is not None:
                            progress(done_count, len(final), name)
        finally:
            for future, _ in queued:
                future.cancel()
    result.repos.sort(key=lambda r: r.name)
    return True
