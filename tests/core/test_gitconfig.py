"""The git config parser against git itself: generated files, files git writes, real repositories."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import gitrepo
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tui.core.gitconfig import (
    GitConfig,
    Include,
    parse_bool,
    parse_config,
    read_config,
    repo_settings,
)

HYPOTHESIS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run_git(*args: str, cwd: str | os.PathLike | None = None) -> subprocess.CompletedProcess[bytes]:
    """The suite's run_git with the directory last: most calls here need none."""
    return gitrepo.run_git(cwd, *args)


def git_list(path: Path) -> tuple[list[tuple[str, str | None]], int | None]:
    """What ``git config --list`` prints (as far as it got) and git's bad line number, if any."""
    result = run_git("config", "--file", str(path), "--list", "-z")
    items = []
    for record in result.stdout.split(b"\0")[:-1]:
        key, newline, value = record.partition(b"\n")
        items.append((key.decode(), value.decode() if newline else None))
    bad = re.search(rb"bad config line (\d+)", result.stderr)
    if result.returncode != 0 and bad is None:
        raise AssertionError(result.stderr.decode(errors="replace"))
    return items, int(bad.group(1)) if bad else None


def flat(config: GitConfig) -> list[tuple[str, str | None]]:
    """Our entries named the way git names them: section[.subsection].key."""
    return [(git_name(e), e.value) for e in config.entries]


def assert_same_as_git(tmp_path: Path, data: bytes) -> GitConfig:
    path = tmp_path / "config"
    path.write_bytes(data)
    expected, bad_line = git_list(path)
    # git lists a key before any header by its bare name; nothing can look it up: ours is an error
    expected = [item for item in expected if "." in item[0]]
    config = parse_config(data)
    errors = [e for e in config.errors if e.message != "key outside any [section]"]
    if bad_line is None:
        assert errors == []
        assert flat(config) == expected
    else:
        assert errors, f"git: bad config line {bad_line}"
        assert errors[0].line == bad_line
        assert flat(config)[: len(expected)] == expected
    return config


# --- generated configs ------------------------------------------------------------------------

blank = st.sampled_from(["", " ", "\t", " \t "])
newline = st.sampled_from(["\n", "\r\n"])
comment = st.sampled_from(["", "# c", "; c", "#", "; a \"quoted\" \\ comment", "# [x] k = v"])
key_name = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,7}", fullmatch=True)
section_name = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,5}(\.[A-Za-z0-9-]{0,4}){0,2}", fullmatch=True)
free_char = st.characters(blacklist_characters="\n\0", blacklist_categories=("Cs",))


@st.composite
def subsection(draw) -> str:
    """A quoted subsection name as written in a header: quotes and backslashes escaped, other
    characters sometimes needlessly escaped (git drops the backslash)."""
    text = draw(st.text(free_char, max_size=8))
    out = []
    for char in text:
        if char in '"\\' or draw(st.integers(0, 5)) == 0:
            out.append("\\" + char)
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@st.composite
def header(draw, with_comment: bool = True) -> str:
    if draw(st.booleans()):
        head = f"[{draw(section_name)}]"
    else:
        name = draw(st.from_regex(r"[A-Za-z0-9.-]{0,6}", fullmatch=True))
        gap = draw(st.sampled_from([" ", "  ", "\t"]))
        head = f"[{name}{gap}{draw(subsection())}]"
    return draw(blank) + head + draw(blank) + (draw(comment) if with_comment else "")


plain_word = st.text(st.characters(blacklist_characters='\n\0"\\#; \t\r', blacklist_categories=("Cs",)), min_size=1, max_size=6)
quoted_char = st.characters(blacklist_characters='\n\0"\\', blacklist_categories=("Cs",))
escape = st.sampled_from(["\\n", "\\t", "\\b", '\\"', "\\\\"])


