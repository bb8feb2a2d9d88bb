"""compare across two machines through ssh: the real ssh client against a real sshd on 127.0.0.1.

The sshd is started by the test with its own config, host key and a throwaway client key. The
authorized key forces a small wrapper (``command=``) that puts the directory named in a file on
PATH and runs the requested command: robust whatever sshd's AcceptEnv/SetEnv support, and it lets
a test take gitward off the remote PATH.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from compare_support import make_incident, plan_commands, run_cli

from tui.core.compare.sides import SideError, SshSide, parse_ssh_url, ssh_argv

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"

pytestmark = [
    pytest.mark.skipif(not os.path.exists(SSHD), reason="sshd (openssh-server) is not installed"),
    pytest.mark.skipif(shutil.which("ssh") is None, reason="the ssh client is not installed"),
    pytest.mark.skipif(shutil.which("rsync") is None, reason="rsync is not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sshd:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.key = base / "id_ed25519"
        self.known_hosts = base / "known_hosts"
        self.path_file = base / "remote-path"
        self.port = _free_port()
        self.user = getpass.getuser()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        base = self.base
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / "host_key")], check=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)], check=True)
        gitward_bin = base / "bin"
        gitward_bin.mkdir()
        # the installed entry point of this interpreter's gitward, as an operator's host has it
        (gitward_bin / "gitward").symlink_to(Path(sys.executable).parent / "gitward")
        self.path_file.write_text(str(gitward_bin))
        wrapper = base / "forced-command"
        wrapper.write_text(
            "#!/bin/sh\n"
            f'PATH="$(cat {self.path_file}):/usr/local/bin:/usr/bin:/bin"; export PATH\n'
            'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n'
        )
        wrapper.chmod(0o755)
        public = (base / "id_ed25519.pub").read_text().strip()
        (base / "authorized_keys").write_text(f'command="{wrapper}",no-pty,no-port-forwarding {public}\n')
        config = base / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {base / 'host_key'}\n"
            f"PidFile {base / 'sshd.pid'}\nAuthorizedKeysFile {base / 'authorized_keys'}\n"
            "StrictModes no\nPermitRootLogin yes\nPubkeyAuthentication yes\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nLogLevel ERROR\n"
        )
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.process.stderr.read().decode(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    if conn.recv(4).startswith(b"SSH-"):
                        return
            except OSError:
                pass
            time.sleep(0.05)  # polling the listener, not waiting for a duration
        raise RuntimeError("sshd did not start listening")

    def url(self, path: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{path}"

    def git_ssh_command(self) -> str:
        return (f"ssh -i {self.key} -F /dev/null -o UserKnownHostsFile={self.known_hosts} "
                "-o StrictHostKeyChecking=no -o LogLevel=ERROR")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    server = Sshd(tmp_path_factory.mktemp("sshd"))
    try:
        server.start()
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        server.stop()
        pytest.skip(f"sshd cannot run here: {exc}")
    yield server
    server.stop()


@pytest.fixture
def via_ssh(sshd, monkeypatch):
    monkeypatch.setenv("GIT_SSH_COMMAND", sshd.git_ssh_command())
    monkeypatch.delenv("GIT_SSH", raising=False)
    sshd.path_file.write_text(str(sshd.base / "bin"))
    return sshd


def test_incident_across_ssh(tmp_path, via_ssh, capsys):
    source, replica, facts = make_incident(tmp_path)
    url = via_ssh.url(source)
    code, out, err = run_cli(capsys, "compare", url, str(replica), "--plan")
    assert code == 1, err
    for name in facts["stale"]:
        assert f"[replica-stale-loose] {name}" in out
    assert "the source was read again at the end" in out  # ssh sides are re-read for "moving"
    assert f"{via_ssh.user}@127.0.0.1:{source}/ {replica}/" in out  # the rsync line names the host
    for command in plan_commands(out):
        assert run_cli(capsys, *command[1:])[0] == 0, command
    code, out, err = run_cli(capsys, "compare", url, str(replica))
    assert code == 0, out + err


def test_remote_without_gitward_is_one_clear_error(tmp_path, via_ssh, capsys):
    source, replica, _ = make_incident(tmp_path)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    via_ssh.path_file.write_text(str(empty))
    code, out, err = run_cli(capsys, "compare", via_ssh.url(source), str(replica))
    assert code == 2 and out == ""
    assert err.strip() == "gitward: 127.0.0.1: gitward is not installed there (or not on the ssh session's PATH)"


def test_unreachable_host_is_an_error_naming_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GIT_SSH_COMMAND", "ssh -F /dev/null -o ConnectTimeout=5")
    code, _, err = run_cli(capsys, "compare", f"ssh://127.0.0.1:{_free_port()}/srv", str(tmp_path))
    assert code == 2 and "127.0.0.1" in err and len(err.strip().splitlines()) == 1


def test_ssh_started_as_git_starts_it(monkeypatch):
    url = parse_ssh_url("ssh://git@host.example:2222/srv/git")
    assert (url.user, url.host, url.port, url.path) == ("git", "host.example", 2222, "/srv/git")
    tail = ["-o", "BatchMode=yes", "-p", "2222", "git@host.example", "gitward manifest /srv/git"]
    assert ssh_argv(url, "gitward manifest /srv/git", {}) == ["ssh", *tail]
    assert ssh_argv(url, "gitward manifest /srv/git", {"GIT_SSH": "/opt/myssh"}) == ["/opt/myssh", *tail]
    both = {"GIT_SSH": "/opt/myssh", "GIT_SSH_COMMAND": "ssh -i key"}
    assert ssh_argv(url, "gitward manifest /srv/git", both) == ["/bin/sh", "-c", 'ssh -i key "$@"', "ssh -i key", *tail]
    with pytest.raises(SideError):
        parse_ssh_url("ssh://-oProxyCommand=x/srv")
    with pytest.raises(SideError):
        SshSide("ssh://host-without-path")
