"""A read-only parser for git config files, exact to git's own (config.c, ``git_parse_source``).

Why not ``git config --list``: a scan reads the config of every repository on the host (2,200 on
a large Gerrit host) and must not spawn a process per repository; and git would run with the
operator's environment. Why not configparser: git's format differs in every detail that matters
here (subsection quoting, case rules, value quoting and escapes, ``key`` meaning true).

Two layers with one behaviour:

- a fast path: one precompiled regex per line recognises the shapes git itself writes
  (``[core]``, ``[remote "origin"]``, ``key = value``, blank and comment lines);
- anything else (quotes, escapes, continuation lines, a key after a header on the same line,
  garbage) goes to ``_CharParser``, a transcription of git's character state machine, which also
  reports git's line number for malformed lines.

Deliberate differences from git: git stops at the first malformed line; we record it in
``GitConfig.errors`` and continue with the next line (a bad section header drops the keys under it
until the next good header). ``include.path`` and ``includeIf.*.path`` are recorded, never
followed: what they point to (``~/...``, ``gitdir:`` conditions, ``onbranch:``) depends on the
operator's environment and on where the repository is, and a scan must report the repository as
it is on disk, the same for every operator.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from tui.core.fsutil import open_for_reading, read_up_to
from tui.core.model import Remote
from tui.core.redact import redact_url

# A config larger than this is not a config; reading it would stall a scan.
MAX_CONFIG_BYTES = 16 * 1024 * 1024

# One whole line in the shapes git writes. Groups: key, value (None: no "="), plain section name,
# extended section name + subsection. Lone "\r" counts as whitespace (git's isspace) except right
# after a key without "=", where git rejects it; "\r\n" is folded to "\n" before matching.
_SIMPLE_LINE = re.compile(
    r"[ \t\r]*(?:"
    r"([A-Za-z][A-Za-z0-9-]*)[ \t]*(?:=([^\"\\#;\n\0]*)(?:[#;][^\n]*)?)?"
    r"|\[([A-Za-z0-9.-]+)\][ \t\r]*(?:[#;][^\n]*)?"
    r"|\[([A-Za-z0-9.-]*)[ \t\r]+\"([^\"\\\n\0]*)\"\][ \t\r]*(?:[#;][^\n]*)?"
    r"|(?:[#;][^\n]*)?"
    r")\n"
)

_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SPACE = frozenset(" \t\r\n")  # git's isspace(): not \v or \f
_VALUE_ESCAPES = {"n": "\n", "t": "\t", "b": "\b", '"': '"', "\\": "\\"}

# git_parse_maybe_bool's fallback: strtoimax(base 0) plus an optional k/m/g unit, within int.
_INT_VALUE = re.compile(r"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([kKmMgG]?)")
_UNIT_FACTORS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
_INT_MAX = (1 << 31) - 1


class ConfigEntry(NamedTuple):
    section: str  # lowercased
    subsection: str | None  # case kept; None: no subsection
    key: str  # lowercased
    value: str | None  # None: the key was written without "=" (git reads it as true)
    line: int  # 1-based line of the key


class ParseError(NamedTuple):
    line: int  # git's line number for the same error ("bad config line N")
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class Include(NamedTuple):
    path: str
    condition: str | None  # includeIf.<condition>.path; None for include.path
    line: int


class GitConfig:
    """One parsed config file. Lookups take section and key in any case, subsection exactly."""

    __slots__ = ("entries", "errors", "includes", "_index")

    def __init__(self) -> None:
        self.entries: list[ConfigEntry] = []
        self.errors: list[ParseError] = []
        self.includes: list[Include] = []
        self._index: dict[tuple[str, str | None, str], list[str]] | None = None

    def get(self, section: str, subsection: str | None, key: str) -> str | None:
        """The last value, as git uses it; None when unset. A key without "=" reads "true"."""
        values = self._values(section, subsection, key)
        return values[-1] if values else None

    def get_all(self, section: str, subsection: str | None, key: str) -> list[str]:
        return list(self._values(section, subsection, key))

    def get_bool(self, section: str, subsection: str | None, key: str, default: bool | None = None) -> bool | None:
        """git's boolean reading of the last value; ``default`` when unset; None when git would
        reject the value ("bad boolean config value")."""
        values = self._raw_values(section, subsection, key)
        if not values:
            return default
        return parse_bool(values[-1])

    def subsections(self, section: str) -> list[str]:
        """Subsections of ``section`` that hold at least one key, in file order (like git, an
        empty ``[remote "x"]`` header defines nothing)."""
        section = section.lower()
        seen: dict[str, None] = {}
        for entry in self.entries:
            if entry.section == section and entry.subsection is not None:
                seen[entry.subsection] = None
        return list(seen)

    def _values(self, section: str, subsection: str | None, key: str) -> list[str]:
        return [v if v is not None else "true" for v in self._raw_values(section, subsection, key)]

    def _raw_values(self, section: str, subsection: str | None, key: str) -> list:
        index = self._index
        if index is None:
            index = self._index = {}
            for entry in self.entries:
                index.setdefault((entry.section, entry.subsection, entry.key), []).append(entry.value)
        return index.get((section.lower(), subsection, key.lower()), [])


def parse_bool(value: str | None) -> bool | None:
    """git's boolean rules (git_parse_maybe_bool): no value, yes/on/true, or a non-zero integer
    (``1``, ``0x10``, ``2k``) are true; empty, no/off/false, or zero are false; else None."""
    if value is None:
        return True
    lowered = value.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off", ""):
        return False
    number = _parse_git_int(value)
    return None if number is None else number != 0


def _parse_git_int(value: str) -> int | None:
    match = _INT_VALUE.fullmatch(value)
    if match is None:
        return None
    sign, digits, unit = match.groups()
    if digits[:2] in ("0x", "0X"):
        number = int(digits[2:], 16)
    elif digits.startswith("0"):
        number = int(digits, 8)
    else:
        number = int(digits)
    factor = _UNIT_FACTORS[unit.lower()]
    # git_parse_signed's bound is symmetric, -max/factor..max/factor in C integer division:
    # "-2147483648" and "-2g" are rejected although an int could hold them.
    if number > _INT_MAX // factor:
        return None
    return -number * factor if sign == "-" else number * factor


def parse_config(data: bytes) -> GitConfig:
    """Parse a config file's bytes. Never raises: problems land in ``GitConfig.errors``."""
    config = GitConfig()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Values are bytes to git; we show text. Keep going with U+FFFD so the rest is usable.
        line = data.count(b"\n", 0, exc.start) + 1
        config.errors.append(ParseError(line, "not valid UTF-8 (undecodable bytes shown as U+FFFD)"))
        text = data.decode("utf-8", "replace")
    if text.startswith("\ufeff"):  # git skips a UTF-8 byte order mark
        text = text[1:]
    if "\r" in text:
        # git's reader turns "\r\n" into "\n" before anything else sees it; line numbers hold.
        text = text.replace("\r\n", "\n")
    _parse_text(text, config)
    _collect_includes(config)
    return config


