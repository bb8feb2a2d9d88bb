"""The host scan, run in a worker thread and handed to the screen in batches.

``tui.core.scan.iter_host_scan`` yields one item at a time (a report, a root's problem, a row
shown earlier that turned out to be a work tree's separate git dir). Posting each as a message
would flood the event loop at 2,000 repos a second; this collects them, makes each row's texts
here (not on the event loop), and hands them over at most every ``batch_seconds``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from tui.app.commit_dates import OBJECT_STORE_LOCK
from tui.app.widgets.repo_table import row_texts

if TYPE_CHECKING:  # the report dataclasses load with the scan, after the first frame
    from tui.app.backend import Host
    from tui.core.model import Problem, RepoReport

__all__ = ["ScanBatchContents", "scan_in_batches"]

_DONE = object()


class ScanBatchContents:
    """What arrived since the last batch. (A plain class: this module loads with the first
    frame, and a dataclass costs its generated methods at import.)"""

    __slots__ = ("reports", "texts", "problems", "superseded")

    def __init__(self) -> None:
        self.reports: list[RepoReport] = []
        self.texts: list = []  # repo_table.row_texts of each report
        self.problems: list[Problem] = []
        self.superseded: list[str] = []  # paths of rows to retract

    def __bool__(self) -> bool:
        return bool(self.reports or self.problems or self.superseded)


def scan_in_batches(
    host: Host,
    now: float,
    cancel: threading.Event,
    is_cancelled: Callable[[], bool],
    post_batch: Callable[[ScanBatchContents, float], None],
    post_finished: Callable[[float, bool, str | None], None],
    *,
    batch_seconds: float,
) -> None:
    """Scan ``host``'s roots; ``post_batch(contents, elapsed)`` every ``batch_seconds`` while
    items arrive, then ``post_finished(elapsed, cancelled, error)`` once. Runs in the caller's
    (worker) thread; the scan itself runs in another, so a cancel is seen within a batch."""
    # lazy (import cost): core.scan loads on first use, not with the first frame
    from tui.core.discovery import Superseded
    from tui.core.model import Problem, RepoReport
    from tui.core.scan import iter_host_scan

    multi_root = len(host.roots) > 1
    items: queue.SimpleQueue = queue.SimpleQueue()
    failure: list[BaseException] = []

    def produce() -> None:
        # No pygit2 call may run in this process while the scan forks its workers: the
        # lock is held until the first report, by which time every worker exists.
        OBJECT_STORE_LOCK.acquire()
        locked = True
        try:
            for item in iter_host_scan(
                host.roots,
                jobs=host.jobs,
                now=now,
                cancel=cancel,
                start_method=host.start_method,
                max_depth=host.max_depth,
                hold_bare=False,  # rows as they come; a retraction follows in the rare case
                worker_niceness=host.scan_niceness,
                # The walk of the tree in a child process: in this one it held the GIL that
                # the event loop needs for each frame and key press while rows stream in.
                discover_in_child=True,
            ):
                if locked and isinstance(item, RepoReport):
                    OBJECT_STORE_LOCK.release()
                    locked = False
                items.put(item)
        except BaseException as exc:  # reported by post_finished, never lost in a thread
            failure.append(exc)
        finally:
            if locked:
                OBJECT_STORE_LOCK.release()
            items.put(_DONE)

    started = time.monotonic()
    threading.Thread(target=produce, name="gitward-scan-producer", daemon=True).start()
    batch = ScanBatchContents()
    deadline = started + batch_seconds
    done = False
    while not done:
        if is_cancelled() or cancel.is_set():
            cancel.set()
            post_finished(time.monotonic() - started, True, None)
            return
        try:
            item = items.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            item = None
        if item is _DONE:
            done = True
        elif isinstance(item, RepoReport):
            batch.reports.append(item)
            batch.texts.append(row_texts(item, now, multi_root))  # here, not on the event loop
        elif isinstance(item, Problem):
            batch.problems.append(item)
        elif isinstance(item, Superseded):
            batch.superseded.append(item.candidate.path)
        if done or time.monotonic() >= deadline:
            if batch:
                post_batch(batch, time.monotonic() - started)
                batch = ScanBatchContents()
            deadline = time.monotonic() + batch_seconds
    error = f"{type(failure[0]).__name__}: {failure[0]}" if failure else None
    post_finished(time.monotonic() - started, False, error)
