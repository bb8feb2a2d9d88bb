"""No cyclic garbage collection while a Refs tab loads: a pause with an end.

While the Refs tab of a 200,000-ref repository loads, the collector ran 2-4 times on the event
loop; each full collection walked every object the console made since its start-up freeze
(mostly Textual's cached lines, 40,000-60,000 objects) and took 15-80 ms, the longest freezes
of the load: event-loop lag p99 86-148 ms with it, 41-58 ms without (benchmarks/tui_bench.py
--only refs). Reference counting frees all but cyclic garbage meanwhile; the cycles made during
the load wait until the pause ends: once the load is done and the list has been still for a
moment (then one collection runs in one go, a pause nobody is waiting on), when the load
failed, when the tab goes away, and at the latest after MAX_SECONDS (each holder keeps that
promise, see RefBrowser).

Counted by holder: the collector runs again once every holder released. It is turned back on
only if this module turned it off (start-up pauses it too: tui/cli/main.py, HostScreen).
UI thread only (no lock): holders take and release it from their message handlers.
"""

from __future__ import annotations

import gc

__all__ = ["MAX_SECONDS", "hold", "release", "holding"]

MAX_SECONDS = 10.0  # a holder releases at the latest after this long (a huge or stuck load)

_holders: set[int] = set()
_paused = False  # this module turned the collector off (it was on)


def hold(holder: object) -> None:
    """Pause the collector until ``release(holder)`` (holding twice is holding once)."""
    global _paused
    _holders.add(id(holder))
    if not _paused and gc.isenabled():
        gc.disable()
        _paused = True


def release(holder: object, *, collect: bool = False) -> None:
    """``holder`` is done; the collector runs again when no holder is left.

    ``collect``: then also run the collection the pause held back, now and in one go (a full
    one: the generations' counters are reset), rather than in two or three pauses at the next
    key presses. For a moment when nobody waits (the list has been still for a while).
    """
    global _paused
    _holders.discard(id(holder))
    if not _holders and _paused:
        _paused = False
        gc.enable()
        if collect:
            gc.collect()


def holding(holder: object) -> bool:
    return id(holder) in _holders