def read_config(path: str) -> tuple[GitConfig, str | None]:
    """Parse the config file at ``path``. Never raises: the second item says why the file could
    not be read or decoded (an empty GitConfig comes with an unreadable file)."""
    try:
        data = _read_regular_file(path)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return GitConfig(), f"cannot read {path}: {reason}"
    config = parse_config(data)
    for error in config.errors:
        if error.message.startswith("not valid UTF-8"):
            return config, f"{path}: {error}"
    return config, None


def read_repo_settings(path: str, memo: dict[bytes, RepoSettings]) -> tuple[RepoSettings, str | None]:
    """``repo_settings(read_config(path)[0])`` and ``read_config``'s error, for a batch of repositories.

    ``memo``: the caller's cache for one batch, config bytes -> their settings. Most configs on
    a host are byte for byte alike (what ``git init`` or the forge wrote), and their parse was
    a tenth of a host scan. Only configs that parse without any error are remembered; each
    caller gets its own copy (``RepoSettings`` and ``Remote`` are mutable).
    """
    try:
        data = _read_regular_file(path)
    except (OSError, ValueError):
        config, error = read_config(path)  # the exact error message (and a second look)
        return repo_settings(config), error
    settings = memo.get(data)
    if settings is None:
        config = parse_config(data)
        if config.errors:
            config, error = read_config(path)
            return repo_settings(config), error
        settings = repo_settings(config)
        if len(memo) >= _SETTINGS_MEMO_LIMIT:
            memo.clear()
        memo[data] = settings
    return _copied(settings), None


