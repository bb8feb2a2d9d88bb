"""The live log: \\r progress redrawn in place, escapes stripped, credentials redacted, bounded,
coalesced for readers, rotated on disk; and how fast it goes."""

from __future__ import annotations

import os
import threading
import time

import pytest

from tui.core.sync.synclog import (
    MAX_LINE_BYTES,
    JobLog,
    LineSplitter,
    LogBuffer,
    LogFile,
    log_file_name,
    prune_log_dir,
)


def feed_all(*chunks: bytes) -> list[tuple[str, bool]]:
    splitter = LineSplitter()
    out = []
    for chunk in chunks:
        out.extend(splitter.feed(chunk))
    out.extend(splitter.close())
    return out


def buffer_after(*chunks: bytes, max_lines: int = 100) -> LogBuffer:
    buffer = LogBuffer(max_lines)
    log = JobLog(buffer)
    for chunk in chunks:
        log.feed(chunk)
    log.end_of_output()
    return buffer


def texts(buffer: LogBuffer) -> list[str]:
    return [line.text for line in buffer.lines()]


# --------------------------------------------------------------------------- splitting and cleaning


def test_progress_lines_update_in_place():
    buffer = buffer_after(
        b"remote: Counting objects:  33% (1/3)   \r",
        b"remote: Counting objects:  66% (2/3)   \rremote: Counting objects: 100% (3/3), done.\n",
        b"Receiving objects:  50% (1/2)\rReceiving objects: 100% (2/2), done.\n",
        b"From /srv/up\n",
    )
    assert texts(buffer) == [
        "remote: Counting objects: 100% (3/3), done.",
        "Receiving objects: 100% (2/2), done.",
        "From /srv/up",
    ]
    assert all(line.final for line in buffer.lines())


def test_cr_lf_and_a_split_across_chunks():
    buffer = buffer_after(b"Resolving deltas: 100% (9/9)\r", b"\n", b"one\r\ntwo\r", b"\n")
    assert texts(buffer) == ["Resolving deltas: 100% (9/9)", "one", "two"]


def test_a_progress_line_still_open_is_shown_and_becomes_final_at_the_end():
    buffer = LogBuffer()
    log = JobLog(buffer)
    log.feed(b"Receiving objects:  10% (1/10)\r")
    (line,) = buffer.lines()
    assert line.text == "Receiving objects:  10% (1/10)" and not line.final
    log.feed(b"Receiving objects:  20% (2/10)\r")
    (line,) = buffer.lines()
    assert line.text.endswith("(2/10)") and line.seq == 1
    log.end_of_output()
    assert buffer.lines()[0].final


def test_escape_sequences_from_the_remote_are_stripped():
    buffer = buffer_after(
        b"remote: \x1b[31mred\x1b[0m \x1b]0;pwned title\x07text\x1b[K\n",
        b"remote: bell\x07 and backspace\x08 and \xc2\x9b2J\n"  # U+009B: the 8-bit CSI,
    )
    assert texts(buffer) == ["remote: red text", "remote: bell and backspace and"]


def test_credentials_are_redacted_even_when_an_escape_sequence_splits_them():
    buffer = buffer_after(
        b"fatal: unable to access 'https://alice:s3cret@git.example.com/x.git/': refused\n",
        b"remote: see https://bob:hun\x1b[0mter2@example.com/y\n",
        b"Authorization: Basic YWxpY2U6czNjcmV0\n",
    )
    joined = "\n".join(texts(buffer))
    for secret in ("s3cret", "hunter2", "YWxpY2U6czNjcmV0"):
        assert secret not in joined
    assert "https://alice:***@git.example.com/x.git/" in joined


def test_invalid_utf8_and_unterminated_last_line():
    assert feed_all(b"caf\xe9 ok\n", b"no newline at the end") == [("caf\ufffd ok", True), ("no newline at the end", True)]


def test_an_endless_line_is_cut_at_a_space_so_urls_stay_whole():
    url = b"https://user:topsecret@example.com/repo.git"
    data = b"x" * (MAX_LINE_BYTES - 20) + b" " + url + b" " + b"y" * 100
    segments = feed_all(data)
    assert len(segments) >= 2
    assert all("topsecret" not in text for text, _ in segments)
    assert all(len(text) <= MAX_LINE_BYTES for text, _ in segments)


def test_gitward_notes_are_marked_and_cleaned():
    buffer = LogBuffer()
    log = JobLog(buffer)
    log.note("$ git remote add origin https://u:pw@h/x.git\x1b[2J")
    (line,) = buffer.lines()
    assert line.origin == "gitward"
    assert line.text == "$ git remote add origin https://u:***@h/x.git"
    assert line.render().split(" ", 2)[1] == "»"


# --------------------------------------------------------------------------- bounded, coalesced


def test_the_buffer_is_bounded_and_counts_what_it_dropped():
    buffer = buffer_after(b"".join(b"line %d\n" % i for i in range(1, 251)), max_lines=100)
    lines = buffer.lines()
    assert len(lines) == 100
    assert buffer.dropped == 150
    assert buffer.total == 250
    assert lines[0].text == "line 151" and lines[0].seq == 151
    assert lines[-1].text == "line 250"


