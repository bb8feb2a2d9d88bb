"""gitward manifest: Gitaly's checksum against git show-ref, the JSON Lines file, atomic -o."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess

from compare_support import run_cli
from gitrepo import commit_chain, git, init_bare, write_loose

from tui.core.compare.checksum import ZERO_CHECKSUM, format_checksum
from tui.core.discovery import repository_at
from tui.core.compare.manifest import ManifestReader, read_repo, write_manifest_file
from tui.core.refstore import iter_refs

# Written out again here on purpose (not imported): Gitaly's internal/git/checksum.go.
GITALY_PATTERN = re.compile(rb"HEAD|(refs/(heads|tags|keep-around|merge-requests|environments|notes)/)")


def checksum_from_show_ref(repo) -> str:
    """What Gitaly's CalculateChecksum answers, computed from `git show-ref --head` as Gitaly does."""
    completed = subprocess.run(["git", "-C", str(repo), "show-ref", "--head"], capture_output=True)
    total = 0
    for line in completed.stdout.split(b"\n"):
        if line and GITALY_PATTERN.search(line):
            total ^= int(hashlib.sha1(line).hexdigest(), 16)
    if completed.returncode not in (0, 1) or total == 0:
        return "0" * 40  # show-ref failed or counted nothing: Gitaly's zero checksum
    raw = total.to_bytes((total.bit_length() + 7) // 8, "big")  # Go's big.Int.Bytes()
    return raw.hex()


def gitlab_like_repo(path):
    repo = init_bare(path)
    main = commit_chain(repo, 4)
    git(repo, "update-ref", "refs/heads/feature", main[1])
    git(repo, "tag", "light", main[0])
    git(repo, "tag", "-a", "-m", "annotated", "v1", main[2])
    git(repo, "update-ref", f"refs/keep-around/{main[1]}", main[1])
    git(repo, "update-ref", "refs/merge-requests/1/head", main[2])
    git(repo, "update-ref", "refs/environments/production/deployments/1", main[3])
    git(repo, "notes", "add", "-m", "a note", main[3])
    git(repo, "update-ref", "refs/changes/01/1/meta", main[2])  # Gerrit: not in Gitaly's set
    git(repo, "update-ref", "refs/pipelines/7", main[1])  # GitLab, but not in the set
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/heads/main")  # counted: "HEAD" matches
    git(repo, "pack-refs", "--all")
    git(repo, "update-ref", "refs/heads/loose-only", main[0])
    write_loose(repo, "refs/heads/feature", main[0])  # both loose and packed: loose wins, as in show-ref
    write_loose(repo, "refs/heads/dangling", b"ref: refs/heads/nowhere\n")  # omitted by git
    return repo


def test_gitaly_checksum_matches_show_ref(tmp_path):
    repo = gitlab_like_repo(tmp_path / "p.git")
    manifest = read_repo(repository_at(str(repo)))
    expected = checksum_from_show_ref(repo)
    assert expected != ZERO_CHECKSUM
    assert manifest.gitaly_checksum == expected
    # the namespaces outside the set do not count; one inside does
    git(repo, "update-ref", "refs/changes/02/2/meta", "main")
    assert read_repo(repository_at(str(repo))).gitaly_checksum == expected
    git(repo, "update-ref", "refs/tags/v2", "main")
    changed = read_repo(repository_at(str(repo))).gitaly_checksum
    assert changed != expected and changed == checksum_from_show_ref(repo)


def test_gitaly_checksum_of_empty_and_broken_repos(tmp_path):
    empty = init_bare(tmp_path / "empty.git")
    assert read_repo(repository_at(str(empty))).gitaly_checksum == ZERO_CHECKSUM == checksum_from_show_ref(empty)
    # git >= 2.36 (GIT_REF_PARANOIA on): show-ref dies on a broken ref or a ref to a missing
    # object in ANY namespace, and Gitaly answers zeros
    for name, content in [("refs/changes/01/1/meta", "2" * 40), ("refs/heads/broken", "not an id")]:
        repo = init_bare(tmp_path / f"{name.split('/')[-1]}.git")
        commit_chain(repo, 1)
        write_loose(repo, name, content)
        assert subprocess.run(["git", "-C", str(repo), "show-ref", "--head"], capture_output=True).returncode not in (0, 1)
        assert read_repo(repository_at(str(repo))).gitaly_checksum == ZERO_CHECKSUM == checksum_from_show_ref(repo)


def test_gitaly_checksum_read_with_a_twin_is_git_s_answer(tmp_path):
    """compare reads the replica with the source's manifest as its twin: with the same refs,
    Gitaly's lines are not hashed again, but the object check is still the replica's own."""
    source = gitlab_like_repo(tmp_path / "source.git")
    replica = tmp_path / "replica.git"
    subprocess.run(["cp", "-a", str(source), str(replica)], check=True)
    source_manifest = read_repo(repository_at(str(source)))
    assert read_repo(repository_at(str(replica)), twin=source_manifest).gitaly_checksum == checksum_from_show_ref(replica)
    # an object gone from the replica only: show-ref dies there, and Gitaly answers zeros
    tag = git(replica, "rev-parse", "refs/tags/v1").strip()  # the annotated tag's own object
    os.remove(replica / "objects" / tag[:2] / tag[2:])
    assert checksum_from_show_ref(replica) == ZERO_CHECKSUM
    assert read_repo(repository_at(str(replica)), twin=source_manifest).gitaly_checksum == ZERO_CHECKSUM
    # and the other way round: the twin's zeros are not the complete replica's answer
    broken_twin = read_repo(repository_at(str(replica)))
    assert read_repo(repository_at(str(source)), twin=broken_twin).gitaly_checksum == checksum_from_show_ref(source)
    # refs that differ: nothing is reused
    git(replica, "update-ref", "refs/tags/v2", "main")
    assert read_repo(repository_at(str(replica)), twin=source_manifest).gitaly_checksum == ZERO_CHECKSUM
    git(replica, "update-ref", "-d", "refs/tags/v1")
    assert (read_repo(repository_at(str(replica)), twin=source_manifest).gitaly_checksum
            == checksum_from_show_ref(replica) != source_manifest.gitaly_checksum)


def test_checksum_drops_leading_zero_bytes_like_go():
    assert format_checksum(0) == ZERO_CHECKSUM
    assert format_checksum(0x00FF << 8) == "ff00"
    assert format_checksum(1 << 159) == "80" + "00" * 19


def test_manifest_round_trip_keeps_every_ref(tmp_path):
    root = tmp_path / "host"
    gitlab_like_repo(root / "group" / "p.git")
    commit_chain(init_bare(root / "other.git"), 2)
    path = tmp_path / "out" / "host.manifest"
    path.parent.mkdir()
    assert write_manifest_file(str(path), [str(root)]) == 2
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "gitward-manifest" and header["version"] == 1
    assert header["ref_fields"][:3] == ["name", "value", "source"]
    assert [json.loads(line)["name"] for line in lines[1:]] == ["group/p.git", "other.git"]
    with ManifestReader(str(path)) as reader:
        assert reader.names() == ["group/p.git", "other.git"]
        loaded = reader.load("group/p.git")
    local = read_repo(repository_at(str(root / "group" / "p.git")))
    keys = ("name", "value", "source", "loose_value", "packed_value", "symbolic_target", "broken_reason")

    def rows(snapshot):
        return [tuple(r.to_json()[k] for k in keys) for r in iter_refs(snapshot)]

    assert rows(loaded.snapshot) == rows(local.snapshot)
    assert loaded.gitaly_checksum == local.gitaly_checksum
    assert loaded.storage_checksum == local.storage_checksum
    by_name = {r[0]: r for r in rows(loaded.snapshot)}
    assert by_name["refs/heads/feature"][2] == "both"
    assert by_name["refs/remotes/origin/HEAD"][5] == "refs/heads/main"


def test_manifest_cli_writes_atomically(tmp_path, capsys):
    root = tmp_path / "host"
    repo = init_bare(root / "a.git")
    commit_chain(repo, 1)
    git(repo, "config", "remote.origin.url", "https://user:secret@example.com/a.git")
    hook = repo / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\n")
    hook.chmod(0o755)
    out = tmp_path / "dir" / "m.jsonl"
    out.parent.mkdir()
    out.write_text("old content\n")
    code, stdout, err = run_cli(capsys, "manifest", str(root), "-o", str(out))
    assert code == 0 and stdout == ""
    assert sorted(os.listdir(out.parent)) == ["m.jsonl"]  # replaced, no temp file left
    repo_line = json.loads(out.read_text().splitlines()[1])
    assert repo_line["config"]["remote.origin.url"] == ["https://user:***@example.com/a.git"] or "secret" not in json.dumps(repo_line)
    assert "secret" not in out.read_text()
    assert repo_line["hooks"] == [{"name": "pre-receive", "sha256": hashlib.sha256(b"#!/bin/sh\n").hexdigest(), "executable": True}]
    # a bad root: an error, and the old file is untouched
    code, _, err = run_cli(capsys, "manifest", str(tmp_path / "nope"), "-o", str(out))
    assert code == 2 and "no such directory" in err
    assert out.read_text().startswith('{"format":"gitward-manifest"')
    # stdout: the same document
    code, stdout, _ = run_cli(capsys, "manifest", str(root))
    assert code == 0 and json.loads(stdout.splitlines()[1])["name"] == "a.git"


def test_gitaly_checksum_ignores_a_missing_packed_value_a_loose_file_hides(tmp_path):
    repo = init_bare(tmp_path / "hidden.git")
    main = commit_chain(repo, 2)
    git(repo, "pack-refs", "--all")
    with open(repo / "packed-refs", "a") as packed:
        packed.write(f"{'3' * 40} refs/heads/zz\n")  # a missing object, but shadowed:
    write_loose(repo, "refs/heads/zz", main[0])  # git lists the loose value only
    expected = checksum_from_show_ref(repo)
    assert expected != ZERO_CHECKSUM
    assert read_repo(repository_at(str(repo))).gitaly_checksum == expected

