"""gitward's own settings: ``config.toml`` in the config dir, read with stdlib tomllib.

Strict on purpose: an unknown key is almost always a typo (``read-only`` for ``read_only``), and a
typo in a safety setting that silently falls back to its default is how a "read-only" console
ends up writing. Every error names the file and the dotted key.

    roots = ["/srv/gerrit/git", "~/mirrors"]
    read_only = false
    jobs = 8                      # scan workers; unset: gitward decides
    theme = "textual-dark"
    refresh_interval = 60         # console: rescan in the background, seconds after a scan; unset: never

    [keys]                        # binding id -> key; ids are checked by the app (the help screen lists them)
    "host.rescan" = "f5"

    [sync]
    timeout_seconds = 300
    max_per_host = 3              # concurrent fetches against one server
    log_buffer_lines = 10000      # lines kept in the live log pane
    log_dir_max_bytes = 52428800  # sync logs on disk, oldest removed first

    [prometheus]                  # what `gitward fleet` reads
    url = "https://prometheus.example.org:9090"
    username = "ops"              # basic auth, with password or password_file
    password_file = "/etc/gitward/prometheus-password"
    # bearer_token_file = "/etc/gitward/prometheus-token"   (or bearer_token; not with basic auth)

    [fleet]
    command = ["ssh", "-t", "{host}", "gitward"]   # Enter on a host; {host}, {instance}
    stale_after_seconds = 3600    # a scan older than this is marked stale
    [journal]                     # past either limit, finished entries lose their undo data
    max_bytes = 209715200         # (the entry stays, saying "undo expired (journal cap)")
    max_age_days = 90
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

from tui.core import paths

CONFIG_FILE_NAME = "config.toml"
MiB = 1024 * 1024


class ConfigError(Exception):
    """A config file gitward cannot use; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class SyncConfig:
    timeout_seconds: float = 300.0
    max_per_host: int = 3
    log_buffer_lines: int = 10_000
    log_dir_max_bytes: int = 50 * MiB


@dataclass(frozen=True, slots=True)
class PrometheusConfig:
    url: str | None = None
    username: str | None = None
    # Secrets: never printed, never in an error message or a repr.
    password: str | None = field(default=None, repr=False)
    password_file: str | None = None
    bearer_token: str | None = field(default=None, repr=False)
    bearer_token_file: str | None = None


DEFAULT_FLEET_COMMAND = ("ssh", "-t", "{host}", "gitward")


@dataclass(frozen=True, slots=True)
class FleetConfig:
    command: tuple[str, ...] = DEFAULT_FLEET_COMMAND
    stale_after_seconds: float = 3600.0


@dataclass(frozen=True, slots=True)
class JournalConfig:
    max_bytes: int = 200 * MiB
    max_age_days: float = 90.0


@dataclass(slots=True)
class Config:
    roots: list[str] = field(default_factory=list)
    read_only: bool = False
    jobs: int | None = None
    theme: str | None = None
    refresh_interval: float | None = None  # seconds; None: the console never rescans by itself
    keys: dict[str, str] = field(default_factory=dict)
    sync: SyncConfig = field(default_factory=SyncConfig)
    prometheus: PrometheusConfig = field(default_factory=PrometheusConfig)
    fleet: FleetConfig = field(default_factory=FleetConfig)
    journal: JournalConfig = field(default_factory=JournalConfig)
    path: str | None = None  # the file these came from; None: no file, all defaults


def default_config_path() -> str:
    return os.path.join(paths.config_dir(), CONFIG_FILE_NAME)