@st.composite
def value(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.integers(0, 5))
        if kind == 0:
            parts.append(draw(plain_word))
        elif kind == 1:
            parts.append(draw(st.sampled_from([" ", "  ", "\t", " \t", "\r"])))
        elif kind == 2:
            inner = draw(st.lists(st.one_of(st.text(quoted_char, max_size=4), escape), max_size=3))
            parts.append('"' + "".join(inner) + '"')
        elif kind == 3:
            parts.append(draw(escape))
        elif kind == 4:
            parts.append("\\\n")  # continuation (also inside quotes when it lands there)
        else:
            parts.append(draw(plain_word))
    return "".join(parts)


@st.composite
def key_line(draw) -> str:
    key = "".join(c.upper() if draw(st.booleans()) else c for c in draw(key_name))
    if draw(st.integers(0, 4)) == 0:  # boolean: no "=", only spaces/tabs may follow
        return draw(blank) + key + draw(st.sampled_from(["", " ", "\t"]))
    spaced_eq = draw(st.sampled_from(["=", " = ", "\t=\t", "= ", " ="]))
    tail = draw(st.sampled_from(["", " ", " # c", ";c", " \t; x \\"]))
    return draw(blank) + key + spaced_eq + draw(value()) + tail


@st.composite
def config_text(draw) -> str:
    lines = [draw(header())]
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            lines.append(draw(header()))
        elif kind == 1:
            lines.append(draw(blank) + draw(comment))
        elif kind == 2:  # a key on the header's line
            lines.append(draw(header(with_comment=False)) + draw(key_line()))
        else:
            lines.append(draw(key_line()))
    endings = [draw(newline) for _ in lines]
    if not draw(st.booleans()):
        endings[-1] = ""  # no newline at end of file
    return "".join(line + end for line, end in zip(lines, endings))


@HYPOTHESIS
@given(config_text())
def test_generated_configs_parse_like_git(tmp_path, text):
    assert_same_as_git(tmp_path, text.encode())


@HYPOTHESIS
@given(config_text(), st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), max_size=12), st.data())
def test_malformed_lines_are_reported_on_gits_line(tmp_path, text, junk, data):
    """Inserting arbitrary text somewhere: git either accepts it (so must we) or names a bad line
    (so must we, the same one, with the same entries before it)."""
    lines = text.split("\n")
    at = data.draw(st.integers(0, len(lines)))
    lines.insert(at, junk)
    assert_same_as_git(tmp_path, "\n".join(lines).encode())


def git_name(entry) -> str:
    if entry.subsection is None:
        return f"{entry.section}.{entry.key}"
    return f"{entry.section}.{entry.subsection}.{entry.key}"


@HYPOTHESIS
@given(config_text(), st.data())
def test_get_matches_git_config_get(tmp_path, text, data):
    path = tmp_path / "config"
    path.write_bytes(text.encode())
    config = parse_config(text.encode())
    # names git's command line can take: not empty, not "-x" (an option), no newline
    lookable = [e for e in config.entries if e.section[:1].isalnum() and "\n" not in (e.subsection or "")]
    assume(lookable)
    entry = data.draw(st.sampled_from(lookable))
    raw_values = [e.value for e in config.entries if e[:3] == entry[:3]]
    # section and key match in any case (ask git in upper case when no subsection is in the way)
    asked = git_name(entry).upper() if entry.subsection is None else git_name(entry)

    result = run_git("config", "--file", str(path), "-z", "--get", asked)
    assert result.returncode == 0, result.stderr
    ours = config.get(entry.section.upper(), entry.subsection, entry.key.upper())
    if raw_values[-1] is None:
        assert (result.stdout, ours) == (b"\0", "true")  # git prints nothing; the value means true
    else:
        assert result.stdout.decode() == ours + "\0"

    result = run_git("config", "--file", str(path), "-z", "--get-all", asked)
    assert result.stdout.decode().split("\0")[:-1] == [v if v is not None else "" for v in raw_values]
    assert config.get_all(entry.section, entry.subsection, entry.key) == [v if v is not None else "true" for v in raw_values]


value_written_by_git = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), max_size=20)
subsection_written_by_git = st.text(
    st.characters(blacklist_characters="\0\n", blacklist_categories=("Cs",)), min_size=1, max_size=10
)


