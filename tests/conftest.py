"""Shared test setup: a deterministic git and gitward environment for every test."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # tests import their helpers (gitrepo.py)

from gitutil import GIT_ENV  # noqa: E402  the same git environment gitutil passes to its own calls


@pytest.fixture(autouse=True)
def deterministic_env(monkeypatch, tmp_path_factory):
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    home = tmp_path_factory.mktemp("gitward-home")
    for name in ("CONFIG", "STATE", "LOG", "DATA"):
        monkeypatch.setenv(f"GITWARD_{name}_DIR", str(home / name.lower()))
    yield
