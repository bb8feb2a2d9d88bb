"""The fleet's pure parts: host names from instance labels, the ssh command (untrusted labels
must never become ssh options), faults, the [prometheus]/[fleet] config, credentials."""

from __future__ import annotations

import base64
import socket
import threading

import pytest

from tui.core.config import ConfigError, PrometheusConfig, load_config
from tui.core.fleet import (
    CodeCount,
    FleetError,
    FleetHost,
    PrometheusClient,
    PrometheusUnreachable,
    QueryFailed,
    _authorization,
    host_of,
    ssh_command,
)


@pytest.mark.parametrize(
    ("instance", "host"),
    [("git1.example.org:9100", "git1.example.org"), ("[2001:db8::1]:9100", "2001:db8::1"), ("git1", "git1"), ("10.0.0.7:9100", "10.0.0.7")],
)
def test_host_of(instance, host):
    assert host_of(instance) == host


def test_ssh_command_fills_in_the_host_without_a_shell():
    host = FleetHost("git1.example.org:9100")
    assert ssh_command(host) == ["ssh", "-t", "git1.example.org", "gitward"]
    assert ssh_command(host, ["mosh", "{host}", "--", "sudo", "-u", "gerrit", "gitward"]) == [
        "mosh", "git1.example.org", "--", "sudo", "-u", "gerrit", "gitward",
    ]  # fmt: skip


@pytest.mark.parametrize("instance", ["-oProxyCommand=touch /tmp/x:9100", "host name:9100", "evil\x1b[31m:9100", "a;rm -rf /", ""])
def test_ssh_command_refuses_what_ssh_or_a_terminal_would_misread(instance):
    with pytest.raises(FleetError):
        ssh_command(FleetHost(instance))


def test_faulted_and_worst():
    quiet = FleetHost("a:9100")
    quiet.problems["info"] = 3
    assert not quiet.faulted and quiet.worst == "info"
    broken = FleetHost("b:9100")
    broken.problems["error"] = 1
    broken.codes = [CodeCount("stale-loose-ref", "error", 1)]
    assert broken.faulted and broken.worst == "error" and broken.codes_text() == "stale-loose-ref×1"
    stale = FleetHost("c:9100", stale=True)
    assert stale.faulted
    differing = FleetHost("d:9100", compare={"replica-1": {"stale-loose": 2}})
    assert differing.faulted and differing.compare_text() == "replica-1: 2 differences"
    same = FleetHost("e:9100", compare={"replica-1": {"stale-loose": 0}})
    assert not same.faulted and same.compare_text() == "replica-1: same"


def test_authorization_headers(tmp_path):
    assert _authorization(PrometheusConfig()) is None
    token_file = tmp_path / "token"
    token_file.write_text("tok-123\n")
    assert _authorization(PrometheusConfig(bearer_token_file=str(token_file))) == "Bearer tok-123"
    basic = _authorization(PrometheusConfig(username="ops", password="pw"))
    assert basic == "Basic " + base64.b64encode(b"ops:pw").decode()
    with pytest.raises(FleetError) as caught:
        _authorization(PrometheusConfig(username="ops", password_file=str(tmp_path / "missing")))
    assert "password_file" in str(caught.value)


def test_client_repr_and_errors_never_show_credentials():
    client = PrometheusClient("https://ops:hunter2@prom.example.org", PrometheusConfig(username="ops", password="hunter2"))
    assert "hunter2" not in client.shown_url and "hunter2" not in repr(PrometheusConfig(password="hunter2", bearer_token="hunter2"))
    with pytest.raises(FleetError) as caught:
        PrometheusClient("ftp://ops:hunter2@prom")
    assert "hunter2" not in str(caught.value)


def write(tmp_path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return str(path)


def test_config_reads_prometheus_and_fleet(tmp_path):
    config = load_config(write(tmp_path, """
[prometheus]
url = "https://prom.example.org:9090"
username = "ops"
password_file = "~/prom-password"

[fleet]
command = ["ssh", "-t", "{host}", "sudo", "-u", "gerrit", "gitward"]
stale_after_seconds = 900
"""))
    assert config.prometheus.url == "https://prom.example.org:9090" and config.prometheus.username == "ops"
    assert not config.prometheus.password_file.startswith("~")
    assert config.fleet.command == ("ssh", "-t", "{host}", "sudo", "-u", "gerrit", "gitward")
    assert config.fleet.stale_after_seconds == 900.0
    assert load_config(write(tmp_path, "")).fleet.command == ("ssh", "-t", "{host}", "gitward")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[prometheus]\nurl = "prom:9090"\n', "must start with http:// or https://"),
        ('[prometheus]\nurls = "http://p"\n', "unknown key 'prometheus.urls'"),
        ('[prometheus]\npassword = "x"\n', "'prometheus.username' is needed"),
        ('[prometheus]\nusername = "u"\npassword = "x"\nbearer_token = "t"\n', "set one kind"),
        ('[prometheus]\nbearer_token = "t"\nbearer_token_file = "/f"\n', "not both"),
        ('[fleet]\ncommand = "ssh -t {host} gitward"\n', "array of strings (no shell)"),
        ('[fleet]\ncommand = ["ssh", "-t", "gitward"]\n', "put {host} or {instance}"),
        ("[fleet]\nstale_after_seconds = 0\n", "positive number of seconds"),
    ],
)
def test_config_errors(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert message in str(caught.value)


def test_config_error_about_a_secret_does_not_quote_it(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, '[prometheus]\nusername = "u"\npassword = 123456789\n'))
    assert "123456789" not in str(caught.value) and "prometheus.password" in str(caught.value)


def _serve_once(reply: bytes) -> tuple[str, threading.Thread]:
    """A TCP server on 127.0.0.1 that answers one connection with ``reply`` and closes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer() -> None:
        with server:
            connection, _ = server.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(reply)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.getsockname()[1]}", thread


@pytest.mark.parametrize(
    ("reply", "error", "words"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n", PrometheusUnreachable, "cannot talk HTTP"),
        (b"HTTP/1.0 404 Not Found\r\nContent-Type: text/html\r\n\r\n<h1>nginx</h1>", QueryFailed, "HTTP 404"),
        (b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<h1>welcome</h1>", QueryFailed, "did not answer like Prometheus"),
        (b'HTTP/1.0 200 OK\r\n\r\n{"status":"success","data":{"resultType":"matrix","result":[]}}', QueryFailed, "expected a vector"),
    ],
)
def test_something_that_is_not_prometheus_is_one_clear_error(reply, error, words):
    url, thread = _serve_once(reply)
    with pytest.raises(error) as caught:
        PrometheusClient(url).query("up")
    thread.join(10)
    assert words in str(caught.value) and "\n" not in str(caught.value)