_SETTINGS_MEMO_LIMIT = 256  # distinct configs remembered per batch


def _copied(settings: RepoSettings) -> RepoSettings:
    # replace(): a field added to either class later is copied too; the lists are new.
    return replace(settings, remotes=[replace(r, fetch=list(r.fetch)) for r in settings.remotes])


def _read_regular_file(path: str) -> bytes:
    # O_NONBLOCK + fstat: a FIFO or device named "config" in a hostile tree must not hang a scan.
    fd = open_for_reading(path)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > MAX_CONFIG_BYTES:
            raise ValueError(f"larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB")
        data = read_up_to(fd, MAX_CONFIG_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:  # grew while we read it
        raise ValueError(f"larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB")
    return data


def _split_prefix(prefix: str) -> tuple[str, str | None]:
    """git names a key by one flat string, "section.sub.section.key"; the section ends at the
    first dot. So ``[a.b "c"]`` and ``[a "b.c"]`` are the same subsection, as they are to git."""
    section, dot, subsection = prefix.partition(".")
    return section, (subsection if dot else None)


_NO_SECTION = ("", None)  # before the first header


def _parse_text(text: str, config: GitConfig) -> None:
    match_line = _SIMPLE_LINE.match
    entries = config.entries
    errors = config.errors
    section, subsection = _NO_SECTION
    header_ok = True  # False after a malformed header: its keys are dropped
    have_header = False
    pos = 0
    line = 1
    end = len(text)
    while pos < end:
        match = match_line(text, pos)
        if match is not None:
            key, value, name, extended_name, sub = match.groups()
            if key is not None:
                if value is not None:
                    # git drops leading/trailing whitespace and turns each inner tab/CR into a space
                    value = value.strip(" \t\r")
                    if "\t" in value or "\r" in value:
                        value = value.replace("\t", " ").replace("\r", " ")
                if have_header:
                    if header_ok:
                        entries.append(ConfigEntry(section, subsection, key.lower(), value, line))
                else:
                    errors.append(ParseError(line, "key outside any [section]"))
            elif name is not None:
                section, subsection = _split_prefix(name.lower())
                have_header = header_ok = True
            elif extended_name is not None:
                section, subsection = _split_prefix(f"{extended_name.lower()}.{sub}")
                have_header = header_ok = True
            pos = match.end()
            line += 1
            continue
        parser = _CharParser(text, pos, line)
        events = parser.parse_line()
        for event in events:
            if event[0] == "section":
                section, subsection = _split_prefix(event[1])
                have_header = header_ok = True
            elif event[0] == "entry":
                _, key, value, key_line = event
                if not have_header:
                    errors.append(ParseError(key_line, "key outside any [section]"))
                elif header_ok:
                    entries.append(ConfigEntry(section, subsection, key, value, key_line))
        if parser.error is not None:
            errors.append(parser.error)
            if parser.error_in_header:
                have_header, header_ok = True, False
        pos, line = parser.pos, parser.line


class _BadLine(Exception):
    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message


class _CharParser:
    """git's character state machine (config.c: get_next_char, get_base_var,
    get_extended_base_var, get_value, parse_value) for one line, or several joined by a
    trailing backslash. Slow, exact; only runs on lines the fast path does not recognise."""

    __slots__ = ("text", "pos", "end", "line", "eof_reads", "error", "error_in_header")

    def __init__(self, text: str, pos: int, line: int) -> None:
        self.text = text
        self.pos = pos
        self.end = len(text)
        self.line = line  # the line the next character is on
        self.eof_reads = 0  # git bumps its line counter on every read at end of file
        self.error: ParseError | None = None
        self.error_in_header = False

    def next_char(self) -> str:
        if self.pos >= self.end:
            self.eof_reads += 1
            return "\n"  # git: end of file reads as a newline
        char = self.text[self.pos]
        self.pos += 1
        if char == "\n":
            self.line += 1
        return char

    def bad(self, message: str, back_one_line: bool = False) -> _BadLine:
        # git's "bad config line N": its counter, including its EOF bumps and the places where
        # it steps back one line because the offending newline belongs to the line before.
        return _BadLine(self.line + self.eof_reads - (1 if back_one_line else 0), message)

    def parse_line(self) -> list[tuple]:
        """Events ("section", prefix) / ("entry", key, value, line) up to the next line start.
        On a malformed line: sets ``error`` and skips to the next line."""
        events: list[tuple] = []
        comment = False
        in_header = False
        try:
            while True:
                char = self.next_char()
                if char == "\n":
                    return events
                if comment or char in _SPACE:
                    continue
                if char == "#" or char == ";":
                    comment = True
                    continue
                if char == "[":
                    in_header = True
                    events.append(("section", self.section_header()))
                    in_header = False
                    continue
                if char not in _ALPHA:
                    raise self.bad("expected a [section] header, a key or a comment")
                key_line = self.line
                key, value = self.key_and_value(char)
                events.append(("entry", key, value, key_line))
                return events  # the value ends its line
        except _BadLine as bad:
            self.error = ParseError(bad.line, bad.message)
            self.error_in_header = in_header
            self.skip_rest_of_line()
            return events

    def skip_rest_of_line(self) -> None:
        if self.eof_reads or (self.pos > 0 and self.text[self.pos - 1] == "\n"):
            return  # the offending character was the newline itself
        newline = self.text.find("\n", self.pos)
        if newline < 0:
            self.pos = self.end
        else:
            self.pos = newline + 1
            self.line += 1

    def section_header(self) -> str:
        name = []
        while True:
            char = self.next_char()
            if self.eof_reads:
                raise self.bad("unterminated section header")
            if char == "]":
                break
            if char in _SPACE:
                return self.extended_section_header("".join(name), char)
            if char not in _KEY_CHARS and char != ".":
                raise self.bad(f"invalid character {char!r} in a section name")
            name.append(char.lower())
        if not name:
            raise self.bad("empty section name")
        return "".join(name)

    def extended_section_header(self, name: str, char: str) -> str:
        while True:
            if char == "\n":
                raise self.bad("unterminated section header", back_one_line=True)
            char = self.next_char()
            if char not in _SPACE:
                break
        if char != '"':
            raise self.bad('expected a quoted subsection name: [section "subsection"]')
        subsection = []
        while True:
            char = self.next_char()
            if char == "\n":
                raise self.bad("unterminated subsection name", back_one_line=True)
            if char == '"':
                break
            if char == "\\":  # any character escapes as itself in a subsection name
                char = self.next_char()
                if char == "\n":
                    raise self.bad("unterminated subsection name", back_one_line=True)
            if char == "\0":  # git would cut the name there and mangle the key; refuse
                raise self.bad("NUL character in a subsection name")
            subsection.append(char)
        if self.next_char() != "]":
            raise self.bad("expected ']' after the subsection name")
        return f"{name}.{''.join(subsection)}"

    def key_and_value(self, first: str) -> tuple[str, str | None]:
        key = [first.lower()]
        while True:
            char = self.next_char()
            if self.eof_reads or char not in _KEY_CHARS:
                break
            key.append(char.lower())
        while char == " " or char == "\t":
            char = self.next_char()
        if char == "\n":
            return "".join(key), None
        if char != "=":
            raise self.bad("expected '=' or the end of the line after a key")
        return "".join(key), self.value()

    def value(self) -> str:
        out: list[str] = []
        in_quotes = comment = False
        pending_spaces = 0
        while True:
            char = self.next_char()
            if char == "\n":
                if in_quotes:
                    raise self.bad("unterminated quoted value", back_one_line=True)
                value = "".join(out)
                nul = value.find("\0")
                return value if nul < 0 else value[:nul]  # git's C string ends at a NUL
            if comment:
                continue
            if not in_quotes:
                if char in _SPACE:
                    if out:  # leading whitespace never counts
                        pending_spaces += 1
                    continue
                if char == ";" or char == "#":
                    comment = True
                    continue
            if pending_spaces:  # inner whitespace: one space per character, trailing dropped
                out.append(" " * pending_spaces)
                pending_spaces = 0
            if char == "\\":
                char = self.next_char()
                if char == "\n":
                    continue  # line continuation
                escaped = _VALUE_ESCAPES.get(char)
                if escaped is None:
                    raise self.bad(f"unknown escape sequence \\{char} in a value")
                out.append(escaped)
                continue
            if char == '"':
                in_quotes = not in_quotes
                continue
            out.append(char)


def _collect_includes(config: GitConfig) -> None:
    for entry in config.entries:
        if entry.key != "path":
            continue
        if entry.section == "include" and entry.subsection is None:
            condition = None
        elif entry.section == "includeif" and entry.subsection is not None:
            condition = entry.subsection
        else:
            continue
        if entry.value is None:
            config.errors.append(ParseError(entry.line, "include path without a value"))
            continue
        config.includes.append(Include(entry.value, condition, entry.line))
    if config.errors:
        config.errors.sort(key=lambda error: error.line)


# --- the settings gitward needs from a repository's config ------------------------------------


@dataclass(slots=True)
class RepoSettings:
    bare: bool | None = None  # core.bare; None: unset or not a boolean
    ref_storage: str = "files"  # extensions.refStorage, lowercased
    object_format: str = "sha1"  # extensions.objectFormat
    # "true", "false" or "always" (core.logAllRefUpdates). Unset, git decides by bareness: false
    # for bare, true otherwise; None when that is unknown too (core.bare unset) or invalid.
    log_all_ref_updates: str | None = None
    remotes: list[Remote] = field(default_factory=list)
    worktree_config: bool = False  # extensions.worktreeConfig


def repo_settings(config: GitConfig) -> RepoSettings:
    bare = config.get_bool("core", None, "bare")
    ref_storage = config.get("extensions", None, "refstorage")
    object_format = config.get("extensions", None, "objectformat")
    return RepoSettings(
        bare=bare,
        ref_storage=ref_storage.lower() if ref_storage is not None else "files",
        object_format=object_format if object_format is not None else "sha1",
        log_all_ref_updates=_log_all_ref_updates(config, bare),
        remotes=_remotes(config),
        worktree_config=bool(config.get_bool("extensions", None, "worktreeconfig", default=False)),
    )


def _log_all_ref_updates(config: GitConfig, bare: bool | None) -> str | None:
    raw = config.get("core", None, "logallrefupdates")
    if raw is None:
        return None if bare is None else ("false" if bare else "true")
    if raw.lower() == "always":
        return "always"
    enabled = parse_bool(raw)
    return None if enabled is None else ("true" if enabled else "false")


def _remotes(config: GitConfig) -> list[Remote]:
    remotes = []
    for name in config.subsections("remote"):
        if name.startswith("/"):  # git ignores these ("remote shorthand cannot begin with '/'")
            continue
        urls = [u for u in config._raw_values("remote", name, "url") if u is not None]
        fetch = [f for f in config._raw_values("remote", name, "fetch") if f is not None]
        remotes.append(
            Remote(
                name=name,
                # git fetches from the first url; further ones are push targets
                url=redact_url(urls[0]) if urls else "",
                mirror=bool(config.get_bool("remote", name, "mirror", default=False)),
                fetch=fetch,
            )
        )
    return remotes
