"""Real node_exporter and Prometheus on 127.0.0.1 for the fleet tests.

Each process gets a free port, a tmp dir, and is killed at teardown. Waits poll an HTTP answer
with a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

NODE_EXPORTER = shutil.which("prometheus-node-exporter") or shutil.which("node_exporter")
PROMETHEUS = shutil.which("prometheus")
needs_node_exporter = pytest.mark.skipif(NODE_EXPORTER is None, reason="prometheus-node-exporter not installed (Debian package prometheus-node-exporter)")
needs_prometheus = pytest.mark.skipif(PROMETHEUS is None, reason="prometheus not installed (Debian package prometheus)")
DEADLINE_SECONDS = 90.0  # a loaded 2-core CI machine starts Prometheus in seconds; never this long
POLL_SECONDS = 0.1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, auth: tuple[str, str] | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until(check, what: str, process: subprocess.Popen | None = None, deadline: float = DEADLINE_SECONDS):
    """Poll ``check()`` until it returns something truthy; fail with ``what`` at the deadline."""
    end = time.monotonic() + deadline
    last_error: Exception | None = None
    while time.monotonic() < end:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {process.returncode}")
        try:
            result = check()
        except (OSError, urllib.error.URLError, ValueError) as exc:
            last_error, result = exc, None
        if result:
            return result
        time.sleep(POLL_SECONDS)  # a poll interval, not a wait for a state
    raise TimeoutError(f"{what}: not within {deadline} s (last error: {last_error})")


class Processes:
    """Started processes, all stopped at teardown (terminate, then kill)."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, argv: list[str], log: Path) -> subprocess.Popen:
        handle = open(log, "wb")
        process = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        handle.close()
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def start_node_exporter(processes: Processes, textfile_dir: Path, log_dir: Path) -> str:
    def launch(address: str) -> subprocess.Popen:
        return processes.start(
            [
                NODE_EXPORTER,
                "--collector.disable-defaults",
                "--collector.textfile",
                f"--collector.textfile.directory={textfile_dir}",
                f"--web.listen-address={address}",
            ],
            log_dir / "node_exporter.log",
        )

    return _start_on_a_free_port(launch, lambda address: http_get(f"http://{address}/metrics")[0] == 200, "node_exporter serving /metrics")


def _start_on_a_free_port(launch, ready, what: str, attempts: int = 3) -> str:
    """Start on a port that was free a moment ago; another test may take it first, so a
    process that exits before it is ready is started again on another port."""
    for attempt in range(attempts):
        address = f"127.0.0.1:{free_port()}"
        process = launch(address)
        try:
            wait_until(lambda: ready(address), what, process)
            if process.poll() is None:  # not a neighbour's process answering on that port
                return address
        except AssertionError:
            if attempt == attempts - 1:
                raise
    raise AssertionError(what)


def start_prometheus(
    processes: Processes, tmp: Path, targets: list[str], basic_auth: tuple[str, str] | None = None
) -> str:
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "prometheus.yml"
    scrape = ""
    if targets:
        scrape = "scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: " + json.dumps(targets) + "\n"
    config.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n" + scrape)
    argv = [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}"]
    if basic_auth:
        import warnings

        with warnings.catch_warnings():  # deprecated module; glibc's bcrypt is what Prometheus needs
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                import crypt
            except ImportError:  # gone in Python 3.13
                pytest.skip("no crypt module to hash a password for Prometheus's basic auth")

        hashed = crypt.crypt(basic_auth[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
        web = tmp / "web.yml"
        web.write_text(f"basic_auth_users:\n  {basic_auth[0]}: '{hashed}'\n")
        argv.append(f"--web.config.file={web}")
    address = _start_on_a_free_port(
        lambda address: processes.start([*argv, f"--web.listen-address={address}"], tmp / "prometheus.log"),
        lambda address: http_get(f"http://{address}/-/ready", auth=basic_auth)[0] == 200,
        "Prometheus ready",
    )
    return f"http://{address}"


def query(url: str, expr: str, auth: tuple[str, str] | None = None) -> list[dict]:
    status, body = http_get(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}), auth=auth)
    if status != 200:
        return []
    return json.loads(body)["data"]["result"]
