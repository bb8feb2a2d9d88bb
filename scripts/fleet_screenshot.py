#!/usr/bin/env python3
"""Render ``screenshots/fleet.svg`` (and ``.png``): the fleet console against a REAL Prometheus.

    python scripts/fleet_screenshot.py [--out screenshots] [--size 140x24]

Four hosts, each a real node_exporter (textfile collector only) on 127.0.0.1 serving a
``gitward.prom`` that ``gitward scan --format prometheus --output`` wrote; a real Prometheus
scrapes them every second with ``instance`` labels that read like a fleet. One host's file is
three hours old (a scan that stopped), one carries compare results. Needs ``prometheus`` and
``prometheus-node-exporter`` on PATH; every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests" / "support"))  # the real-process helpers the fleet tests use
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from test_fleet_support import Processes, free_port, query, start_node_exporter, wait_until  # noqa: E402

from tui.core import metrics  # noqa: E402
from tui.demo import build_demo  # noqa: E402
from tui.core.scan import scan_host  # noqa: E402

HOSTS = ("gerrit-primary.example.org", "gerrit-replica-1.example.org", "gitlab-storage-2.example.org", "webapp-git-sync-7f9c")


def write_textfiles(base: Path) -> dict[str, Path]:
    demo = build_demo(str(base / "demo"))
    dirs = {name: base / name for name in HOSTS}
    for directory in dirs.values():
        directory.mkdir()
    # The primary: the whole demo host (stale-loose refs, a corrupt packed-refs, stale locks...).
    subprocess.run(
        [sys.executable, "-m", "tui", "scan", demo, "--format", "prometheus", "--output", str(dirs[HOSTS[0]] / "gitward.prom")],
        check=True,
    )
    now = time.time()
    mirrors = scan_host([os.path.join(demo, "mirrors")], jobs=1)
    replica = metrics.scan_families(mirrors, finished=now) + metrics.compare_families(
        {"primary": {"stale-loose": 7, "missing-ref": 0}}, {"primary": now - 600}
    )
    metrics.write_atomically(str(dirs[HOSTS[1]] / "gitward.prom"), metrics.render(replica))
    # A host whose timer stopped three hours ago: its file still says when it last succeeded.
    metrics.write_atomically(str(dirs[HOSTS[2]] / "gitward.prom"), metrics.render_scan(mirrors, finished=now - 3 * 3600))
    sync = scan_host([os.path.join(demo, "sync")], jobs=1)
    metrics.write_atomically(str(dirs[HOSTS[3]] / "gitward.prom"), metrics.render_scan(sync, finished=now))
    return dirs


def start_prometheus_for(processes: Processes, tmp: Path, targets: dict[str, str]) -> str:
    statics = "".join(
        f"      - targets: {json.dumps([address])}\n        labels: {{instance: {json.dumps(name + ':9100')}}}\n"
        for name, address in targets.items()
    )
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n" + statics
    )
    port = free_port()
    process = processes.start(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        tmp / "prometheus.log",
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: len(query(url, "gitward_scan_last_success_timestamp_seconds")) == len(targets), "Prometheus scraped every host", process)
    return url


async def shoot(url: str, out: Path, size: tuple[int, int]) -> Path:
    from screenshots import to_png

    from tui.app.screens.fleet import FleetApp
    from tui.app.testing import settle
    from tui.core.fleet import PrometheusClient

    app = FleetApp(PrometheusClient(url))
    async with app.run_test(size=size) as pilot:
        for _ in range(100):
            await settle(pilot)
            if app.fleet_screen.loads:
                break
        svg = out / "fleet.svg"
        svg.write_text(app.export_screenshot(title="gitward · fleet"), encoding="utf-8")
    to_png(svg)
    return svg


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(REPO_ROOT / "screenshots"))
    parser.add_argument("--size", default="160x12", help="terminal size, COLUMNSxLINES")
    args = parser.parse_args()
    columns, lines = (int(n) for n in args.size.split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    processes = Processes()
    with tempfile.TemporaryDirectory(prefix="gitward-fleet-") as tmp:
        base = Path(tmp)
        try:
            dirs = write_textfiles(base)
            targets = {name: start_node_exporter(processes, directory, directory) for name, directory in dirs.items()}
            url = start_prometheus_for(processes, base, targets)
            svg = asyncio.run(shoot(url, out, (columns, lines)))
        finally:
            processes.stop_all()
    print(f"{svg} (and .png when rsvg-convert is installed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
