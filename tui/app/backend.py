"""What the console is pointed at: roots plus the settings that shape it. No Textual import."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from tui.core.defaults import DEFAULT_MAX_DEPTH
from tui.core.write.gate import WriteGate, write_gate


@dataclass(slots=True)
class Host:
    """The back end handed to the app (the CLI and the tests build one through ``create_app``)."""

    roots: list[str]
    read_only: bool = False
    read_only_source: str = ""  # what asked for read-only ("--read-only", the config file), for the reason shown
    jobs: int | None = None
    max_depth: int = DEFAULT_MAX_DEPTH  # directory levels below a root where repositories are looked for
    now: float | None = None  # a fixed clock (tests, screenshots); None: the real time
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> key(s), from [keys]
    theme: str | None = None
    sync: Any = None  # [sync] from the config (SyncConfig: limits, timeout, log buffer); None: defaults
    refresh_interval: float | None = None  # rescan in the background this many seconds after a scan; None: never
    # How scan worker processes start. "forkserver" and "spawn" need the resource tracker,
    # which cannot start once Textual has replaced sys.stderr (its fileno() is -1), so the
    # console forks; the scan holds OBJECT_STORE_LOCK until its workers exist (see host.py).
    start_method: str = "fork"
    # The scan's worker processes run this much nicer than the console: on two cores, two
    # workers and the event loop competed for time slices and a key press waited for one.
    # Idle cores still go to the workers, so a scan on a quiet host is not slower.
    scan_niceness: int = 10

    @classmethod
    def from_settings(
        cls,
        roots: list[str],
        *,
        read_only: bool = False,
        jobs: int | None = None,
        config: Any = None,
        now: float | None = None,
        max_depth: int | None = None,
    ) -> Host:
        """Command-line values win; the config file supplies defaults."""
        keys = dict(getattr(config, "keys", None) or {})
        gate = write_gate(flag=read_only, config=config)
        return cls(
            roots=[os.path.abspath(root) for root in roots],
            read_only=gate.read_only,
            read_only_source=gate.source,
            jobs=jobs or getattr(config, "jobs", None) or None,
            max_depth=DEFAULT_MAX_DEPTH if max_depth is None else max_depth,
            now=now,
            keys={str(k): str(v) for k, v in keys.items()},
            theme=getattr(config, "theme", None) or None,
            sync=getattr(config, "sync", None),
            refresh_interval=getattr(config, "refresh_interval", None),
        )

    @property
    def gate(self) -> WriteGate:
        """Whether the console may change anything (the same gate the CLI and the journal ask)."""
        return WriteGate(self.read_only, self.read_only_source)

    def clock(self) -> float:
        return self.now if self.now is not None else time.time()
