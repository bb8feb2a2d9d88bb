"""Short pauses of the cyclic garbage collector while a scan streams its reports in.

A full collection walks every tracked object while holding the GIL. At 20,000 repositories,
13 of them during one scan took up to 128 ms each of the event loop (1,033 ms in all, measured
with gc.callbacks): each walked every report read so far. Frozen every 1,000 reports
(``gc.freeze``, as the console already does after its first frame and when a sync starts), the
reports are out of its sight: 14 full collections, at most 14.5 ms, 86 ms in all.

What a freeze hides is never collected, so what it hid and has since become cyclic garbage
(Textual's ``Strip`` holds its own crop cache: every line drawn then; ~15,000 objects on F3)
is freed by one full collection once the scan is over. That collection walks everything
(440 ms at 20,000 repositories, 60-130 ms on F3's 2,200): it waits until nobody has typed or
clicked for IDLE_SECONDS, never while rows stream in or keys are pressed. Before, it ran as
each rescan started, a background rescan included: a stuck key in the middle of typing.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ReportFreezer", "FREEZE_REPORTS", "IDLE_SECONDS", "idle_wait"]

FREEZE_REPORTS = 1000  # reports between two freezes
IDLE_SECONDS = 1.5  # no key or click for this long: the full collection may pause the loop


def idle_wait(now: float, last_input: float, idle_seconds: float) -> float:
    """Seconds still to wait before the operator has been idle for ``idle_seconds`` (0: now)."""
    return max(0.0, last_input + idle_seconds - now)


class ReportFreezer:
    """Freezes what lives every FREEZE_REPORTS reports of a scan; after a scan, at the first
    idle moment, one full collection frees what was frozen and has died since."""

    def __init__(self) -> None:
        self._unfrozen = 0  # reports arrived since the last freeze
        self.froze = False  # something is frozen that a compaction has not looked at since
        self.compactions = 0  # full collections made after scans (tests wait for this)
        self._timer: Any = None

    def arrived(self, reports: int) -> None:
        self._unfrozen += reports
        if self._unfrozen >= FREEZE_REPORTS:
            self._unfrozen = 0
            self.froze = True
            # The young generations first: the cyclic garbage of the last batches is not
            # frozen with the reports (they live until the next scan replaces them, and
            # reference counting frees them then).
            gc.collect(1)
            gc.freeze()

    def scan_starts(self) -> None:
        """A scan starts: the freezes count afresh (no collection now: rows are coming)."""
        self._unfrozen = 0
        self._cancel_timer()

    def scan_finished(self, set_timer: Callable[..., Any], last_input: Callable[[], float],
                      busy: Callable[[], bool]) -> None:
        """Compact once the operator is idle: ``set_timer(delay, callback)`` (the screen's),
        ``last_input()``: monotonic time of the last key or click; ``busy()``: a scan runs."""
        if not self.froze:
            return

        def check() -> None:
            self._timer = None
            if busy() or not self.froze:
                return  # a new scan: its own end asks again
            wait = idle_wait(time.monotonic(), last_input(), IDLE_SECONDS)
            if wait > 0:
                self._timer = set_timer(wait, check)
                return
            self.compact()

        self._cancel_timer()
        self._timer = set_timer(IDLE_SECONDS, check)

    def compact(self) -> None:
        # Frozen again at once: the start-up's objects and a running sync's stay out of the
        # automatic collections' way (app.py, sync_center.py froze them for that).
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.compactions += 1

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
