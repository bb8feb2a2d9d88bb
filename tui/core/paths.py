"""Where gitward keeps its own files: config, state (the journal), logs, data (the demo host).

platformdirs picks the platform's places (XDG on Linux: ~/.config/gitward, ~/.local/state/gitward,
...). Each can be moved with an environment variable: operators put state on a persistent volume,
and tests point every one into a tmp dir. Paths are strings like everywhere else in the core.
Nothing here creates a directory: reading must not write; whoever writes creates.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from platformdirs import PlatformDirs

APP_NAME = "gitward"

# appauthor=False: no "<author>\" level on Windows; there is no vendor to group under.
_PLATFORM_DIRS = PlatformDirs(appname=APP_NAME, appauthor=False)


def _overridable(env_var: str, platform_default: Callable[[], str]) -> str:
    override = os.environ.get(env_var)
    if override:  # empty counts as unset, as shells make it easy to export FOO=
        # absolute now: the journal must not move when a later step changes directory
        return os.path.abspath(os.path.expanduser(override))
    return platform_default()


def config_dir() -> str:
    """Holds config.toml. Env: GITWARD_CONFIG_DIR."""
    return _overridable("GITWARD_CONFIG_DIR", lambda: _PLATFORM_DIRS.user_config_dir)


def state_dir() -> str:
    """Holds the journal (what changed, with before-images for undo). Env: GITWARD_STATE_DIR."""
    return _overridable("GITWARD_STATE_DIR", _platform_state_dir)


# (what platformdirs' answer depends on, that answer): platformdirs computes the state dir anew
# on every call (~20 us), and a host scan in one process asks once per repository.
_state_dir_memo: tuple[tuple, str] | None = None


def _platform_state_dir() -> str:
    global _state_dir_memo
    # platformdirs reads XDG_STATE_HOME, else expands "~" (HOME, else the user's passwd entry).
    key = (os.environ.get("XDG_STATE_HOME"), os.environ.get("HOME"), os.getuid(), os.geteuid())
    memo = _state_dir_memo
    if memo is not None and memo[0] == key:
        return memo[1]
    path = _PLATFORM_DIRS.user_state_dir
    _state_dir_memo = (key, path)
    return path


def log_dir() -> str:
    """Holds sync logs. Env: GITWARD_LOG_DIR."""
    return _overridable("GITWARD_LOG_DIR", lambda: _PLATFORM_DIRS.user_log_dir)


def data_dir() -> str:
    """Holds the demo host. Env: GITWARD_DATA_DIR."""
    return _overridable("GITWARD_DATA_DIR", lambda: _PLATFORM_DIRS.user_data_dir)


def demo_dir() -> str:
    return os.path.join(data_dir(), "demo")
