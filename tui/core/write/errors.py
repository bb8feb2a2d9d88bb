"""Every error the write side raises, in one module (as dulwich's ``errors.py``).

``str(error)`` is one line an operator can act on. The tree says what happened to the files:

- ``RefusedError`` and its kinds: a precondition does not hold; nothing was changed;
- ``ApplyError``: a change stopped half-way; the journal entry it names restores the rest;
- any other ``WriteError``: the action could not run (an unknown journal entry, say).

The CLI maps the first to exit code 1 and the rest to 2 (``tui/cli/write.py``).
"""

from __future__ import annotations

__all__ = [
    "ApplyError",
    "LockHeldError",
    "OwnershipError",
    "PermissionRefusedError",
    "ReadOnlyError",
    "RefusedError",
    "StateChangedError",
    "UnknownEntryError",
    "UnsupportedError",
    "WriteError",
    "error_text",
]


class WriteError(Exception):
    """Anything that stops a change. ``str(error)`` is one line an operator can act on."""


class RefusedError(WriteError):
    """A precondition does not hold; nothing was changed."""


class ReadOnlyError(RefusedError):
    """gitward runs in read-only mode."""


class UnsupportedError(RefusedError):
    """The repository holds something gitward does not fully understand (reftable, a damaged
    packed-refs, a leftover packed-refs.new, unknown admin files)."""


class StateChangedError(RefusedError):
    """Compare-and-swap failed: the files moved on since the plan was made. Rescan."""


class OwnershipError(RefusedError):
    """The running user is not the owner of a file the change would replace."""

    def __init__(self, message: str, owner_uid: int, owner_name: str | None) -> None:
        super().__init__(message)
        self.owner_uid = owner_uid
        self.owner_name = owner_name


class LockHeldError(RefusedError):
    """Someone else holds a lock we need, past the retry time."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


class PermissionRefusedError(RefusedError):
    """The operating system refused the first write (nothing was changed)."""


class ApplyError(WriteError):
    """A change failed half-way. Each file is at its old or its new state; the journal entry
    is marked failed and ``gitward undo`` can restore the rest."""

    def __init__(self, message: str, entry_id: str | None = None) -> None:
        super().__init__(message)
        self.entry_id = entry_id


class UnknownEntryError(WriteError):
    """No journal entry with that id."""


def error_text(exc: BaseException) -> str:
    """What went wrong, in one line: "path: strerror" for an OS error, else the message."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename or ''}: {exc.strerror}".lstrip(": ")
    return str(exc) or type(exc).__name__