@HYPOTHESIS
@given(st.lists(st.tuples(subsection_written_by_git, value_written_by_git), min_size=1, max_size=4))
def test_reads_what_git_config_writes(tmp_path, pairs):
    """git quotes and escapes values and subsection names its own way when it writes them."""
    path = tmp_path / "config"
    path.write_bytes(b"")
    for sub, val in pairs:
        result = run_git("config", "--file", str(path), "--add", f"remote.{sub}.url", val)
        assert result.returncode == 0, result.stderr
    config = parse_config(path.read_bytes())
    assert config.errors == []
    for sub, _ in pairs:
        assert config.get_all("remote", sub, "url") == [v for s, v in pairs if s == sub]
    assert config.subsections("remote") == list(dict.fromkeys(sub for sub, _ in pairs))


# --- hand-picked cases ------------------------------------------------------------------------

TRICKY = [
    b'[core]\n\tbare = true\n',
    b'[a "x"]k=1',  # key on the header's line, no final newline
    b'[A.B "C"]\nK=1\n',  # [a.b "C"] is subsection "b.C" of section "a", as for git
    b'[Remote.Origin]\nurl = x\n',  # legacy form: subsection lowercased
    b'[a]\nk = "  q  " x "#;" ; c\n',
    b'[a]\nk = a\\\n  b\n',  # continuation keeps the next line's leading spaces
    b'[a]\nk = "a\\\nb"\n',
    b'[a]\nk=a\tb  c \t\n',  # tab becomes space, runs kept, trailing dropped
    b'[a]\r\nk = v\r\n\r\n[b "x\\"y\\\\z\\q"]\r\nj\r\n',
    b'[a]\nk=""  x\n',
    b'[a]\nk = x\\',  # backslash at end of file
    b'[a]\nk\n',
    b'[a]\nk=1\rx\n',
    b'\xef\xbb\xbf[a]\nk=1\n',  # byte order mark
    b'[a]\nk = v ; comment "with quote\n',
    b'[a]\nk = \\"\\\\\\n\\t\\b\n',
    b'[a.]\nk=1\n',
    b'[ "x"]\nk\n',
    b'# only a comment',
    b'',
    b'[a]\nk=v\0w\n',  # git's C strings end at NUL
]


@pytest.mark.parametrize("data", TRICKY, ids=range(len(TRICKY)))
def test_tricky_valid_configs(tmp_path, data):
    assert_same_as_git(tmp_path, data)


MALFORMED = [
    (b'[a\nk=1\n', 1),
    (b'[a "x\nk=1\n', 1),
    (b'[a "x"\nk=1\n', 2),
    (b'[a]\nk="x\nj=1\n', 2),
    (b'[a]\nk\r=1\n', 2),
    (b'[a]\n1k=1\n', 2),
    (b'[a]\nk = x\\r\n', 2),
    (b'[a', 2),
    (b'[a "x', 1),
    (b'[a "x\\', 1),
    (b'[a]\n=1\n', 2),
    (b'[]\nk=1\n', 1),
    (b'[a]\nk # comment\n', 2),
    (b'[a "x" ]\n', 1),
    (b'[a_b]\nk=1\n', 1),
    (b'[a]\nk_b=1\n', 2),
    (b'[a]\n\xc3\xa9=1\n', 2),
]


