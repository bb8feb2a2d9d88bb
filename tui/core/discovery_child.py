"""The rest of a host's discovery walked in a child process, its items read back through a pipe.

The console scans in a thread of its own process: discovery there (~0.2-0.3 s of CPU on F3's
2,200 repositories, os.scandir and classification in Python) held the GIL the event loop
needed while rows streamed in, and each step of the loop waited for it. Forked, the child
goes on with the very generator the scan started (its position in the tree, what it saw), so
nothing is walked twice and the items come in the order they would have come.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

__all__ = ["STILL_WALKING", "discovered_in_child"]

STILL_WALKING = object()  # no item for a moment: the caller can collect results meanwhile
SEND_EVERY = 0.02  # seconds: a found repository reaches the scan this soon, at the latest
SEND_ITEMS = 32  # or as soon as this many were found (a worker's chunk)
POLL_SECONDS = 0.05


def discovered_in_child(found: Iterator, context: Any) -> Iterator:
    """The items ``found`` (a discovery generator, partly consumed or not) has left, walked in a
    forked child of ``context`` (a ``fork`` multiprocessing context); in between,
    ``STILL_WALKING`` when none came for POLL_SECONDS. An exception the walk raised is raised
    here. Closing this generator stops the child.

    The child keeps the caller's priority. Niced like the scan's workers, it fed them too
    slowly on a busy machine: at 20,000 repositories the listing took 61-84 s instead of
    43-55 s, and the event loop's lag p99 was 96 ms instead of 34-48 ms (one tui_bench listing
    each, alternated; at nice 0 the next pair: 49 s and 46 ms against 63 s and 70 ms)."""
    receiver, sender = context.Pipe(duplex=False)
    walker = context.Process(target=_walk, args=(found, sender), name="gitward-discovery", daemon=True)
    walker.start()
    sender.close()  # the child's end: EOF here when the child is gone
    try:
        while True:
            if not receiver.poll(POLL_SECONDS):
                yield STILL_WALKING
                continue
            try:
                items = receiver.recv()
            except EOFError:
                raise RuntimeError(f"the discovery process ended early (exit code {walker.exitcode})") from None
            if items is None:
                return
            if isinstance(items, BaseException):
                raise items
            yield from items
    finally:
        receiver.close()
        if walker.is_alive():
            walker.terminate()
        walker.join()


def _walk(found: Iterator, sender: Any) -> None:
    """In the child: send what ``found`` yields, in batches, then None (or the exception)."""
    batch: list = []
    sent = time.monotonic()
    try:
        for item in found:
            batch.append(item)
            if len(batch) >= SEND_ITEMS or time.monotonic() - sent >= SEND_EVERY:
                sender.send(batch)
                batch = []
                sent = time.monotonic()
        sender.send(batch)
        sender.send(None)
    except Exception as exc:  # the scan's caller reports it, as it would from an in-process walk
        try:
            sender.send(exc)
        except Exception:
            sender.send(RuntimeError(f"{type(exc).__name__}: {exc}"))  # could not be pickled
    finally:
        sender.close()
