"""Helpers for driving the console headless (tests, the screenshot script, the benchmark).

They await the app's workers and message queues; nothing here sleeps.
"""

from __future__ import annotations

from textual.pilot import Pilot
from textual.worker import WorkerState

_ACTIVE = (WorkerState.PENDING, WorkerState.RUNNING)


async def settle(pilot: Pilot, rounds: int = 50) -> None:
    """Wait until no worker runs and every message they posted has been handled.

    Workers can start more workers (the Refs tab asks for commit dates after drawing rows),
    so this repeats until a pass starts none.
    """
    app = pilot.app
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(worker.state in _ACTIVE for worker in app.workers):
            await pilot.pause()
            if not any(worker.state in _ACTIVE for worker in app.workers):
                return
    raise TimeoutError(f"workers still running after {rounds} rounds")


async def wait_for_scan(pilot: Pilot) -> None:
    """Wait until the host screen's scan has finished and its rows are on screen."""
    app = pilot.app
    host = app.host_screen  # type: ignore[attr-defined]
    for _ in range(200):
        await settle(pilot)
        if host.generation and not host.scanning:
            return
    raise TimeoutError("the scan did not finish")


async def wait_for_sync(pilot: Pilot, job, timeout: float = 30.0) -> None:
    """Wait until ``job`` (a ``SyncJob``) ended, the console showed its end, and the repository
    was read again (the rescan worker and its message)."""
    # local by habit only: importing this module already loads it (could move to the top)
    import asyncio

    if not await asyncio.to_thread(job.wait, timeout):
        raise TimeoutError(f"sync #{job.id} still {job.state.value} after {timeout} s")
    syncs = pilot.app.syncs  # type: ignore[attr-defined]
    if not await syncs.wait_for(lambda: job.id in syncs.finished, timeout):
        raise TimeoutError(f"the console did not see sync #{job.id} end")
    await settle(pilot)


def record_notifications(app) -> list[str]:
    """Every notification message the app shows from now on."""
    messages: list[str] = []
    original = app.notify

    def notify(message, **kwargs):
        messages.append(message)
        return original(message, **kwargs)

    app.notify = notify
    return messages