@pytest.mark.parametrize(("data", "line"), MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_configs_name_gits_line(tmp_path, data, line):
    config = assert_same_as_git(tmp_path, data)
    assert config.errors[0].line == line
    assert str(config.errors[0]).startswith(f"line {line}: ")


def test_parsing_continues_after_a_bad_line():
    config = parse_config(b'[a]\nk = 1\nthis is not config\nj = 2\n[b "x]\nlost = 1\n[c]\nm = 3\n')
    assert [str(e) for e in config.errors] == [
        "line 3: expected '=' or the end of the line after a key",
        "line 5: unterminated subsection name",
    ]
    assert [(e.section, e.key, e.value) for e in config.entries] == [("a", "k", "1"), ("a", "j", "2"), ("c", "m", "3")]


def test_key_before_any_section_is_an_error():
    config = parse_config(b"orphan = 1\n[a]\nk = 2\n")
    assert [str(e) for e in config.errors] == ["line 1: key outside any [section]"]
    assert config.get("a", None, "k") == "2"


def test_nul_in_a_subsection_is_refused():
    config = parse_config(b'[a "x\0y"]\nk = 1\n[b]\nj = 2\n')
    assert config.errors[0].line == 1
    assert [(e.section, e.key) for e in config.entries] == [("b", "j")]


def test_undecodable_bytes_are_reported_and_replaced():
    config = parse_config(b"[a]\nk = ok\nj = \xff\xfe\n")
    assert [e.line for e in config.errors] == [3]
    assert config.get("a", None, "k") == "ok"
    assert config.get("a", None, "j") == "\ufffd\ufffd"


# --- lookups ----------------------------------------------------------------------------------


def test_lookups_case_rules_and_last_value_wins():
    config = parse_config(b'[Remote "Origin"]\n  URL = one\n  url = two\n[remote "origin"]\n  url = three\n[core]\nBare\n')
    assert config.get("remote", "Origin", "url") == "two"
    assert config.get("REMOTE", "Origin", "Url") == "two"
    assert config.get_all("remote", "Origin", "url") == ["one", "two"]
    assert config.get("remote", "origin", "url") == "three"  # subsections are case-sensitive
    assert config.get("remote", "ORIGIN", "url") is None
    assert config.get("core", None, "bare") == "true"  # no "=": true
    assert config.get_bool("core", None, "bare") is True
    assert config.get_all("core", None, "missing") == []
    assert config.subsections("remote") == ["Origin", "origin"]
    assert config.subsections("core") == []


def test_empty_header_defines_no_subsection():
    config = parse_config(b'[remote "empty"]\n[remote "full"]\nurl = x\n')
    assert config.subsections("remote") == ["full"]


BOOLS = ["true", "TRUE", "Yes", "on", "false", "No", "OFF", '""', "1", "0", "-1", "+1", "010", "08", "0x1F",
         "0X0", "1k", "1K", "2097151k", "2097152k", "-2097152k", "3G", "-2g", "2147483647", "2147483648",
         "-2147483647", "-2147483648", "k", "0x", "1kb", '" 1"', '"1 "', '"\\t1"', "-", "+", "-0", "0g",
         "maybe", '" "', "truee"]


@pytest.mark.parametrize("raw", BOOLS)
def test_get_bool_matches_git(tmp_path, raw):
    path = tmp_path / "config"
    path.write_text(f"[a]\n\tk = {raw}\n")
    result = run_git("config", "--file", str(path), "--type=bool", "--get", "a.k")
    expected = {b"true\n": True, b"false\n": False}.get(result.stdout) if result.returncode == 0 else None
    assert parse_config(path.read_bytes()).get_bool("a", None, "k") == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.from_regex(r"[ \t]?[+-]?(0[xX]?)?[0-9a-fA-F]{0,11}[kKmMgGb]?", fullmatch=True))
def test_integer_booleans_match_git(tmp_path, raw):
    path = tmp_path / "config"
    path.write_text(f'[a]\n\tk = "{raw}"\n')
    result = run_git("config", "--file", str(path), "--type=bool", "--get", "a.k")
    expected = {b"true\n": True, b"false\n": False}.get(result.stdout) if result.returncode == 0 else None
    assert parse_bool(raw) == expected


def test_get_bool_default_only_when_unset():
    config = parse_config(b"[a]\nyes\nodd = maybe\n")
    assert config.get_bool("a", None, "missing", default=False) is False
    assert config.get_bool("a", None, "missing") is None
    assert config.get_bool("a", None, "yes", default=False) is True
    assert config.get_bool("a", None, "odd", default=False) is None  # git would refuse the value


# --- includes are recorded, not followed ------------------------------------------------------


