"""Fixtures of the console's tests: the demo host, built once per module, and HOME beside it."""

from __future__ import annotations

import os

import pytest

from app_support import NOW
from tui.demo import build_demo


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> str:
    return build_demo(str(tmp_path_factory.mktemp("demo-host") / "demo"), now=NOW)


@pytest.fixture
def home(demo_root, monkeypatch) -> None:
    monkeypatch.setenv("HOME", os.path.dirname(os.path.dirname(demo_root)))
