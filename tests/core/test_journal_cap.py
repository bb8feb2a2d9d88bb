"""A bounded journal (issue 8, item 7): listings read headers only, the cap expires undo data
(by size and by age) and says so, and the config sets the cap."""

from __future__ import annotations

import builtins
import json
import os
import time
from pathlib import Path

import pytest

from gitrepo import git, init_with_worktrees
from refedit_support import run_cli
from tui.core.config import ConfigError, JournalConfig, load_config
from tui.core.write.journal import Journal, JournalLimits
from tui.core.write.journal_entry import EXPIRED_NOTE, PREVIEW
from tui.core.write.undo import undo
from tui.core.write.errors import RefusedError

DAY = 86400.0


def big_entry(journal: Journal, n: int = 500, repo: str = "/srv/git/big.git"):
    """An entry the size of a real 500-ref prune: intent, locks, before-image with contents."""
    intent = [{"ref": f"refs/changes/{i:02d}/{i}/meta", "action": "keep-packed", "before": "a" * 40, "after": "b" * 40} for i in range(n)]
    locks = [{"path": f"{repo}/refs/changes/{i:02d}/{i}/meta.lock", "marker": "gitward lock nonce=x pid=1 host=h\n"} for i in range(n)]
    entry = journal.begin("shadows-prune", repo, f"prune {n} shadows", intent, locks=locks)
    items = [dict(item, loose_b64="QUFB" * 60, packed_lines_b64=["QkJC" * 30]) for item in intent]
    journal.record_before(entry, items, locks=[])
    journal.mark_done(entry)
    return entry


def test_listing_reads_headers_only(tmp_path, monkeypatch):
    journal = Journal(str(tmp_path / "journal"), limits=JournalLimits(10**12, 1000 * DAY))
    for _ in range(3):
        big_entry(journal)
    opened = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):
        opened.append(os.path.basename(str(file)))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    entries = Journal(journal.root).entries()
    monkeypatch.setattr(builtins, "open", real_open)
    assert len(entries) == 3 and all(e.status == "done" and e.has_before for e in entries)
    assert "before.json" not in opened and "intent.json" not in opened, opened
    listed = entries[0].to_json()
    assert len(listed["items"]) == PREVIEW and listed["item_count"] == 500
    assert len(listed["locks"]) == PREVIEW and listed["lock_count"] == 500
    assert "loose_b64" not in json.dumps(listed)
    # undo and show read the rest on demand
    assert len(entries[0].items) == 500 and entries[0].items[0]["loose_b64"]
    assert len(entries[0].to_json(full=True)["items"]) == 500


def test_journal_json_is_small_and_journal_id_shows_everything(tmp_path):
    journal = Journal()  # the CLI's journal (GITWARD_STATE_DIR of this test)
    entries = [big_entry(journal) for _ in range(5)]
    listing = run_cli("journal", "--json")
    assert listing.returncode == 0, listing.stderr
    assert len(listing.stdout) < 40_000, f"{len(listing.stdout)} bytes for 5 entries"
    data = json.loads(listing.stdout)
    assert [e["id"] for e in data] == [e.id for e in entries]
    first = data[0]
    # the documented fields are all still there
    for key in ("id", "status", "kind", "repo", "summary", "created", "finished", "user", "host", "pid",
                "items", "locks", "before_image", "error", "undo_of", "undone_by", "recovered_locks"):
        assert key in first, key
    assert first["item_count"] == 500 and len(first["items"]) == PREVIEW and first["undo_expired"] is None
    shown = run_cli("journal", entries[0].id, "--json")
    assert shown.returncode == 0, shown.stderr
    full = json.loads(shown.stdout)
    assert len(full["items"]) == 500 and full["items"][0]["loose_b64"] == "QUFB" * 60
    assert len(full["locks"]) == 500
    text = run_cli("journal", entries[0].id)
    assert text.returncode == 0 and "refs/changes/99/99/meta" in text.stdout and "QUFB" not in text.stdout