def test_includes_recorded_not_followed(tmp_path):
    (tmp_path / "extra").write_text("[extra]\n\tkey = from-include\n")
    path = tmp_path / "config"
    path.write_text(
        f"[include]\n\tpath = {tmp_path / 'extra'}\n"
        '[includeIf "gitdir:/srv/git/"]\n\tpath = ~/gerrit.inc\n'
        '[include "not-an-include"]\n\tpath = nope\n'
        "[core]\n\tbare = true\n"
    )
    config, error = read_config(str(path))
    assert error is None
    assert config.includes == [
        Include(str(tmp_path / "extra"), None, 2),
        Include("~/gerrit.inc", "gitdir:/srv/git/", 4),
    ]
    assert config.get("extra", None, "key") is None
    assert config.get("core", None, "bare") == "true"
    assert run_git("config", "--file", str(path), "--includes", "--get", "extra.key").stdout == b"from-include\n"


def test_include_without_value_is_an_error():
    config = parse_config(b"[include]\n\tpath\n")
    assert config.includes == []
    assert [str(e) for e in config.errors] == ["line 2: include path without a value"]


# --- reading files ----------------------------------------------------------------------------


def test_read_config_never_raises(tmp_path):
    config, error = read_config(str(tmp_path / "missing"))
    assert config.entries == [] and "cannot read" in error and "No such file" in error
    config, error = read_config(str(tmp_path))
    assert config.entries == [] and "cannot read" in error
    config, error = read_config("bad\0path")
    assert config.entries == [] and "cannot read" in error


def test_read_config_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "config"
    os.mkfifo(fifo)
    config, error = read_config(str(fifo))
    assert config.entries == [] and "not a regular file" in error


def test_read_config_refuses_a_huge_file(tmp_path):
    path = tmp_path / "config"
    with open(path, "wb") as handle:
        handle.truncate(17 * 1024 * 1024)  # sparse: no disk used
    config, error = read_config(str(path))
    assert config.entries == [] and "larger than 16 MiB" in error


def test_read_config_reports_undecodable_bytes(tmp_path):
    path = tmp_path / "config"
    path.write_bytes(b"[a]\n\tk = \xe9t\xe9\n\tj = fine\n")
    config, error = read_config(str(path))
    assert error == f"{path}: line 2: not valid UTF-8 (undecodable bytes shown as U+FFFD)"
    assert config.get("a", None, "j") == "fine"


# --- real repositories ------------------------------------------------------------------------


def git_dir_config(tmp_path: Path, *init_args: str) -> tuple[Path, GitConfig]:
    repo = tmp_path / "repo"
    result = run_git("init", "--quiet", *init_args, str(repo))
    assert result.returncode == 0, result.stderr
    config_path = repo / "config" if (repo / "config").is_file() else repo / ".git" / "config"
    config, error = read_config(str(config_path))
    assert error is None
    assert flat(config) == git_list(config_path)[0]
    return config_path, config


def test_settings_of_a_bare_repository(tmp_path):
    _, config = git_dir_config(tmp_path, "--bare")
    settings = repo_settings(config)
    assert settings.bare is True
    assert settings.ref_storage == "files"
    assert settings.object_format == "sha1"
    assert settings.log_all_ref_updates == "false"  # git's default for bare repositories
    assert settings.remotes == []
    assert settings.worktree_config is False


def test_settings_of_a_non_bare_repository(tmp_path):
    _, config = git_dir_config(tmp_path)
    settings = repo_settings(config)
    assert settings.bare is False
    assert settings.log_all_ref_updates == "true"


def test_settings_of_a_sha256_repository(tmp_path):
    _, config = git_dir_config(tmp_path, "--bare", "--object-format=sha256")
    assert repo_settings(config).object_format == "sha256"


