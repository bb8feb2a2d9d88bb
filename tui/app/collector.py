"""The cyclic garbage collector, kept out of the event loop's way: the console's one policy.

A full collection walks every tracked object while holding the GIL; on the event loop that is
a frame not drawn and a key not answered. Measured with gc.callbacks:

- **Freezes.** At 20,000 repositories, 13 full collections during one scan took up to 128 ms
  each (1,033 ms in all): each walked every report read so far. The reports are frozen every
  FREEZE_REPORTS (``gc.freeze``, as start-up does after the first frame and a sync when it
  starts): out of the collector's sight.
- **Holds.** Full collections still came at any moment: 2-6 during an F3 scan (4-10 ms of CPU
  each), 2-4 while F2's Refs tab loaded (15-80 ms each: the objects made since start-up, mostly
  Textual's cached lines). While something holds the collector (a scan streaming its rows in,
  a Refs tab loading) it makes no full collection of its own: the oldest generation's
  threshold is out of reach, the young generations are still collected (at most ~2 ms).
- **The held-back work, when nobody waits on it.** Once nothing holds and nobody has typed or
  clicked for IDLE_SECONDS, one full collection. After freezes it thaws first: what a freeze
  hid and has died since is never collected otherwise (Textual's ``Strip`` keeps its own crop
  cache, so every line drawn then is cyclic garbage: ~15,000 objects on F3). That collection
  walks everything (440 ms at 20,000 repositories): it used to run as each rescan started,
  background rescans included, a stuck key in the middle of typing.

UI thread only: screens and widgets hold and release from their message handlers.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Collector", "FREEZE_REPORTS", "IDLE_SECONDS", "NO_FULL_COLLECTION", "idle_wait"]

FREEZE_REPORTS = 1000  # reports between two freezes
IDLE_SECONDS = 1.5  # no key or click for this long: the held-back full collection may run
NO_FULL_COLLECTION = 1 << 30  # the oldest generation's threshold while held: never reached

Timer = Any  # what set_timer returns: has stop()


def idle_wait(now: float, last_input: float, idle_seconds: float) -> float:
    """Seconds still to wait before the operator has been idle for ``idle_seconds`` (0: now)."""
    return max(0.0, last_input + idle_seconds - now)


class Collector:
    """``set_timer(delay, callback)``: the app's; ``last_input()``: monotonic time of the
    operator's last key or click."""

    def __init__(self, set_timer: Callable[[float, Callable[[], None]], Timer], last_input: Callable[[], float]) -> None:
        self._set_timer = set_timer
        self._last_input = last_input
        self._holders: dict[int, Timer | None] = {}  # id(holder) -> the timer of its latest end
        self._thresholds: tuple[int, int, int] | None = None  # the collector's own, while held
        self._unfrozen = 0  # reports arrived since the last freeze
        self._thaw_due = False  # something frozen here may have died since the last thaw
        self._timer: Timer | None = None  # the wait for a quiet moment
        self.compactions = 0  # held-back collections run (tests and the benchmark wait for it)
        self._closed = False  # the console has ended: no timer is set any more

    # --- holds --------------------------------------------------------------------------------

    def hold(self, holder: object, at_most: float | None = None) -> None:
        """No full collection of the collector's own until ``release(holder)`` (holding twice
        is holding once); ``at_most`` seconds: released then whatever happened."""
        self._stop(self._holders.pop(id(holder), None))
        self._holders[id(holder)] = None if at_most is None else self._set_timer(at_most, lambda: self.release(holder))
        if self._thresholds is None:
            self._thresholds = gc.get_threshold()
            young, middle, _oldest = self._thresholds
            gc.set_threshold(young, middle, NO_FULL_COLLECTION)
        self._stop(self._timer)
        self._timer = None

    def release(self, holder: object) -> None:
        """``holder`` is done (finished, failed, or gone): when no holder is left the
        thresholds are the collector's again, and its held-back work waits for a quiet moment."""
        if id(holder) not in self._holders:
            return
        self._stop(self._holders.pop(id(holder)))
        if self._holders:
            return
        self._restore_thresholds()
        if not self._closed:
            self._when_idle(IDLE_SECONDS)

    def holding(self, holder: object) -> bool:
        return id(holder) in self._holders

    # --- freezes ------------------------------------------------------------------------------

    def arrived(self, reports: int) -> None:
        """``reports`` scan reports were shown: every FREEZE_REPORTS, what lives is frozen."""
        self._unfrozen += reports
        if self._unfrozen >= FREEZE_REPORTS:
            self._unfrozen = 0
            self._thaw_due = True
            # The young generations first: the cyclic garbage of the last batches is not
            # frozen with the reports (they live until the next scan replaces them, and
            # reference counting frees them then).
            gc.collect(1)
            gc.freeze()

    @staticmethod
    def freeze_startup_objects() -> None:
        """Move what start-up made (modules, classes, the host screen: ~100,000 objects that
        live as long as the console) out of the collector's reach: with them a full collection
        took 70-300 ms, felt as a stuck key while a 200,000-ref Refs tab loaded."""
        gc.freeze()

    # --- the held-back collection ---------------------------------------------------------------

    def compact(self) -> None:
        """The held-back full collection, now: thawed first after freezes, frozen again after
        (start-up's objects and a running sync's stay out of the automatic collections' way)."""
        if self._thaw_due:
            self._thaw_due = False
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        else:
            gc.collect()
        self.compactions += 1

    def close(self) -> None:
        """The console ends: timers stopped, the collector's thresholds its own."""
        self._closed = True
        for timer in self._holders.values():
            self._stop(timer)
        self._holders.clear()
        self._stop(self._timer)
        self._timer = None
        self._restore_thresholds()

    def _when_idle(self, delay: float) -> None:
        self._stop(self._timer)
        # Textual's Timer cannot take a zero delay (it divides by it).
        self._timer = self._set_timer(max(delay, 0.01), self._check_idle)

    def _check_idle(self) -> None:
        self._timer = None
        if self._holders:
            return  # the last release asks again
        wait = idle_wait(time.monotonic(), self._last_input(), IDLE_SECONDS)
        if wait > 0:
            self._when_idle(wait)
        else:
            self.compact()

    def _restore_thresholds(self) -> None:
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None

    @staticmethod
    def _stop(timer: Timer | None) -> None:
        if timer is not None:
            timer.stop()
