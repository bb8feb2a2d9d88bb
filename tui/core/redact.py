"""Keep secrets and terminal control sequences out of everything gitward shows, logs or prints.

Two different jobs, both applied to text gitward did not write itself:

- ``redact_url`` / ``redact_text``: credentials in remote URLs, in git's own error output and in
  HTTP trace headers become ``***``. The rule is "never leak, over-redact if unsure": the only
  credential-looking things kept are ssh login names (``git@host:x.git``, ``ssh://git@host/x``),
  which select an account on the server but prove nothing, and the user part of
  ``user:password@`` (unless it looks like a token).
- Terminal safety, one definition of what may not reach a terminal as it is (C0 controls
  including newline, DEL, C1 controls, undecodable bytes, Unicode line separators and
  bidirectional overrides), two renderings of it:

  - ``escape_terminal``: every such character shown as a visible escape (``\\x1b``, ``\\n``,
    ``\\x9b``, ``\\u202e``). For names and free text in the command line's text output and error
    lines: a path or ref name is shown exactly enough to be found again, and a newline in it
    cannot forge an output line.
  - ``sanitize_terminal``: escape sequences (colours, titles, OSC 52) and control characters
    removed, undecodable bytes shown as ``\\xNN``. For a remote's streamed output (the sync log,
    its file, the console's log pane), where colour codes are presentation, not content.

  JSON output keeps exact values: ``json_safe`` only makes sure the encoded document holds no
  raw control byte (``json.dumps`` leaves DEL as it is).
- Private keys: a PEM or OpenSSH ``-----BEGIN ... PRIVATE KEY-----`` block is masked as a whole
  by ``redact_text``; ``KeyBlockRedactor`` does the same line by line for a streamed log, where
  the block arrives over many lines.

All are pure string functions with patterns compiled once, on first use (``KeyBlockRedactor``
keeps one flag): the sync log pipes every line of ``git fetch`` output through them.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

MASK = "***"


class _LazyPattern:
    """A regular expression compiled on its first use. Compiling this module's patterns at
    import cost ~13 ms of every start (the console's first frame, every CLI command) for
    text that usually holds no secret to look for. Once compiled, the pattern's methods are
    plain attributes of this object: the sync log's per-line calls pay nothing extra."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> Any:  # only for what is not set yet: the first use
        compiled = re.compile(*self._source)
        for method in ("search", "match", "fullmatch", "sub", "subn", "finditer", "findall", "split"):
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)

# Schemes whose user part is an ssh login name, not a secret.
_SSH_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git"})

# Tokens that hosts accept in place of a user name (https://TOKEN@host or TOKEN:x-oauth-basic@).
_TOKEN_PREFIXES = (
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",  # GitHub
    "glpat-", "gldt-", "glrt-", "glptt-", "gloas-", "glcbt-", "glimt-", "glft-",  # GitLab
    "atbb", "atctt",  # Bitbucket (compared lowercased)
)
# Anything this long that mixes letters and digits is treated as a token too (Azure DevOps,
# Gitea and old GitHub tokens have no prefix). A long user name gets hidden: acceptable.
_TOKEN_MIN_LENGTH = 20

# URL query/fragment parameters whose values are secrets: private_token, access_token, token,
# password, passwd, api_key, client_secret, sig (Azure SAS), X-Amz-Signature/Credential, ...
_SENSITIVE_PARAM_NAME = _LazyPattern(r"token|pass|secret|key|auth|sig|credential|session", re.IGNORECASE)
_PARAM = _LazyPattern(r"(?<=[?&#;])([^=&#;\s]*)=([^&#;\s]*)")
# Outside URLs: "private_token=...", "password: ...", and prefixed tokens standing alone.
_SECRET_ASSIGNMENT_IN_TEXT = _LazyPattern(
    r"(?i)\b([A-Za-z0-9_.-]*(?:token|passw(?:or)?d|secret|api[_-]?key|credential)[A-Za-z0-9_.-]*)"
    r"(\s*[=:]\s*)(?![*]{3})(\"[^\"]*\"|'[^']*'|[^\s&;,'\"]+)"
)
_SECRET_WORDS = ("token", "passw", "secret", "key", "credential")
_TOKEN_PREFIXES_IN_TEXT = ("gh", "gl", "github_pat_")  # ghp_, gho_, glpat-, ...
_PREFIXED_TOKEN_IN_TEXT = _LazyPattern(
    r"\b(?:gh[pousr]_|github_pat_|gl(?:pat|dt|rt|ptt|oas|cbt|imt|ft)-)[A-Za-z0-9_-]{8,}"
)

