"""Hostile text in every output: nothing gitward prints can forge a line or drive the terminal.

Each control character an attacker with write access to a host (or a remote) can plant: OSC 52
(write the operator's clipboard), a CSI screen clear, BEL, CR, LF (forge a line), a C1 CSI
(U+009B), DEL, a bidirectional override, Rich markup, and a raw byte that is not UTF-8 (an
8-bit CSI to some terminals, and a crash for a strict UTF-8 stdout). They are planted in a
repository path, a ref name, a worktree path, a lock reason and a remote's output, and every
command is run as a separate process, as operators and cron run it, with a UTF-8 locale. Its
bytes are the evidence: text output must be valid UTF-8 with no control character but the line
ends, and no line may start with the planted text; JSON must hold no raw control byte and
decode to the exact values.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gitrepo import commit_chain, git, init_bare, init_repo, write_loose
from sync_support import add_commits, make_upstream, mirror_of

# One of each: OSC 52 (clipboard), CSI clear screen, BEL, CR, LF + a line to forge, C1 CSI,
# DEL, right-to-left override, Rich markup (no "/": it names files too).
HOSTILE = "\x1b]52;c;cHduZWQ=\x07\x1b[2J\x07bell\rcr\nforged\x9b31mc1\x7fdel\u202eltr[red]markup[blink]"
# On disk, also a byte that is not UTF-8 (os.fsencode turns the surrogate back into 0x9b).
HOSTILE_NAME = HOSTILE + "\udc9braw"
FORGED_STARTS = ("forged", "cr", "ltr")

# Never in text output: C0 but the line end, DEL, C1, surrogates, line separators, bidi controls.
GITWARD_LOG_LINE = re.compile(r"^\S+ » (?:%s)" % "|".join(FORGED_STARTS))
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def gitward(*argv: str) -> subprocess.CompletedProcess[bytes]:
    """The CLI in its own process, stdout and stderr pipes (no terminal), a UTF-8 locale."""
    env = dict(os.environ, LC_ALL="C.UTF-8")
    return subprocess.run([sys.executable, "-m", "tui", *argv], env=env, capture_output=True, timeout=120)


def assert_terminal_safe(data: bytes, what: str) -> str:
    text = data.decode("utf-8")  # strict: a raw undecodable byte fails here
    bad = sorted({hex(ord(c)) for c in UNSAFE.findall(text)})
    assert not bad, f"{what}: raw control characters {bad}:\n{text!r}"
    forged = [line for line in text.splitlines() if line.startswith(FORGED_STARTS)]
    # In a sync log a remote's own lines may say anything, but never as gitward's ("»").
    forged += [line for line in text.splitlines() if GITWARD_LOG_LINE.match(line)]
    assert not forged, f"{what}: forged lines {forged}"
    return text


def assert_json_safe(data: bytes, what: str):
    raw = [hex(b) for b in set(data) if b < 0x20 and b != 0x0A or b >= 0x7F]
    assert not raw, f"{what}: raw bytes {sorted(raw)} in JSON"
    return json.loads(data)


def ok(result: subprocess.CompletedProcess[bytes], what: str) -> subprocess.CompletedProcess[bytes]:
    assert result.returncode == 0, f"{what}: exit {result.returncode}: {result.stderr.decode('utf-8', 'replace')}"
    return result


@pytest.fixture
def host(tmp_path) -> dict[str, Path]:
    """A host root holding a bare repository and a repository with linked worktrees, both with
    hostile names, hostile ref names and hostile lock reasons."""
    root = tmp_path / "host"
    root.mkdir()
    bare = init_bare(root / f"{HOSTILE_NAME}.git")
    commits = commit_chain(bare, 3)
    write_loose(bare, f"refs/heads/{HOSTILE_NAME}", commits[1])  # a ref git would refuse to name
    write_loose(bare, f"refs/tags/{HOSTILE_NAME}", "junk")  # and one that cannot be parsed: a problem quoting it
    git(bare, "update-ref", "refs/heads/shadowed", commits[2])
    git(bare, "pack-refs", "--all")
    write_loose(bare, "refs/heads/shadowed", commits[1])  # stale-loose: shadows prune has work
    main = init_repo(root / f"work-{HOSTILE_NAME}")
    commit_chain(main, 1)
    git(main, "checkout", "-q", "main")
    git(main, "worktree", "add", "-q", "--detach", str(tmp_path / f"wt-{HOSTILE_NAME}"))
    git(main, "worktree", "add", "-q", "--detach", str(tmp_path / "plain"))
    worktree_ids = sorted(os.listdir(main / ".git" / "worktrees"))
    hostile_id = next(i for i in worktree_ids if i != "plain")
    (main / ".git" / "worktrees" / hostile_id / "locked").write_text(HOSTILE_NAME, errors="surrogateescape")
    return {"root": root, "bare": bare, "main": main, "plain": tmp_path / "plain"}


def test_read_commands_escape_in_text_and_keep_exact_values_in_json(host):
    root, bare, main = str(host["root"]), str(host["bare"]), str(host["main"])
    for argv in (["scan", root], [root], ["refs", bare], ["worktrees", main], ["shadows", "prune", bare, "--dry-run"]):
        result = gitward(*argv)
        assert result.returncode in (0, 1), result.stderr
        out = assert_terminal_safe(result.stdout, " ".join(argv[:2]))
        assert_terminal_safe(result.stderr, " ".join(argv[:2]) + " (stderr)")
        if argv[0] in ("scan", root):
            # Shown escaped, exactly enough to be found again; markup is plain text.
            assert "\\x1b]52;c;cHduZWQ=\\x07\\x1b[2J\\x07bell\\rcr\\nforged\\x9b31mc1\\x7fdel\\u202eltr" in out
            assert "[red]markup[blink]\\x9braw.git" in out
    scan = assert_json_safe(ok(gitward("scan", root, "--json"), "scan --json").stdout, "scan --json")
    assert {r["path"] for r in scan["repos"]} == {bare, main}
    refs = assert_json_safe(ok(gitward("refs", bare, "--json"), "refs --json").stdout, "refs --json")
    assert f"refs/heads/{HOSTILE_NAME}" in {r["name"] for r in refs}
    worktrees = assert_json_safe(ok(gitward("worktrees", main, "--json"), "worktrees --json").stdout, "worktrees --json")
    assert HOSTILE_NAME in {w["lock_reason"] for w in worktrees}
    assert str(host["plain"].parent / f"wt-{HOSTILE_NAME}") in {w["path"] for w in worktrees}
    plan = gitward("shadows", "prune", bare, "--dry-run", "--json")
    assert_json_safe(plan.stdout, "shadows prune --json")


def test_error_lines_escape_what_they_quote(host):
    missing = str(host["root"] / f"missing-{HOSTILE_NAME}")
    result = gitward("refs", missing)
    assert result.returncode == 2
    err = assert_terminal_safe(result.stderr, "refs MISSING (stderr)")
    assert err.startswith("gitward: ") and err.count("\n") == 1
    result = gitward("worktree", "lock", str(host["main"]), HOSTILE_NAME)
    assert result.returncode != 0
    assert_terminal_safe(result.stderr, "worktree lock UNKNOWN (stderr)")


def test_writes_and_the_journal_escape_in_text_and_keep_exact_values_in_json(host):
    bare, main = str(host["bare"]), str(host["main"])
    for argv in (
        ["worktree", "lock", main, "plain", "--reason", HOSTILE],
        ["shadows", "prune", bare, "--yes"],
        ["worktree", "unlock", main, "plain"],
    ):
        result = ok(gitward(*argv), " ".join(argv[:2]))
        assert_terminal_safe(result.stdout, " ".join(argv[:2]))
        assert_terminal_safe(result.stderr, " ".join(argv[:2]) + " (stderr)")
    listing = assert_terminal_safe(ok(gitward("journal"), "journal").stdout, "journal")
    assert listing.count("\n") == 4  # the header and three entries: nothing forged
    entries = assert_json_safe(ok(gitward("journal", "--json"), "journal --json").stdout, "journal --json")
    assert any(HOSTILE in entry["summary"] for entry in entries)
    prune_entry = next(entry for entry in entries if entry["repo"] == bare)
    undone = ok(gitward("undo", prune_entry["id"], "--yes"), "undo")
    assert_terminal_safe(undone.stdout, "undo")
    assert_terminal_safe(undone.stderr, "undo (stderr)")


def test_worktree_prune_and_lock_files_escape_what_they_quote(host):
    bare, main = host["bare"], host["main"]
    shutil.rmtree(host["plain"])  # prunable: its directory is gone
    (bare / "refs" / "heads" / f"{HOSTILE_NAME}.lock").write_bytes(b"")  # a lock file someone left
    old = time.time() - 7 * 86400
    os.utime(bare / "refs" / "heads" / f"{HOSTILE_NAME}.lock", (old, old))
    for argv in (
        ["worktree", "prune", str(main), "--dry-run"],
        ["scan", str(host["root"])],
        ["locks", "clear", str(bare), f"refs/heads/{HOSTILE_NAME}.lock", "--dry-run"],
    ):
        result = gitward(*argv)
        assert result.returncode in (0, 1), result.stderr
        out = assert_terminal_safe(result.stdout, " ".join(argv[:2]))
        assert_terminal_safe(result.stderr, " ".join(argv[:2]) + " (stderr)")
        if argv[0] == "locks":
            assert "\\nforged" in out  # the lock file named, escaped
    cleared = gitward("locks", "clear", str(bare), f"refs/heads/{HOSTILE_NAME}.lock", "--dry-run", "--json")
    plan = assert_json_safe(cleared.stdout, "locks clear --json")
    assert any(HOSTILE_NAME in str(value) for value in plan.values())  # the exact name


# Shell printf's view of HOSTILE (octal escapes), as a remote prints it on stderr.
def _printf_escaped(text: str) -> str:
    return "".join(f"\\{b:03o}" if b < 0x20 or b >= 0x7F or chr(b) in "%\\'" else chr(b) for b in os.fsencode(text))


def test_sync_log_stdout_and_log_file_hold_no_control_characters(tmp_path, host):
    upstream = tmp_path / "up.git"
    make_upstream(upstream, 1)
    mirror = mirror_of(upstream, host["root"] / f"mirror-{HOSTILE_NAME}.git")
    add_commits(upstream)
    wrapper = tmp_path / "hostile-upload-pack.sh"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"printf '{_printf_escaped(HOSTILE_NAME)}\\n' >&2\n"
        f"printf 'progress {_printf_escaped(HOSTILE)} 50%%\\r' >&2\n"
        'exec git-upload-pack "$@"\n'
    )
    wrapper.chmod(0o755)
    git(mirror, "config", "remote.origin.uploadpack", str(wrapper))
    result = ok(gitward("sync", str(mirror), "--yes"), "sync")
    out = assert_terminal_safe(result.stdout, "sync")
    assert_terminal_safe(result.stderr, "sync (stderr)")
    assert "[red]markup[blink]" in out and "forged" in out  # the remote's text is there, as text
    logs = sorted(Path(os.environ["GITWARD_LOG_DIR"]).glob("sync-*.log"))
    assert logs
    for log in logs:
        assert_terminal_safe(log.read_bytes(), log.name)


# --- private keys printed by a remote ---------------------------------------------------------


def _new_private_key(path: Path, *args: str) -> str:
    done = subprocess.run(["ssh-keygen", "-q", "-N", "", "-C", "leaked", "-f", str(path), *args], capture_output=True)
    assert done.returncode == 0, done.stderr
    return path.read_text()


def _key_body_lines(key: str) -> list[str]:
    return [line for line in key.splitlines() if line and "-----" not in line]


@pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v ssh-keygen"], capture_output=True).returncode != 0, reason="needs ssh-keygen")
def test_a_private_key_printed_by_the_remote_reaches_no_output(tmp_path):
    openssh = _new_private_key(tmp_path / "id_ed25519", "-t", "ed25519")
    pem = _new_private_key(tmp_path / "id_rsa", "-t", "rsa", "-b", "1024", "-m", "PEM")
    assert openssh.startswith("-----BEGIN OPENSSH PRIVATE KEY-----") and "-----BEGIN RSA PRIVATE KEY-----" in pem
    upstream = tmp_path / "up.git"
    make_upstream(upstream, 1)
    mirror = mirror_of(upstream, tmp_path / "mirror.git")
    add_commits(upstream)
    (tmp_path / "openssh").write_text(openssh)
    (tmp_path / "pem").write_text(pem.replace("\n", "\r\n"))  # a remote with CRLF line ends
    wrapper = tmp_path / "leaky-upload-pack.sh"
    # The OpenSSH key arrives in pieces: the BEGIN marker and a body line are cut across writes
    # (the server pauses between them, as a slow remote does), so gitward reads them apart.
    wrapper.write_text(
        "#!/bin/sh\n"
        "echo 'deploy key follows:' >&2\n"
        f"head -c 20 {tmp_path / 'openssh'} >&2; sleep 0.2\n"
        f"head -c 60 {tmp_path / 'openssh'} | tail -c 40 >&2; sleep 0.2\n"
        f"tail -c +61 {tmp_path / 'openssh'} >&2\n"
        "echo 'between the keys' >&2\n"
        f"cat {tmp_path / 'pem'} >&2\n"
        "echo 'after the keys' >&2\n"
        'exec git-upload-pack "$@"\n'
    )
    wrapper.chmod(0o755)
    git(mirror, "config", "remote.origin.uploadpack", str(wrapper))
    result = ok(gitward("sync", str(mirror), "--yes"), "sync")
    logs = sorted(Path(os.environ["GITWARD_LOG_DIR"]).glob("sync-*.log"))
    assert logs
    outputs = {"stdout": result.stdout.decode(), "stderr": result.stderr.decode()}
    outputs |= {log.name: log.read_text() for log in logs}
    secrets = _key_body_lines(openssh) + _key_body_lines(pem)
    for where, text in outputs.items():
        leaked = [line for line in secrets if line[:16] in text or line[-16:] in text]
        assert not leaked, f"{where} holds key material: {leaked[:2]}"
    out = outputs["stdout"]
    assert "-----BEGIN OPENSSH PRIVATE KEY----- ***" in out and "-----BEGIN RSA PRIVATE KEY----- ***" in out
    # The blocks end where the keys end: what follows is shown again.
    assert "between the keys" in out and "after the keys" in out and "main" in out