def test_settings_of_a_mirror_clone_with_credentials_in_the_url(tmp_path):
    source = tmp_path / "source.git"
    assert run_git("init", "--quiet", "--bare", str(source)).returncode == 0
    mirror = tmp_path / "mirror.git"
    result = run_git("clone", "--quiet", "--mirror", str(source), str(mirror))
    assert result.returncode == 0, result.stderr
    secret_url = "https://deploy:s3cr3t%40pw@gerrit.example.com:8443/a/platform/build.git"
    for args in (
        ("remote", "set-url", "origin", secret_url),
        ("remote", "add", "backup", "git@backup.example.com:platform/build.git"),
        ("config", "--add", "remote.backup.fetch", "+refs/tags/*:refs/tags/*"),
        ("config", "remote.backup.mirror", "no"),
        ("config", "--add", "remote.origin.url", "https://second.example.com/x.git"),
    ):
        result = run_git(*args, cwd=mirror)
        assert result.returncode == 0, result.stderr
    config, error = read_config(str(mirror / "config"))
    assert error is None and config.errors == []
    assert flat(config) == git_list(mirror / "config")[0]
    settings = repo_settings(config)
    assert settings.bare is True
    origin, backup = settings.remotes
    assert origin.name == "origin"
    assert origin.url == "https://deploy:***@gerrit.example.com:8443/a/platform/build.git"
    assert origin.mirror is True
    assert origin.fetch == ["+refs/*:refs/*"]
    assert backup.name == "backup"
    assert backup.url == "git@backup.example.com:platform/build.git"
    assert backup.mirror is False
    assert backup.fetch == ["+refs/heads/*:refs/remotes/backup/*", "+refs/tags/*:refs/tags/*"]
    assert "s3cr3t" not in repr(settings)


def test_settings_from_extensions_and_log_all_ref_updates(tmp_path):
    config_path, _ = git_dir_config(tmp_path, "--bare")
    for key, val in (
        ("core.repositoryFormatVersion", "1"),
        ("extensions.refStorage", "Reftable"),
        ("extensions.worktreeConfig", "true"),
        ("core.logAllRefUpdates", "ALWAYS"),
    ):
        assert run_git("config", "--file", str(config_path), key, val).returncode == 0
    settings = repo_settings(read_config(str(config_path))[0])
    assert settings.ref_storage == "reftable"
    assert settings.worktree_config is True
    assert settings.log_all_ref_updates == "always"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"[core]\n", None),  # bareness unknown from the config alone
        (b"[core]\nbare = maybe\n", None),
        (b"[core]\nbare = false\nlogAllRefUpdates = off\n", "false"),
        (b"[core]\nlogAllRefUpdates\n", "true"),
        (b"[core]\nbare = true\nlogAllRefUpdates = sometimes\n", None),
    ],
)
def test_log_all_ref_updates(text, expected):
    assert repo_settings(parse_config(text)).log_all_ref_updates == expected


def test_remote_names_git_ignores():
    config = parse_config(b'[remote "/abs"]\nurl = x\n[remote]\npushDefault = origin\n[remote "ok"]\nurl\n')
    assert [(r.name, r.url) for r in repo_settings(config).remotes] == [("ok", "")]


# --- speed ------------------------------------------------------------------------------------

TYPICAL = b"""[core]
\trepositoryformatversion = 0
\tfilemode = true
\tbare = false
\tlogallrefupdates = true
[remote "origin"]
\turl = https://gerrit.example.com/a/platform/build.git
\tfetch = +refs/heads/*:refs/remotes/origin/*
[branch "main"]
\tremote = origin
\tmerge = refs/heads/main
[gc]
\tauto = 0
[receive]
\tdenyNonFastForwards = true
"""


def test_typical_config_parses_in_microseconds():
    """2,200 repositories, one config each: parsing must stay far below the scan's budget.
    Measured ~15 µs; the bound is loose so a slow CI machine does not flake."""
    assert len(TYPICAL.splitlines()) == 15
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(1000):
            repo_settings(parse_config(TYPICAL))
        best = min(best, (time.perf_counter() - started) / 1000)
    assert best < 300e-6, f"{best * 1e6:.0f} µs per config"


@HYPOTHESIS
@given(st.text(st.sampled_from(list('[]" \\\t\r\n#;=aB.-1é')), max_size=30))
def test_character_soup_parses_like_git(tmp_path, text):
    """Random strings of the characters the grammar cares about: mostly malformed, each one
    must be accepted or rejected exactly as git does, on the same line."""
    assert_same_as_git(tmp_path, text.encode())
