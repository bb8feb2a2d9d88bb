"""gitward's own settings and where its files live."""

from __future__ import annotations

import os

import pytest
from platformdirs import PlatformDirs

from tui.core import paths
from tui.core.config import Config, ConfigError, SyncConfig, default_config_path, load_config

# --- paths ------------------------------------------------------------------------------------

DIRS = [
    (paths.config_dir, "GITWARD_CONFIG_DIR", "user_config_dir"),
    (paths.state_dir, "GITWARD_STATE_DIR", "user_state_dir"),
    (paths.log_dir, "GITWARD_LOG_DIR", "user_log_dir"),
    (paths.data_dir, "GITWARD_DATA_DIR", "user_data_dir"),
]


@pytest.mark.parametrize(("function", "env_var", "_"), DIRS)
def test_each_dir_follows_its_environment_variable(monkeypatch, tmp_path, function, env_var, _):
    monkeypatch.setenv(env_var, str(tmp_path / "here"))
    assert function() == str(tmp_path / "here")
    assert not (tmp_path / "here").exists()  # asking never creates


@pytest.mark.parametrize(("function", "env_var", "attribute"), DIRS)
def test_each_dir_defaults_to_platformdirs(monkeypatch, tmp_path, function, env_var, attribute):
    monkeypatch.delenv(env_var, raising=False)
    for xdg in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(xdg, str(tmp_path / xdg.lower()))
    expected = getattr(PlatformDirs(appname="gitward", appauthor=False), attribute)
    assert function() == expected
    assert "gitward" in expected


def test_empty_or_relative_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("GITWARD_STATE_DIR", "")
    assert paths.state_dir() == PlatformDirs(appname="gitward", appauthor=False).user_state_dir
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITWARD_STATE_DIR", "relative/state")
    assert paths.state_dir() == str(tmp_path / "relative" / "state")


def test_demo_dir_is_under_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GITWARD_DATA_DIR", str(tmp_path))
    assert paths.demo_dir() == str(tmp_path / "demo")


# --- loading ----------------------------------------------------------------------------------