def load_config(path: str | None = None) -> Config:
    """Read and validate the config file (default: ``config.toml`` in the config dir).
    A missing file means defaults. Anything else wrong raises ConfigError."""
    path = path if path is not None else default_config_path()
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    # deferred: the parser (and its regular expressions) loads only when there is a file to parse
    import tomllib

    try:
        with handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 (byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return _validate(document, path)


# --- validation -------------------------------------------------------------------------------

_TOP_LEVEL_KEYS = ("roots", "read_only", "jobs", "theme", "keys", "sync", "journal", "prometheus", "fleet", "refresh_interval")
MIN_REFRESH_SECONDS = 1.0  # the header's age ticks once a second: a shorter interval means nothing
_PROMETHEUS_KEYS = ("url", "username", "password", "password_file", "bearer_token", "bearer_token_file")
_FLEET_KEYS = ("command", "stale_after_seconds")
_JOURNAL_KEYS = ("max_bytes", "max_age_days")
_SYNC_KEYS = ("timeout_seconds", "max_per_host", "log_buffer_lines", "log_dir_max_bytes")


def _validate(document: dict[str, Any], path: str) -> Config:
    _reject_unknown_keys(document, _TOP_LEVEL_KEYS, "", path)
    config = Config(path=path)
    if "roots" in document:
        config.roots = _roots(document["roots"], path)
    if "read_only" in document:
        config.read_only = _boolean(document["read_only"], "read_only", path)
    if "jobs" in document:
        config.jobs = _positive_int(document["jobs"], "jobs", path)
    if "theme" in document:
        config.theme = _non_empty_string(document["theme"], "theme", path)
    if "refresh_interval" in document:
        config.refresh_interval = _refresh_interval(document["refresh_interval"], path)
    if "keys" in document:
        config.keys = _key_bindings(document["keys"], path)
    if "sync" in document:
        config.sync = _sync(document["sync"], path)
    if "prometheus" in document:
        config.prometheus = _prometheus(document["prometheus"], path)
    if "fleet" in document:
        config.fleet = _fleet(document["fleet"], path)
    if "journal" in document:
        config.journal = _journal(document["journal"], path)
    return config


def _reject_unknown_keys(table: dict[str, Any], known: tuple[str, ...], prefix: str, path: str) -> None:
    for key in table:
        if key not in known:
            where = f"[{prefix.rstrip('.')}]" if prefix else "the top level"
            raise ConfigError(
                f"{path}: unknown key {prefix + key!r} (known in {where}: {', '.join(known)})"
            )


def _roots(value: Any, path: str) -> list[str]:
    if not isinstance(value, list):
        raise _wrong_type("roots", "an array of strings", value, path)
    roots = []
    for i, item in enumerate(value):
        roots.append(os.path.expanduser(_non_empty_string(item, f"roots[{i}]", path)))
    return roots


def _refresh_interval(value: Any, path: str) -> float:
    seconds = _positive_seconds(value, "refresh_interval", path)
    if seconds < MIN_REFRESH_SECONDS:
        raise ConfigError(f"{path}: 'refresh_interval' must be at least {MIN_REFRESH_SECONDS:g} second, got {value}")
    return seconds


def _key_bindings(value: Any, path: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _wrong_type("keys", "a table", value, path)
    return {binding_id: _non_empty_string(key, f"keys.{binding_id}", path) for binding_id, key in value.items()}


def _sync(value: Any, path: str) -> SyncConfig:
    if not isinstance(value, dict):
        raise _wrong_type("sync", "a table", value, path)
    _reject_unknown_keys(value, _SYNC_KEYS, "sync.", path)
    defaults = SyncConfig()

    def setting(name: str, check: Callable[[Any, str, str], Any]) -> Any:
        return check(value.get(name, getattr(defaults, name)), f"sync.{name}", path)

    return SyncConfig(
        timeout_seconds=setting("timeout_seconds", _positive_seconds),
        max_per_host=setting("max_per_host", _positive_int),
        log_buffer_lines=setting("log_buffer_lines", _positive_int),
        log_dir_max_bytes=setting("log_dir_max_bytes", _positive_int),
    )


def _prometheus(value: Any, path: str) -> PrometheusConfig:
    if not isinstance(value, dict):
        raise _wrong_type("prometheus", "a table", value, path)
    _reject_unknown_keys(value, _PROMETHEUS_KEYS, "prometheus.", path)
    # Secrets are checked for type only: a message that quoted them would print them.
    settings = {}
    for name in _PROMETHEUS_KEYS:
        if name in value:
            item = value[name]
            if not isinstance(item, str):
                raise ConfigError(f"{path}: 'prometheus.{name}' must be a string, got {_toml_type(item) if 'password' not in name and 'token' not in name else 'another type'}")
            if not item.strip():
                raise ConfigError(f"{path}: 'prometheus.{name}' must not be empty")
            settings[name] = os.path.expanduser(item) if name.endswith("_file") else item
    url = settings.get("url")
    if url is not None and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{path}: 'prometheus.url' must start with http:// or https://")
    if "password" in settings and "password_file" in settings:
        raise ConfigError(f"{path}: 'prometheus.password' and 'prometheus.password_file': set one, not both")
    if "bearer_token" in settings and "bearer_token_file" in settings:
        raise ConfigError(f"{path}: 'prometheus.bearer_token' and 'prometheus.bearer_token_file': set one, not both")
    basic = "username" in settings or "password" in settings or "password_file" in settings
    bearer = "bearer_token" in settings or "bearer_token_file" in settings
    if basic and bearer:
        raise ConfigError(f"{path}: [prometheus] has basic auth and a bearer token: set one kind")
    if basic and "username" not in settings:
        raise ConfigError(f"{path}: 'prometheus.username' is needed with a password")
    return PrometheusConfig(**settings)


def _fleet(value: Any, path: str) -> FleetConfig:
    if not isinstance(value, dict):
        raise _wrong_type("fleet", "a table", value, path)
    _reject_unknown_keys(value, _FLEET_KEYS, "fleet.", path)
    defaults = FleetConfig()
    command = defaults.command
    if "command" in value:
        raw = value["command"]
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"{path}: 'fleet.command' must be a non-empty array of strings (no shell), e.g. {list(DEFAULT_FLEET_COMMAND)}")
        command = tuple(_non_empty_string(item, f"fleet.command[{i}]", path) for i, item in enumerate(raw))
        if not any("{host}" in item or "{instance}" in item for item in command):
            raise ConfigError(f"{path}: 'fleet.command' must name the host: put {{host}} or {{instance}} in one of its items")
    stale = defaults.stale_after_seconds
    if "stale_after_seconds" in value:
        stale = _positive_seconds(value["stale_after_seconds"], "fleet.stale_after_seconds", path)
    return FleetConfig(command=command, stale_after_seconds=stale)
def _journal(value: Any, path: str) -> JournalConfig:
    if not isinstance(value, dict):
        raise _wrong_type("journal", "a table", value, path)
    _reject_unknown_keys(value, _JOURNAL_KEYS, "journal.", path)
    defaults = JournalConfig()
    days = value.get("max_age_days", defaults.max_age_days)
    if not isinstance(days, (int, float)) or isinstance(days, bool):
        raise _wrong_type("journal.max_age_days", "a number of days", days, path)
    if not math.isfinite(days) or days <= 0:
        raise ConfigError(f"{path}: 'journal.max_age_days' must be a positive number of days, got {days}")
    return JournalConfig(
        max_bytes=_positive_int(value.get("max_bytes", defaults.max_bytes), "journal.max_bytes", path),
        max_age_days=float(days),
    )


def _boolean(value: Any, key: str, path: str) -> bool:
    if not isinstance(value, bool):
        raise _wrong_type(key, "true or false", value, path)
    return value


def _positive_int(value: Any, key: str, path: str) -> int:
    # bool is an int to Python; "jobs = true" is still a mistake
    if not isinstance(value, int) or isinstance(value, bool):
        raise _wrong_type(key, "an integer", value, path)
    if value < 1:
        raise ConfigError(f"{path}: {key!r} must be at least 1, got {value}")
    return value


def _positive_seconds(value: Any, key: str, path: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _wrong_type(key, "a number of seconds", value, path)
    if not math.isfinite(value) or value <= 0:  # TOML has inf and nan
        raise ConfigError(f"{path}: {key!r} must be a positive number of seconds, got {value}")
    return float(value)


def _non_empty_string(value: Any, key: str, path: str) -> str:
    if not isinstance(value, str):
        raise _wrong_type(key, "a string", value, path)
    if not value.strip():
        raise ConfigError(f"{path}: {key!r} must not be empty")
    return value


def _wrong_type(key: str, expected: str, value: Any, path: str) -> ConfigError:
    return ConfigError(f"{path}: {key!r} must be {expected}, got {_toml_type(value)}")


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a float ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a date/time ({value})"
