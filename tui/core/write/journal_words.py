"""How a journal entry reads to people: the same words, order and times in the console's journal
screen and in ``gitward journal`` (JSON keeps the raw fields: ``status``, ``undo_of``, ...).

Only reads an entry's attributes, so it imports nothing from the journal itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any


def newest_first(entries: Iterable[Any]) -> list[Any]:
    """The listing order: newest first (the change just made is on top, where undo starts).
    By creation time; ids made in the same second sort by their random part."""
    return sorted(entries, key=lambda entry: (entry.created, entry.id), reverse=True)


def when(entry: Any) -> str:
    """``2026-12-06 08:52:50``, in UTC (the column is headed ``WHEN (UTC)``)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(entry.created))


def status_words(entry: Any) -> str:
    """``done``, ``undone``, ``failed``, ``interrupted``, ``running``, ``unfinished``; an undo
    says so (``undo done``, ``undo failed``); then what matters for undoing it:
    ``interrupted, no change`` (stopped before any file changed) or ``done, undo expired``."""
    words = entry.status
    if entry.undo_of:
        words = f"undo {words}"
    if entry.status == "interrupted" and not entry.has_before:
        words += ", no change"
    if entry.undo_expired:
        words += ", undo expired"
    return words


def links(entry: Any) -> list[tuple[str, str]]:
    """``("undo of", ID)`` / ``("undone by", ID)``: the entries this one is tied to."""
    found = []
    if entry.undo_of:
        found.append(("undo of", entry.undo_of))
    if entry.undone_by:
        found.append(("undone by", entry.undone_by))
    return found