def write_config(text: str) -> None:
    path = Path(os.environ["GITWARD_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_size_cap_expires_undo_and_says_so(tmp_path):
    write_config("[journal]\nmax_bytes = 1\n")
    main = init_with_worktrees(tmp_path / "main", "../wt1")
    for command in ("lock", "unlock", "lock"):
        result = run_cli("worktree", command, main, "wt1")
        assert result.returncode == 0, result.stderr
    listed = json.loads(run_cli("journal", "--json").stdout)
    assert [e["status"] for e in listed] == ["done", "done", "done"]
    assert [e["undo_expired"] for e in listed] == [EXPIRED_NOTE, EXPIRED_NOTE, None]
    assert all(e["before_image"] for e in listed) and all(e["summary"] for e in listed)  # kept as a record
    journal = Journal()
    old = journal.get(listed[0]["id"])
    assert not os.path.exists(os.path.join(old.path, "before")) and not os.path.exists(os.path.join(old.path, "intent.json"))
    text = run_cli("journal").stdout
    assert text.count("done, undo expired") == 2  # the words the console uses too (journal_words)
    refused = run_cli("undo", listed[0]["id"], "--yes")
    assert refused.returncode == 1 and EXPIRED_NOTE in refused.stderr and "max_bytes" in refused.stderr
    assert (main / ".git/worktrees/wt1/locked").exists()  # nothing was changed
    newest = run_cli("undo", listed[2]["id"], "--yes")  # the newest keeps its undo
    assert newest.returncode == 0, newest.stderr
    assert not (main / ".git/worktrees/wt1/locked").exists()


def test_the_age_cap_expires_finished_entries_only(tmp_path):
    journal = Journal(str(tmp_path / "journal"), limits=JournalLimits(10**12, 90 * DAY))
    done = [big_entry(journal, 5) for _ in range(2)]
    interrupted = journal.begin("shadows-prune", "/srv/git/x.git", "killed", [{"ref": "refs/heads/x"}])
    journal.record_before(interrupted, [{"ref": "refs/heads/x"}])
    newest = big_entry(journal, 5)
    assert journal.apply_cap(now=time.time() + 30 * DAY) == []
    expired = journal.apply_cap(now=time.time() + 91 * DAY)
    assert expired == [e.id for e in done]  # not the unfinished one, not the newest
    for entry in done:
        loaded = journal.get(entry.id)
        assert loaded.undo_expired == EXPIRED_NOTE and "older than 90 days" in loaded.expired
        with pytest.raises(RefusedError, match="undo expired"):
            undo(journal, entry.id)
    assert journal.get(interrupted.id).items == [{"ref": "refs/heads/x"}]
    assert journal.get(newest.id).undo_expired is None


def test_the_size_cap_keeps_the_newest_entries_that_fit(tmp_path):
    sizes = []
    probe = Journal(str(tmp_path / "probe"), limits=JournalLimits(10**12, 1000 * DAY))
    big_entry(probe, 50)
    for folder, _dirs, files in os.walk(probe.root):
        sizes += [os.path.getsize(os.path.join(folder, f)) for f in files]
    one = sum(sizes)
    journal = Journal(str(tmp_path / "journal"), limits=JournalLimits(int(one * 2.5), 1000 * DAY))
    entries = [big_entry(journal, 50) for _ in range(6)]
    status = [journal.get(e.id).undo_expired for e in entries]
    assert status == [EXPIRED_NOTE] * 4 + [None, None]


@pytest.mark.parametrize(
    "text, message",
    [
        ("[journal]\nmax_bytes = 0\n", "'journal.max_bytes' must be at least 1"),
        ("[journal]\nmax_age_days = -1\n", "'journal.max_age_days' must be a positive number of days"),
        ("[journal]\nmax_age_days = 'never'\n", "'journal.max_age_days' must be a number of days"),
        ("[journal]\nmax_size = 5\n", "unknown key 'journal.max_size'"),
        ("journal = 5\n", "'journal' must be a table"),
    ],
)
def test_journal_config_is_validated(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(str(path))


def test_journal_config_defaults_and_values(tmp_path):
    assert load_config(str(tmp_path / "none.toml")).journal == JournalConfig(200 * 1024 * 1024, 90.0)
    path = tmp_path / "config.toml"
    path.write_text("[journal]\nmax_bytes = 1048576\nmax_age_days = 7\n")
    assert load_config(str(path)).journal == JournalConfig(1048576, 7.0)


def test_an_old_format_entry_is_still_listed_and_undone(tmp_path):
    """Entries written before intent.json existed keep their intent in entry.json."""
    main = init_with_worktrees(tmp_path / "main", "../wt1")
    result = run_cli("worktree", "lock", main, "wt1", "--reason", "r")
    assert result.returncode == 0, result.stderr
    journal = Journal()
    (entry,) = journal.entries()
    header = json.loads(Path(entry.path, "entry.json").read_text())
    intent = json.loads(Path(entry.path, "intent.json").read_text())
    for key in ("item_count", "items_preview", "lock_count", "locks_preview"):
        header.pop(key)
    Path(entry.path, "entry.json").write_text(json.dumps({**header, **intent}))
    os.unlink(Path(entry.path, "intent.json"))
    (listed,) = json.loads(run_cli("journal", "--json").stdout)
    assert listed["item_count"] == 1 and listed["items"] == intent["intent"]
    assert run_cli("undo", entry.id, "--yes").returncode == 0
    assert not (main / ".git/worktrees/wt1/locked").exists()
    git(main, "worktree", "lock", "../wt1")  # git can lock it again
