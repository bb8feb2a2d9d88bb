"""Shared test setup: a deterministic git and gitward environment for every test."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))  # tests import their helpers (gitrepo.py)

from gitrepo import GIT_ENV  # noqa: E402  the same git environment gitrepo.git() passes to its own calls


def _set_git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only GIT_ENV's git variables: none inherited (a GIT_DIR or GIT_INDEX_FILE exported by
    the hook or editor that runs ``make test`` would point git at another repository)."""
    for key in list(os.environ):
        if key.startswith("GIT_") and key not in GIT_ENV:
            monkeypatch.delenv(key)
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session", autouse=True)
def deterministic_git_for_the_session():
    """Module- and session-scoped fixtures build repositories (``git commit``, ``git tag -a``)
    before any function-scoped fixture runs: without this they would need the identity of
    whoever runs the suite, and fail on a machine that has none ("unable to auto-detect email
    address"). Pytest sets up a session-scoped autouse fixture before every narrower one."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _set_git_env(monkeypatch)
        yield


@pytest.fixture(autouse=True)
def deterministic_env(monkeypatch, tmp_path_factory):
    _set_git_env(monkeypatch)  # again: a test may have changed os.environ (monkeypatch undoes that)
    home = tmp_path_factory.mktemp("gitward-home")
    for name in ("CONFIG", "STATE", "LOG", "DATA"):
        monkeypatch.setenv(f"GITWARD_{name}_DIR", str(home / name.lower()))
    yield
