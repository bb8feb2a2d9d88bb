"""The whole chain with real components on 127.0.0.1:

``gitward scan DEMO --format prometheus --output DIR/gitward.prom`` -> a real node_exporter
(textfile collector only) -> a real Prometheus scraping every second -> ``gitward fleet`` and the
fleet console. Every process is killed at teardown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from fleet_support import (
    Processes,
    free_port,
    http_get,
    needs_node_exporter,
    needs_prometheus,
    query,
    start_node_exporter,
    start_prometheus,
    wait_until,
)

from tui.demo import build_demo

pytestmark = [needs_node_exporter, needs_prometheus]

GITWARD = [sys.executable, "-m", "tui"]


@dataclass
class Stack:
    demo: str
    textfile_dir: Path
    node_exporter: str  # host:port, also the instance label
    clean_exporter: str  # a second host, without findings
    prometheus: str  # base URL
    tmp: Path
    processes: Processes


def gitward(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GITWARD, *argv], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env=env)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fleet")
    demo = build_demo(str(tmp / "demo"))
    textfile_dir = tmp / "textfile"
    textfile_dir.mkdir()
    scan = gitward("scan", demo, "--format", "prometheus", "--output", str(textfile_dir / "gitward.prom"))
    assert scan.returncode == 0, scan.stderr
    clean_dir = tmp / "clean-textfile"
    clean_dir.mkdir()
    (tmp / "clean-host").mkdir()
    scan = gitward("scan", str(tmp / "clean-host"), "--format", "prometheus", "--output", str(clean_dir / "gitward.prom"))
    assert scan.returncode == 0, scan.stderr
    processes = Processes()
    try:
        exporter = start_node_exporter(processes, textfile_dir, textfile_dir)
        clean_exporter = start_node_exporter(processes, clean_dir, clean_dir)
        prometheus = start_prometheus(processes, tmp / "prometheus", [exporter, clean_exporter])
        wait_until(
            lambda: len(query(prometheus, "gitward_scan_last_success_timestamp_seconds")) == 2,
            "Prometheus has scraped gitward's metrics from both hosts",
        )
        yield Stack(demo, textfile_dir, exporter, clean_exporter, prometheus, tmp, processes)
    finally:
        processes.stop_all()


def test_node_exporter_serves_the_textfile_without_error(stack):
    status, body = http_get(f"http://{stack.node_exporter}/metrics")
    text = body.decode()
    assert status == 200
    assert "node_textfile_scrape_error 0" in text
    assert 'gitward_problems{code="stale-loose-ref"' in text  # node_exporter sorts the labels
    assert "gitward_scan_last_success_timestamp_seconds" in text


def test_fleet_json_lists_the_instance_with_its_stale_loose_ref_error(stack):
    result = gitward("fleet", "--json", "--prometheus", stack.prometheus)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    host, clean = document["hosts"]  # worst first
    assert host["instance"] == stack.node_exporter and host["host"] == "127.0.0.1"
    assert clean["instance"] == stack.clean_exporter and clean["codes"] == [] and clean["gitsync_roots"] == []
    assert clean["problems"] == {"error": 0, "warning": 0, "info": 0}
    assert {"code": "stale-loose-ref", "severity": "error", "count": 1} in host["codes"]
    assert host["codes"][0]["severity"] == "error"  # worst first
    assert host["problems"]["error"] >= 1 and host["stale"] is False
    assert 0 <= host["scan_age_seconds"] < 3600
    assert host["version"]
    (root,) = host["gitsync_roots"]
    assert root["root"] == os.path.join(stack.demo, "sync", "webapp") and root["stale_worktrees"] == 2
    assert document["prometheus"] == stack.prometheus


def test_fleet_text_table_and_stale_marking(stack):
    result = gitward("fleet", "--prometheus", stack.prometheus, "--stale-after", "0.001")
    assert result.returncode == 0, result.stderr
    assert stack.node_exporter in result.stdout and "stale-loose-ref×1" in result.stdout
    assert "STALE" in result.stdout and "2 with a stale scan" in result.stdout


def test_query_error_is_one_clear_line(stack):
    from tui.core.fleet import PrometheusClient, QueryFailed

    with pytest.raises(QueryFailed) as caught:
        PrometheusClient(stack.prometheus).query("sum(")
    assert "query failed: bad_data" in str(caught.value) and "\n" not in str(caught.value)


def test_a_prometheus_without_gitward_metrics_exits_1(stack):
    processes = Processes()
    try:
        empty = start_prometheus(processes, stack.tmp / "empty-prometheus", [])
        result = gitward("fleet", "--prometheus", empty)
    finally:
        processes.stop_all()
    assert result.returncode == 1 and result.stdout == ""
    assert "has no gitward metrics" in result.stderr and result.stderr.count("\n") == 1


def test_unreachable_prometheus_exits_2_with_one_line():
    result = gitward("fleet", "--prometheus", f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 2 and result.stdout == ""
    assert "cannot reach Prometheus" in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_basic_auth_from_the_config_file_is_used_and_never_printed(stack, tmp_path):
    processes = Processes()
    secret = "s3cret-Pa55word"
    try:
        guarded = start_prometheus(processes, tmp_path / "guarded", [stack.node_exporter], basic_auth=("ops", secret))
        wait_until(lambda: query(guarded, "gitward_build_info", auth=("ops", secret)), "guarded Prometheus has scraped")
        config_dir = tmp_path / "config"
        config_dir.mkdir()
        (tmp_path / "password").write_text(secret + "\n")
        config = config_dir / "config.toml"
        env = dict(os.environ, GITWARD_CONFIG_DIR=str(config_dir))

        config.write_text(f'[prometheus]\nurl = "{guarded}"\nusername = "ops"\npassword_file = "{tmp_path / "password"}"\n')
        good = gitward("fleet", "--json", env=env)
        config.write_text(f'[prometheus]\nurl = "{guarded}"\nusername = "ops"\npassword = "wrong-{secret}"\n')
        refused = gitward("fleet", "--json", env=env)
        anonymous = gitward("fleet", "--json", "--prometheus", guarded)
    finally:
        processes.stop_all()
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["hosts"][0]["instance"] == stack.node_exporter
    assert refused.returncode == 2 and "refused the credentials (HTTP 401)" in refused.stderr
    assert anonymous.returncode == 2 and "HTTP 401" in anonymous.stderr
    for result in (good, refused, anonymous):
        assert secret not in result.stdout + result.stderr


# --- the fleet console against the same real Prometheus -------------------------------------


async def _wait_loaded(pilot, screen, loads: int) -> None:
    from tui.app.testing import settle

    for _ in range(100):
        await settle(pilot)
        if screen.loads >= loads:
            return
    raise TimeoutError("the fleet screen did not load")


async def test_fleet_screen_filter_faults_and_enter_runs_the_command(stack, tmp_path, monkeypatch):
    from textual.drivers.headless_driver import HeadlessDriver

    from tui.app.screens.fleet import FleetApp
    from tui.core.fleet import PrometheusClient

    # The headless test driver cannot hand a terminal over; let it pretend, so Enter's
    # suspend -> run -> resume path runs for real.
    monkeypatch.setattr(HeadlessDriver, "can_suspend", property(lambda self: True))
    ran = tmp_path / "ran.txt"
    command = [sys.executable, "-c", "import sys; open(sys.argv[1], 'w').write(' '.join(sys.argv[2:]))", str(ran), "{host}", "{instance}"]
    app = FleetApp(PrometheusClient(stack.prometheus), command=command)
    suspended: list[str] = []
    async with app.run_test(size=(160, 30)) as pilot:
        app.app_suspend_signal.subscribe(app, lambda _: suspended.append("suspend"))
        app.app_resume_signal.subscribe(app, lambda _: suspended.append("resume"))
        screen = app.fleet_screen
        await _wait_loaded(pilot, screen, 1)
        table = screen.table
        assert [h.instance for h in table.rows] == [stack.node_exporter, stack.clean_exporter]
        assert "stale-loose-ref" in [c.code for c in table.rows[0].codes]

        await pilot.press("f")
        await pilot.pause()
        assert screen.faults_only and [h.instance for h in table.rows] == [stack.node_exporter]
        await pilot.press("f")
        await pilot.pause()
        assert table.row_count == 2

        await pilot.press("slash", *"nomatch")
        await pilot.pause()
        assert table.row_count == 0
        await pilot.press("escape")  # clears the filter, hides the box, back to the table
        await pilot.pause()
        assert table.row_count == 2 and not screen.row_filter.active and table.has_focus

        await pilot.press("slash", *"stale-loose", "enter")
        await pilot.pause()
        assert [h.instance for h in table.rows] == [stack.node_exporter] and table.has_focus

        await pilot.press("enter")
        await _wait_loaded(pilot, screen, 2)  # Enter's command ends, the screen asks again
    assert suspended == ["suspend", "resume"]
    assert ran.read_text() == f"127.0.0.1 {stack.node_exporter}"


async def test_fleet_screen_shows_an_unreachable_prometheus(tmp_path):
    from tui.app.screens.fleet import FleetApp
    from tui.core.fleet import PrometheusClient

    # [keys] from the config: fleet.* ids rebind here, the host console's ids are left alone.
    app = FleetApp(PrometheusClient(f"http://127.0.0.1:{free_port()}"), keys={"fleet.faults": "x", "host.rescan": "f5"})
    async with app.run_test(size=(120, 20)) as pilot:
        screen = app.fleet_screen
        await _wait_loaded(pilot, screen, 1)
        assert screen.table.row_count == 0
        assert "cannot reach Prometheus" in (screen.error or "")
        assert "cannot reach Prometheus" in screen.table.empty_text
        await pilot.press("x")
        await pilot.pause()
        assert screen.faults_only