def write_config(tmp_path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return str(path)


def test_missing_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("GITWARD_CONFIG_DIR", str(tmp_path / "nothing-here"))
    assert load_config() == Config()
    assert load_config(str(tmp_path / "absent.toml")) == Config()
    config = Config()
    assert (config.roots, config.read_only, config.jobs, config.theme, config.keys) == ([], False, None, None, {})
    assert config.sync == SyncConfig(timeout_seconds=300.0, max_per_host=3, log_buffer_lines=10_000, log_dir_max_bytes=50 * 1024 * 1024)


def test_default_location_is_config_toml_in_config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GITWARD_CONFIG_DIR", str(tmp_path))
    assert default_config_path() == str(tmp_path / "config.toml")
    (tmp_path / "config.toml").write_text('roots = ["/srv/git"]\n')
    config = load_config()
    assert config.roots == ["/srv/git"]
    assert config.path == str(tmp_path / "config.toml")


def test_full_config(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = write_config(
        tmp_path,
        """
roots = ["/srv/gerrit/git", "~/mirrors"]
read_only = true
jobs = 8
theme = "textual-dark"

[keys]
refresh = "ctrl+r"
"shadows.prune" = "P"

[sync]
timeout_seconds = 90
max_per_host = 2
log_buffer_lines = 500
log_dir_max_bytes = 1048576
""",
    )
    config = load_config(path)
    assert config.roots == ["/srv/gerrit/git", str(tmp_path / "home" / "mirrors")]
    assert config.read_only is True
    assert config.jobs == 8
    assert config.theme == "textual-dark"
    assert config.keys == {"refresh": "ctrl+r", "shadows.prune": "P"}
    assert config.sync == SyncConfig(timeout_seconds=90.0, max_per_host=2, log_buffer_lines=500, log_dir_max_bytes=1048576)
    assert isinstance(config.sync.timeout_seconds, float)


def test_partial_sync_table_keeps_other_defaults(tmp_path):
    config = load_config(write_config(tmp_path, "[sync]\ntimeout_seconds = 2.5\n"))
    assert config.sync == SyncConfig(timeout_seconds=2.5)


ERRORS = [
    ("read-only = true\n", "unknown key 'read-only' (known in the top level: roots, read_only, jobs, theme, keys, sync"),
    ("[scan]\nx = 1\n", "unknown key 'scan'"),
    ("[sync]\ntimeout = 5\n", "unknown key 'sync.timeout' (known in [sync]: timeout_seconds, max_per_host, log_buffer_lines, log_dir_max_bytes)"),
    ('roots = "/srv/git"\n', "'roots' must be an array of strings, got a string ('/srv/git')"),
    ('roots = ["/srv/git", 3]\n', "'roots[1]' must be a string, got an integer (3)"),
    ('roots = [""]\n', "'roots[0]' must not be empty"),
    ('read_only = "yes"\n', "'read_only' must be true or false, got a string ('yes')"),
    ("read_only = 1\n", "'read_only' must be true or false, got an integer (1)"),
    ("jobs = true\n", "'jobs' must be an integer, got a boolean (true)"),
    ("jobs = 2.0\n", "'jobs' must be an integer, got a float (2.0)"),
    ("jobs = 0\n", "'jobs' must be at least 1, got 0"),
    ("theme = 3\n", "'theme' must be a string, got an integer (3)"),
    ('theme = " "\n', "'theme' must not be empty"),
    ('keys = "ctrl+r"\n', "'keys' must be a table, got a string ('ctrl+r')"),
    ("[keys]\nrefresh = 1\n", "'keys.refresh' must be a string, got an integer (1)"),
    ('[keys]\nrefresh = ""\n', "'keys.refresh' must not be empty"),
    ("sync = 5\n", "'sync' must be a table, got an integer (5)"),
    ('[sync]\ntimeout_seconds = "5m"\n', "'sync.timeout_seconds' must be a number of seconds, got a string ('5m')"),
    ("[sync]\ntimeout_seconds = 0\n", "'sync.timeout_seconds' must be a positive number of seconds, got 0"),
    ("[sync]\ntimeout_seconds = inf\n", "'sync.timeout_seconds' must be a positive number of seconds, got inf"),
    ("[sync]\ntimeout_seconds = nan\n", "'sync.timeout_seconds' must be a positive number of seconds, got nan"),
    ("[sync]\ntimeout_seconds = false\n", "'sync.timeout_seconds' must be a number of seconds, got a boolean (false)"),
    ("[sync]\nmax_per_host = 0\n", "'sync.max_per_host' must be at least 1, got 0"),
    ("[sync]\nlog_buffer_lines = -5\n", "'sync.log_buffer_lines' must be at least 1, got -5"),
    ('[sync]\nlog_dir_max_bytes = "50MiB"\n', "'sync.log_dir_max_bytes' must be an integer, got a string ('50MiB')"),
    ("[sync]\nlog_dir_max_bytes = 1979-05-27\n", "'sync.log_dir_max_bytes' must be an integer, got a date/time (1979-05-27)"),
    ("jobs = [1]\n", "'jobs' must be an integer, got an array"),
    ('refresh_interval = "1m"\n', "'refresh_interval' must be a number of seconds, got a string ('1m')"),
    ("refresh_interval = 0\n", "'refresh_interval' must be a positive number of seconds, got 0"),
    ("refresh_interval = 0.5\n", "'refresh_interval' must be at least 1 second, got 0.5"),
    ("refresh_interval = true\n", "'refresh_interval' must be a number of seconds, got a boolean (true)"),
]


def test_refresh_interval(tmp_path):
    assert load_config(write_config(tmp_path, "refresh_interval = 60\n")).refresh_interval == 60.0
    assert load_config(write_config(tmp_path, "jobs = 2\n")).refresh_interval is None  # unset: never


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[m.split(" ")[0] + str(i) for i, (_, m) in enumerate(ERRORS)])
def test_validation_errors_name_the_file_and_key(tmp_path, text, message):
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_toml_syntax_error(tmp_path):
    path = write_config(tmp_path, "jobs = 2\nroots = [\"a\" \"b\"]\n")
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line"):
        load_config(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b'theme = "\xff"\n')
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_config(str(path))


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path))  # a directory
    if os.geteuid() != 0:  # root reads anything
        path = write_config(tmp_path, "jobs = 2\n")
        os.chmod(path, 0)
        with pytest.raises(ConfigError, match="cannot read: Permission denied"):
            load_config(path)