_SCHEME_URL = _LazyPattern(r"([A-Za-z][A-Za-z0-9+.-]*)://(.*)", re.DOTALL)
_URL_IN_TEXT = _LazyPattern(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")
# "user:password@host" without a scheme (http.proxy accepts that form). It must start a token:
# after the start, whitespace, a quote, "=", "(", "<", "[" or ",". The password part is greedy up
# to the last "@" before whitespace or "/", so a raw "@" inside the password is hidden too.
_BARE_USERINFO_IN_TEXT = _LazyPattern(r"(?:(?<=[\s'\"=(<\[,])|^)([^\s:@/'\"]+):[^\s/]*@(?=[^\s@/])", re.MULTILINE)
# HTTP headers as they appear in GIT_TRACE_CURL output, http.extraHeader values and proxies'
# error pages. The auth scheme word (Basic, Bearer, ...) stays: it helps debugging, proves nothing.
_SECRET_HEADER = _LazyPattern(
    r"\b((?:proxy-)?authorization|(?:set-)?cookie|(?:private|job|deploy)-token|x-api-key)"
    r"([ \t]*:[ \t]*)"
    r"((?:basic|bearer|token|digest|negotiate|ntlm)[ \t]+)?"
    r"[^\r\n]+",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """``url`` with passwords, tokens and secret query parameters replaced by ``***``.

    ``https://user:pw@host`` -> ``https://user:***@host``; ``https://TOKEN@host`` ->
    ``https://***@host`` (a lone user part of a non-ssh URL is how tokens are passed);
    ``ssh://git@host/x`` and ``git@host:x.git`` are unchanged. The user info is everything up to
    the *last* ``@`` before the first ``/``: a password with an unencoded ``@``, ``?``, ``#`` or
    ``:`` is still hidden in full. (An unencoded ``/`` cannot be in a password: git, curl and
    RFC 3986 all end the host part there.) Idempotent.
    """
    match = _SCHEME_URL.match(url)
    if match is not None:
        scheme, rest = match.groups()
        ssh = scheme.lower() in _SSH_SCHEMES
        return f"{scheme}://{_redact_after_scheme(rest, ssh)}"
    # scp-like "user@host:path", a proxy's "user:pw@host:port", or a local path: an ssh login
    # name is not a secret, a password is.
    return _redact_after_scheme(url, ssh=True)


def redact_text(text: str) -> str:
    """Free text (git's stderr, a log line) with every credential it carries replaced by ``***``.

    Covers PEM/OpenSSH private key blocks (from ``BEGIN`` to ``END``, or to the end of ``text``
    when the ``END`` is missing), URLs with any scheme (``fatal: unable to access 'https://u:p@h/x/': ...``), bare
    ``user:password@host``, Authorization/Cookie/token headers (the rest of the line goes),
    ``private_token=...``/``password: ...`` assignments and GitHub/GitLab tokens standing alone.
    """
    lowered = text.lower()
    # Substring checks first: git prints thousands of progress lines a second.
    if "private key" in lowered:
        text = _PRIVATE_KEY_BLOCK.sub(_mask_key_block, text)
    if any(word in lowered for word in _SECRET_WORDS):
        text = _SECRET_ASSIGNMENT_IN_TEXT.sub(r"\1\2***", text)
    if any(prefix in text for prefix in _TOKEN_PREFIXES_IN_TEXT):
        text = _PREFIXED_TOKEN_IN_TEXT.sub("***", text)
    if ":" not in text:  # every form below needs one; most log lines are progress counters
        return text
    text = _SECRET_HEADER.sub(_mask_header, text)
    if "://" in text:
        text = _URL_IN_TEXT.sub(_redact_url_match, text)
    if "@" in text:
        text = _BARE_USERINFO_IN_TEXT.sub(_mask_bare_userinfo, text)
    return text


def _redact_after_scheme(rest: str, ssh: bool) -> str:
    slash = rest.find("/")
    authority = rest if slash < 0 else rest[:slash]
    at = authority.rfind("@")
    if at < 0:
        return _redact_params(rest)
    userinfo = rest[:at]
    return _redact_userinfo(userinfo, ssh) + "@" + _redact_params(rest[at + 1 :])


def _redact_userinfo(userinfo: str, ssh: bool) -> str:
    if not userinfo:
        return userinfo
    user, colon, _password = userinfo.partition(":")
    if _looks_like_token(user):
        return MASK
    if colon:
        return f"{user}:{MASK}"
    return userinfo if ssh else MASK


def _looks_like_token(user: str) -> bool:
    if user == MASK:
        return False
    if user.lower().startswith(_TOKEN_PREFIXES):
        return True
    if len(user) < _TOKEN_MIN_LENGTH:
        return False
    has_digit = any(c.isdigit() for c in user)
    has_alpha = any(c.isalpha() for c in user)
    return has_digit and has_alpha


def _redact_params(rest: str) -> str:
    if "=" not in rest:
        return rest
    return _PARAM.sub(_mask_param, rest)


def _mask_param(match: re.Match[str]) -> str:
    name = match.group(1)
    readable_name = unquote(name) if "%" in name else name
    if _SENSITIVE_PARAM_NAME.search(readable_name):
        return f"{name}={MASK}"
    return match.group(0)


def _mask_header(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}{match.group(3) or ''}{MASK}"


def _redact_url_match(match: re.Match[str]) -> str:
    return redact_url(match.group(0))


def _mask_bare_userinfo(match: re.Match[str]) -> str:
    user = match.group(1)
    return f"{MASK}@" if _looks_like_token(user) else f"{user}:{MASK}@"


# --- terminal safety --------------------------------------------------------------------------

# ECMA-48 / VT: CSI (ESC [ or 8-bit 0x9B) params, intermediates, final byte; string controls
# (OSC ESC ], DCS ESC P, SOS ESC X, PM ESC ^, APC ESC _, or their 8-bit forms) up to BEL or ST;
# any other ESC sequence (ESC, intermediates, final: "ESC c" resets the terminal). An unterminated
# string control loses only its introducer: its payload then shows as plain text, which is
# harmless once the ESC is gone. The payload class stops at ESC and at any C1 character, so each
# attempt ends at the next introducer and the scan stays linear on hostile input.
_ESCAPE_SEQUENCE = (
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x80-\x9f]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)
# C0 except \t and \n (and \r on request), DEL, C1.
_TERMINAL_UNSAFE = _LazyPattern(_ESCAPE_SEQUENCE + r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TERMINAL_UNSAFE_KEEP_CR = _LazyPattern(_ESCAPE_SEQUENCE + r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


# What is never written to a terminal as it is: C0 (newline and tab included), DEL, C1, lone
# surrogates (Python's surrogateescape form of bytes that are not UTF-8: a raw 0x9B byte is an
# 8-bit CSI to some terminals, and printing it may raise), the Unicode line and paragraph
# separators (line breaks to str.splitlines and some viewers) and the bidirectional embeddings,
# overrides and isolates ("Trojan Source": text shown in another order than it is).
_UNSAFE_CHARACTER = _LazyPattern("[\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_NOT_SHOWN_AS_IS = _LazyPattern("[\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _visible_escape(char: str) -> str:
    code = ord(char)
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the undecodable byte itself
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _escape_match(match: re.Match[str]) -> str:
    return _visible_escape(match.group(0))


def escape_terminal(text: str) -> str:
    """``text`` with every character unsafe for a terminal shown as a visible escape.

    ``"a\\x1b]52;c;eA==\\x07\\nb"`` -> ``a\\x1b]52;c;eA==\\x07\\nb`` (one line, nothing
    interpreted). Newlines and tabs are escaped too: the result is always one line. Backslashes
    are left as they are: telling a literal ``\\n`` from an escaped newline matters less than
    showing ordinary Windows-ish names unchanged, and no line can be forged either way. Rich
    markup is not touched: the command line prints plain text, and the console builds ``Text``
    objects that never parse it. Idempotent on its own output.
    """
    if _UNSAFE_CHARACTER.search(text) is None:
        return text
    return _UNSAFE_CHARACTER.sub(_escape_match, text)


def sanitize_terminal(text: str, keep_cr: bool = False) -> str:
    """``text`` without escape sequences and control characters, safe to write to a terminal.

    Keeps ``\\n`` and ``\\t``; keeps ``\\r`` only with ``keep_cr=True`` (the sync log handles
    carriage returns itself: git's progress lines overwrite one another). Undecodable bytes,
    line separators and bidirectional controls are shown escaped (``\\x9b``, ``\\u202e``), as
    ``escape_terminal`` shows them. Does not escape Rich markup: that is the renderer's job.
    """
    if text.isprintable():
        # Neither pattern can match: every character they look for (C0, DEL, C1, the escape
        # sequences' introducers, separators, bidi controls, surrogates) is not printable. Most
        # text is like this; the console's first frame then compiles no pattern (~3 ms).
        return text
    pattern = _TERMINAL_UNSAFE_KEEP_CR if keep_cr else _TERMINAL_UNSAFE
    text = pattern.sub("", text)
    if text.isascii() or _NOT_SHOWN_AS_IS.search(text) is None:
        return text
    return _NOT_SHOWN_AS_IS.sub(_escape_match, text)


def json_safe(encoded: str) -> str:
    """A document made by ``json.dumps`` (``ensure_ascii``, the default), with no raw control
    byte left: DEL is the one it does not escape. Values are unchanged once decoded."""
    return encoded.replace("\x7f", "\\u007f") if "\x7f" in encoded else encoded


# --- private keys ------------------------------------------------------------------------------

# PEM ("RSA", "EC", "DSA", "ENCRYPTED", none), OpenSSH, PGP ("PRIVATE KEY BLOCK") and the SSH2
# (RFC 4716, four dashes and spaces) markers. The label before PRIVATE is words of capitals.
_KEY_BEGIN = r"-{4,5} ?BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)? ?-{4,5}"
_KEY_END = r"-{4,5} ?END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)? ?-{4,5}"
_KEY_BEGIN_RE = _LazyPattern(_KEY_BEGIN, re.IGNORECASE)
_KEY_END_RE = _LazyPattern(_KEY_END, re.IGNORECASE)
# Begin to end, or to the end of the text: half a key is still a secret.
_PRIVATE_KEY_BLOCK = _LazyPattern(rf"({_KEY_BEGIN})(?:(?!{_KEY_END}).)*({_KEY_END}|\Z)", re.IGNORECASE | re.DOTALL)
# A line inside a block: base64, a PEM/RFC 4716/PGP header, or blank; git prefixes what the
# remote prints with "remote: ". Anything else (git's "fatal: ...") ends the block early, so a
# key without its END line does not hide the error that follows it.
_KEY_BODY_LINE = _LazyPattern(
    r"(?P<prefix>(?:remote:)?\s*)"
    r"(?:[A-Za-z0-9+/=]*|(?:Proc-Type|DEK-Info|Comment|Version|Charset|Hash|Subject|x-[A-Za-z-]+):.*|=[A-Za-z0-9+/]{4})\s*"
)


def _mask_key_block(match: re.Match[str]) -> str:
    end = match.group(2)
    return f"{match.group(1)} {MASK}" + (f" {end}" if end else "")


class KeyBlockRedactor:
    """Masks private key blocks in a log that arrives one line at a time.

    ``redact_text`` masks a block it sees whole; in a streamed log the ``BEGIN`` line, the body
    and the ``END`` line are separate lines (or separate reads). Feed every line in order to
    ``line``: the ``BEGIN`` line keeps its marker, each body line becomes ``***`` (the
    ``remote:`` prefix kept), the ``END`` line keeps its marker and what follows it. A final line
    that is not key material ends a block whose ``END`` never came; a progress update
    (``final=False``: git's counters interleave with what the remote prints) does not.
    """

    __slots__ = ("inside",)

    def __init__(self) -> None:
        self.inside = False

    def line(self, text: str, final: bool = True) -> str:
        if not self.inside:
            if "----" not in text:
                return text
            begin = _KEY_BEGIN_RE.search(text)
            if begin is None:
                return text
            head, rest = text[: begin.end()], text[begin.end() :]
            end = _KEY_END_RE.search(rest)
            if end is None:
                self.inside = True
                return f"{head} {MASK}"
            return f"{head} {MASK} " + self.line(rest[end.start() :], final)
        end = _KEY_END_RE.search(text)
        if end is not None:
            self.inside = False
            body = text[: end.start()]
            body_match = _KEY_BODY_LINE.fullmatch(body)
            prefix = body_match.group("prefix") if body_match else ""
            return f"{prefix}{MASK} {end.group(0)}" + self.line(text[end.end() :], final)
        body = _KEY_BODY_LINE.fullmatch(text)
        if body is None:
            if not final:
                return text
            self.inside = False
            return self.line(text)
        return f"{body.group('prefix')}{MASK}" if text.strip() else text

    def reset(self) -> None:
        """A new stream (the next process) starts outside any block."""
        self.inside = False
