"""``gitward fleet --prometheus URL [--json]``: every host as Prometheus already sees it.

One row per instance that reports gitward's textfile metrics: problems by severity, the worst
codes, the scan's age (stale scans marked), git-sync roots, compare results. In a terminal
(without ``--json``) it opens the fleet console: ``/`` filter, ``f`` faults only, Enter runs
``ssh -t HOST gitward`` (``[fleet] command`` in the config).

The URL and credentials come from ``[prometheus]`` in the config; ``--prometheus`` overrides the
URL. Credentials are never printed.

Exit codes:
  0    the fleet was listed (whatever its findings)
  1    Prometheus answered but no instance reports gitward metrics
  2    bad arguments or config, Prometheus unreachable, a query error, refused credentials
"""

from __future__ import annotations

import argparse
import sys

from tui.cli.common import EXIT_OK, UsageError, clean, fail, print_table

COMMANDS = ("fleet",)


def register(subparsers) -> None:
    fleet = subparsers.add_parser(
        "fleet",
        help="every host's gitward findings, read from Prometheus",
        description="List the hosts that report gitward's textfile metrics, as Prometheus "
        "scraped them (never ssh fan-out). Exit 0 listed, 1 no gitward metrics, 2 error.",
    )
    fleet.add_argument("--prometheus", metavar="URL", help="Prometheus base URL (default: [prometheus] url in the config)")
    fleet.add_argument("--json", action="store_true", help="machine-readable output (schema in README)")
    fleet.add_argument("--stale-after", type=float, metavar="SECONDS", help="mark scans older than this stale (default: config, 3600)")
    fleet.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="HTTP timeout per query (default 10)")


def dispatch(args: argparse.Namespace) -> int | None:
    if getattr(args, "command", None) not in COMMANDS:
        return None
    return cmd_fleet(args)


def fleet_settings(args: argparse.Namespace):
    """(client, stale_after_seconds, ssh command template, [keys]) from the config and the arguments."""
    # loaded when the command runs: --help and the other commands skip core.config, core.fleet
    from tui.core.config import ConfigError, load_config
    from tui.core.fleet import DEFAULT_TIMEOUT_SECONDS, FleetError, PrometheusClient

    try:
        config = load_config()
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    url = args.prometheus or config.prometheus.url
    if not url:
        raise UsageError("no Prometheus to ask: pass --prometheus URL or set [prometheus] url in the config")
    stale_after = args.stale_after if args.stale_after is not None else config.fleet.stale_after_seconds
    if stale_after <= 0:
        raise UsageError("--stale-after must be a positive number of seconds")
    timeout = args.timeout if args.timeout is not None else DEFAULT_TIMEOUT_SECONDS
    if timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    try:
        client = PrometheusClient(url, config.prometheus, timeout=timeout)
    except FleetError as exc:
        raise UsageError(str(exc)) from exc
    return client, stale_after, config.fleet.command, config.keys


def cmd_fleet(args: argparse.Namespace) -> int:
    # local by habit only: importing this module already loads it (could move to the top)
    import json

    # loaded when the command runs: --help and the other commands skip core.fleet
    from tui.core.fleet import FleetError, read_fleet

    client, stale_after, command, keys = fleet_settings(args)
    if not args.json and sys.stdout.isatty() and sys.stdin.isatty():
        from tui.app.app import run_fleet_console  # Textual is imported only when a screen is drawn

        return run_fleet_console(client, stale_after_seconds=stale_after, command=command, keys=keys)
    try:
        fleet = read_fleet(client, stale_after)
    except FleetError as exc:
        return fail(str(exc), exc.exit_code, redact=True)
    if args.json:
        sys.stdout.write(json.dumps(fleet.to_json(), separators=(",", ":")) + "\n")
        return EXIT_OK
    rows = []
    for host in fleet.hosts:
        rows.append(
            [
                host.instance,
                str(host.problems["error"]),
                str(host.problems["warning"]),
                str(host.problems["info"]),
                host.codes_text(),
                _age(host.scan_age_seconds) + (" STALE" if host.stale else ""),
                host.gitsync_text(),
                host.compare_text(),
            ]
        )
    print_table(["INSTANCE", "ERR", "WARN", "INFO", "WORST", "SCAN AGE", "GIT-SYNC ROOTS", "COMPARE"], rows)
    stale = sum(1 for h in fleet.hosts if h.stale)
    print(f"\n{len(fleet.hosts)} host{'' if len(fleet.hosts) == 1 else 's'} from {clean(fleet.url)}" + (f"; {stale} with a stale scan" if stale else ""))
    return EXIT_OK


def _age(seconds: float | None) -> str:
    # deferred: humanize is loaded only by the commands that print an age
    import humanize

    return "-" if seconds is None else humanize.naturaldelta(seconds)