def test_readers_get_only_what_changed_and_progress_bursts_coalesce():
    buffer = LogBuffer()
    log = JobLog(buffer)
    log.feed(b"From upstream\n")
    chunk = buffer.read(0)
    assert [line.text for line in chunk.lines] == ["From upstream"]
    cursor = chunk.version
    for i in range(1, 1001):  # a thousand redraws between two reads of the UI
        log.feed(b"Receiving objects: %3d%% (%d/1000)\r" % (i // 10, i))
    chunk = buffer.read(cursor)
    assert len(chunk.lines) == 1
    assert chunk.lines[0].seq == 2 and chunk.lines[0].text.endswith("(1000/1000)")
    assert not chunk.lines[0].final
    assert buffer.read(chunk.version).lines == []


def test_a_reader_that_fell_behind_sees_a_gap():
    buffer = LogBuffer(10)
    log = JobLog(buffer)
    log.feed(b"first\n")
    cursor = buffer.read(0).version
    log.feed(b"".join(b"l%d\n" % i for i in range(50)))
    chunk = buffer.read(cursor)
    assert chunk.lines[0].seq == 42  # seqs 2..41 were dropped before this read
    assert chunk.dropped == 41


def test_concurrent_reader_never_sees_a_torn_state():
    buffer = LogBuffer(1000)
    log = JobLog(buffer)
    stop = threading.Event()
    errors = []

    def reader():
        version, last_seq = 0, 0
        while not stop.is_set():
            chunk = buffer.read(version)
            for line in chunk.lines:
                if line.seq < last_seq:
                    errors.append((line.seq, last_seq))
                last_seq = max(last_seq, line.seq)
            version = chunk.version

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(20_000):
        log.feed(b"p %d\r" % i if i % 3 else b"l %d\n" % i)
    stop.set()
    thread.join(5)
    assert errors == []


# --------------------------------------------------------------------------- files


def test_the_file_gets_final_lines_once_with_timestamps(tmp_path):
    path = tmp_path / "sync-x.log"
    buffer = LogBuffer()
    log = JobLog(buffer, LogFile(str(path), 1 << 20))
    log.note("$ git fetch")
    log.feed(b"Receiving objects: 50%\rReceiving objects: 100%, done.\nfatal: https://u:pw@h/x\n")
    log.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("» $ git fetch")
    assert lines[1].endswith("Receiving objects: 100%, done.")
    assert "pw" not in lines[2] and lines[2].endswith("fatal: https://u:***@h/x")
    assert lines[0][:4].isdigit() and "T" in lines[0][:20]  # ISO date-time
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_flooding_job_rotates_its_file_and_keeps_the_tail(tmp_path):
    path = tmp_path / "sync-flood.log"
    log_file = LogFile(str(path), 64 * 1024)
    log = JobLog(LogBuffer(100), log_file)
    log.feed(b"".join(b"flood line %06d\n" % i for i in range(20_000)))
    log.feed(b"fatal: the error at the end\n")
    log.close()
    rotated = tmp_path / "sync-flood.log.1"
    assert log_file.rotations > 0
    assert path.stat().st_size + rotated.stat().st_size <= 64 * 1024
    assert path.read_text().splitlines()[-1].endswith("fatal: the error at the end")


def test_prune_log_dir_removes_oldest_first_and_spares_running_and_foreign_files(tmp_path):
    now = time.time()
    names = [f"sync-2026010{i}T000000-r-{i}.log" for i in range(1, 6)]
    for age, name in enumerate(reversed(names)):
        path = tmp_path / name
        path.write_bytes(b"x" * 1000)
        os.utime(path, (now - age * 60, now - age * 60))
    (tmp_path / "other.txt").write_bytes(b"y" * 5000)
    running = str(tmp_path / names[0])  # the oldest, but still being written
    removed = prune_log_dir(str(tmp_path), 2500, keep=frozenset({running}))
    assert sorted(os.path.basename(p) for p in removed) == sorted(names[1:4])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names[0], names[4], "other.txt"])


def test_log_file_names_are_safe_and_sortable():
    name = log_file_name("mirrors/up lib.git/../x", 0, "abcd1234")
    assert name.startswith("sync-1970") and name.endswith("-abcd1234.log")
    assert "/" not in name and " " not in name


# --------------------------------------------------------------------------- throughput


def test_throughput_of_the_log_pipeline(tmp_path, record_property):
    """Bytes from git to clean lines in the buffer and the file: far above what git prints."""
    count = 100_000
    data = b"".join(
        (b"remote: Counting objects: %d%% (%d/%d)\r" % (i * 100 // count, i, count)) if i % 2
        else (b"   abc1234..def5678  refs/changes/%02d/%d/meta -> refs/changes/%02d/%d/meta\n" % (i % 100, i, i % 100, i))
        for i in range(count)
    )
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    buffer = LogBuffer(10_000)
    log = JobLog(buffer, LogFile(str(tmp_path / "sync-throughput.log"), 1 << 30))
    started = time.perf_counter()
    for chunk in chunks:
        log.feed(chunk)
    log.close()
    elapsed = time.perf_counter() - started
    rate = count / elapsed
    record_property("log_lines_per_second", int(rate))
    print(f"\nlog pipeline: {count} segments in {elapsed:.3f} s = {rate:,.0f} lines/s")
    # every progress redraw was coalesced into the line after it; the very last stayed open
    assert buffer.total == count // 2 + 1
    assert buffer.dropped == buffer.total - 10_000
    assert rate > 20_000, f"only {rate:,.0f} lines/s"  # a floor that holds on a loaded CI box


@pytest.mark.parametrize("max_lines", [0, -1])
def test_buffer_size_must_be_positive(max_lines):
    with pytest.raises(ValueError):
        LogBuffer(max_lines)
