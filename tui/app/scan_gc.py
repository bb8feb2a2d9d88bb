"""Short pauses of the cyclic garbage collector while a scan streams its reports in.

A full collection walks every tracked object while holding the GIL. At 20,000 repositories,
13 of them during one scan took up to 128 ms each of the event loop (1,033 ms in all, measured
with gc.callbacks): each walked every report read so far. Frozen every 1,000 reports
(``gc.freeze``, as the console already does after its first frame and when a sync starts), the
reports are out of its sight: 14 full collections, at most 14.5 ms, 86 ms in all.

Those full collections still came at any time, in the middle of a frame: on F3's 2,200
repositories 2 to 6 of them on the event loop, 4-10 ms of CPU each (and several times that in
wall time on a loaded machine, the GIL held throughout). While a scan runs the collector makes
none (the young generations are still collected); its thresholds come back when the scan ends.
What a full collection would have freed meanwhile (a few thousand objects each: lines drawn
and dropped) is frozen with the reports and freed when the next scan starts.
"""

from __future__ import annotations

import gc

__all__ = ["ReportFreezer", "FREEZE_REPORTS"]

FREEZE_REPORTS = 1000  # reports between two freezes
NO_FULL_COLLECTION = 1 << 30  # the oldest generation's threshold while a scan runs: never reached


class ReportFreezer:
    """Freezes what lives every FREEZE_REPORTS reports of a scan; a scan that starts makes
    what the last one froze collectable again."""

    def __init__(self) -> None:
        self._unfrozen = 0  # reports arrived since the last freeze
        self.froze = False  # this scan froze (undone when the next one starts)
        self._thresholds: tuple[int, int, int] | None = None  # the collector's, while a scan runs

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
        """What the last scan froze is replaced now. One full collection frees the cyclic
        garbage frozen along with it (lines the table had drawn and cached then: ~3,500
        objects on F3's 2,200 repositories); the freezes of this scan start afresh."""
        self._unfrozen = 0
        if self.froze:
            self.froze = False
            gc.unfreeze()
            gc.collect()
        if self._thresholds is None:
            self._thresholds = gc.get_threshold()
            young, middle, _oldest = self._thresholds
            gc.set_threshold(young, middle, NO_FULL_COLLECTION)

    def scan_ends(self) -> None:
        """The scan is over (finished, failed, or its screen closed): the collector's own
        full collections again."""
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
