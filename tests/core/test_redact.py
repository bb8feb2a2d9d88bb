"""Secrets never reach the screen, the logs or JSON; terminal escapes never reach the terminal."""

from __future__ import annotations

import pytest
from gitrepo import run_git
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tui.core.redact import KeyBlockRedactor, escape_terminal, json_safe, redact_text, redact_url, sanitize_terminal
from tui.core.sync.synclog import LineSplitter

URL_CASES = [
    # plain password: the user stays, the password goes
    ("https://alice:hunter2@git.example.com/x.git", "https://alice:***@git.example.com/x.git"),
    ("http://alice:@host/x", "http://alice:***@host/x"),
    # a user part alone is how tokens travel over http(s)
    ("https://glpat-0123456789abcdefghij@gitlab.example.com/x.git", "https://***@gitlab.example.com/x.git"),
    ("https://s3cr3ttoken@host/x", "https://***@host/x"),
    ("https://oauth2:glpat-abc@gitlab.example.com/g/p.git", "https://oauth2:***@gitlab.example.com/g/p.git"),
    ("https://x-access-token:ghs_abc@github.com/o/r", "https://x-access-token:***@github.com/o/r"),
    # a token as the user with a placeholder password (GitHub's old style)
    ("https://ghp_0123456789abcdef:x-oauth-basic@github.com/o/r", "https://***@github.com/o/r"),
    ("https://0123456789abcdef0123456789abcdef01234567:x@h/r", "https://***@h/r"),
    # ssh login names are not secrets
    ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
    ("ssh://git@gerrit.example.com:29418/platform/build", "ssh://git@gerrit.example.com:29418/platform/build"),
    ("git+ssh://deploy@host/x", "git+ssh://deploy@host/x"),
    ("ssh://git:pw@host/x", "ssh://git:***@host/x"),
    # ports, IPv6
    ("https://u:p@host:8443/x", "https://u:***@host:8443/x"),
    ("https://u:p@[2001:db8::1]:8443/x", "https://u:***@[2001:db8::1]:8443/x"),
    ("https://[::1]/x", "https://[::1]/x"),
    ("ssh://git@[fe80::1%25eth0]:22/x", "ssh://git@[fe80::1%25eth0]:22/x"),
    # percent-encoded and raw "@", "#", "?", ":" in the password are hidden in full
    ("https://u:p%40ss%3Aw@host/x", "https://u:***@host/x"),
    ("https://u:p@ss@host/x", "https://u:***@host/x"),
    ("https://u:pa#ss?w:rd@host/x", "https://u:***@host/x"),
    # query strings and fragments
    ("https://gitlab.example.com/x.git?private_token=abc&ref=main", "https://gitlab.example.com/x.git?private_token=***&ref=main"),
    ("https://h/x?access_token=a;token=b&password=c&sig=d#id_token=e", "https://h/x?access_token=***;token=***&password=***&sig=***#id_token=***"),
    ("https://h?token=abc", "https://h?token=***"),
    ("https://h/x?X-Amz-Signature=abc&X-Amz-Credential=def", "https://h/x?X-Amz-Signature=***&X-Amz-Credential=***"),
    # scp-like, proxies and local paths
    ("alice:hunter2@proxy.example.com:3128", "alice:***@proxy.example.com:3128"),
    ("/srv/git/repo@2.git", "/srv/git/repo@2.git"),
    ("../mirror.git", "../mirror.git"),
    ("file:///srv/git/x.git", "file:///srv/git/x.git"),
    ("https://git.example.com/x.git", "https://git.example.com/x.git"),
    ("", ""),
]


@pytest.mark.parametrize(("url", "expected"), URL_CASES)
def test_redact_url(url, expected):
    assert redact_url(url) == expected
    assert redact_url(expected) == expected  # idempotent


TEXT_CASES = [
    (
        "fatal: unable to access 'https://u:p@h/x/': The requested URL returned error: 403",
        "fatal: unable to access 'https://u:***@h/x/': The requested URL returned error: 403",
    ),
    (
        "From https://a:b@one/x and https://TOKEN@two/y; also ssh://git@three/z",
        "From https://a:***@one/x and https://***@two/y; also ssh://git@three/z",
    ),
    ("remote: see https://h/x?private_token=abc for details", "remote: see https://h/x?private_token=*** for details"),
    ("=> Send header: Authorization: Basic dXNlcjpwYXNz\r\n", "=> Send header: Authorization: Basic ***\r\n"),
    ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer ***"),
    ("proxy-authorization: NTLM abc", "proxy-authorization: NTLM ***"),
    ("authorization:token ghp_x", "authorization:token ***"),
    ("Authorization: weird-scheme secret", "Authorization: ***"),
    ("<= Recv header: Set-Cookie: session=abc; Path=/", "<= Recv header: Set-Cookie: ***"),
    ("PRIVATE-TOKEN: glpat-abc", "PRIVATE-TOKEN: ***"),
    ("http.proxy=alice:hunter2@proxy:3128", "http.proxy=alice:***@proxy:3128"),
    ("ssh: connect to host git@example.com port 22: Connection refused", "ssh: connect to host git@example.com port 22: Connection refused"),
    ("git@host: Permission denied (publickey).", "git@host: Permission denied (publickey)."),
    ("Receiving objects:  45% (450/1000), 1.2 MiB | 3.4 MiB/s", "Receiving objects:  45% (450/1000), 1.2 MiB | 3.4 MiB/s"),
    ("Authentication failed for 'https://h/x/'", "Authentication failed for 'https://h/x/'"),
]


@pytest.mark.parametrize(("text", "expected"), TEXT_CASES)
def test_redact_text(text, expected):
    assert redact_text(text) == expected
    assert redact_text(expected) == expected


def test_redact_text_on_gits_real_error_output(tmp_path):
    """What git itself prints when a URL with credentials fails (no network needed: port 9)."""
    url = "http://deploy:Sup3rS3cret@127.0.0.1:9/platform/build.git"
    result = run_git(tmp_path, "ls-remote", url, text=True)
    assert result.returncode != 0
    assert "127.0.0.1" in result.stderr
    assert "Sup3rS3cret" not in redact_text(result.stderr)


# --- property: a password put into a URL never survives ---------------------------------------

# Characters a password can hold in a URL: anything printable but whitespace and "/" (which ends
# the host part for git, curl and RFC 3986 alike; a real one must be written %2F).
password_chars = st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="/")
passwords = st.text(password_chars, min_size=6, max_size=24)
hosts = st.sampled_from(["git.example.com", "gerrit.example.com:29418", "[2001:db8::1]", "[::1]:8443", "10.0.0.1"])
schemes = st.sampled_from(["https", "http", "ssh", "git+ssh", "ftp", "HTTPS"])
users = st.sampled_from(["alice", "git", "oauth2", "x-access-token", "gitlab-ci-token", "deploy"])


def url_with_password(scheme: str, user: str, password: str, host: str) -> str:
    return f"{scheme}://{user}:{password}@{host}/platform/build.git"


@settings(max_examples=300)
@given(schemes, users, passwords, hosts)
def test_password_never_survives_redact_url(scheme, user, password, host):
    url = url_with_password(scheme, user, password, host)
    assume(password not in url.replace(f":{password}@", ":@", 1))  # the password is not also the user or host
    assert password not in redact_url(url)


@settings(max_examples=300)
@given(schemes, users, passwords, hosts, st.sampled_from(["'{}'", "{}", "<{}>", "({})", '"{}"']))
def test_password_never_survives_redact_text(scheme, user, password, host, quoting):
    url = url_with_password(scheme, user, password, host)
    text = f"fatal: unable to access {quoting.format(url)}: The requested URL returned error: 403\nremote: retry {url}"
    assume(password not in text.replace(f":{password}@", ":@"))
    assert password not in redact_text(text)


@settings(max_examples=300)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="/:@"), min_size=6, max_size=40), hosts)
def test_token_as_user_never_survives(token, host):
    url = f"https://{token}@{host}/x.git"
    assume(token not in url.replace(f"{token}@", "@"))
    assert token not in redact_url(url)
    assert token not in redact_text(f"fatal: unable to access '{url}': 401")


@settings(max_examples=300)
@given(passwords, st.sampled_from(["private_token", "access_token", "token", "password", "Password", "api_key"]))
def test_secret_query_values_never_survive(secret, name):
    assume(not any(c in secret for c in "&#;"))
    url = f"https://gitlab.example.com/g/p.git?ref=main&{name}={secret}"
    assume(secret not in url.replace(f"={secret}", "="))
    assert secret not in redact_url(url)
    assert secret not in redact_text(f"GET {url} 200")


@settings(max_examples=200)
@given(
    st.sampled_from(["https", "ssh", "git"]),
    st.from_regex(r"[a-z0-9.-]{1,20}(:[0-9]{1,5})?", fullmatch=True),
    st.from_regex(r"(/[A-Za-z0-9._~-]{0,12}){0,4}", fullmatch=True),
)
def test_urls_without_credentials_are_unchanged(scheme, host, path):
    url = f"{scheme}://{host}{path}"
    assert redact_url(url) == url
    assert redact_text(f"From {url}\n") == f"From {url}\n"


# --- terminal -----------------------------------------------------------------------------------

TERMINAL_CASES = [
    ("plain text", "plain text"),
    ("tab\tand\nnewline", "tab\tand\nnewline"),
    ("\x1b[31mred\x1b[0m", "red"),
    ("\x1b[?1049h\x1b[2J\x1b[H", ""),  # alternate screen, clear, home
    ("\x1b]0;pwned title\x07after", "after"),  # OSC ended by BEL
    ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),  # hyperlink, ST-terminated
    ("\x1bP+q544e\x1b\\x", "x"),  # DCS
    ("\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\y", "y"),
    ("\x1bcreset", "reset"),  # ESC c: full reset
    ("\x1b(Bcharset", "charset"),
    ("\x9b31mC1 CSI", "C1 CSI"),
    ("\x9d0;title\x9cz", "z"),  # 8-bit OSC and ST
    ("bell\x07back\x08space\x7fdel\x00nul", "bellbackspacedelnul"),
    ("cr\rline", "crline"),
    ("unterminated \x1b]0;title", "unterminated 0;title"),  # payload shows, ESC does not
    ("trailing escape\x1b", "trailing escape"),
    ("\x1b[31", "31"),
    ("\x85next line\x9fapc", "next lineapc"),
    ("ünïcödé ✓ 漢字", "ünïcödé ✓ 漢字"),
]


@pytest.mark.parametrize(("text", "expected"), TERMINAL_CASES)
def test_sanitize_terminal(text, expected):
    assert sanitize_terminal(text) == expected


def test_sanitize_terminal_keeps_cr_on_request():
    assert sanitize_terminal("10%\r20%\x1b[K\r\n", keep_cr=True) == "10%\r20%\r\n"
    assert sanitize_terminal("10%\r20%\r\n") == "10%20%\n"


@given(st.text())
def test_sanitized_text_holds_no_control_characters(text):
    clean = sanitize_terminal(text)
    assert not any((ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in clean)
    assert sanitize_terminal(clean) == clean


def test_sanitize_is_linear_on_hostile_input():
    import time

    hostile = "\x1b]" * 200_000 + "\x1b[" * 200_000 + "\x90" * 100_000
    started = time.perf_counter()
    assert sanitize_terminal(hostile) == ""
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(
    "line, secret",
    [
        ("fatal: private_token=glpat-abcdef123456 rejected", "glpat-abcdef123456"),
        ("password=hunter2 in config", "hunter2"),
        ("remote: use token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        ("x github_pat_11ABCDEFG0123456789abcdef y", "github_pat_11ABCDEFG0123456789abcdef"),
        ("api_key: abc123", "abc123"),
        ('remote: token: "s3cr3t value" ok', "s3cr3t"),
    ],
)
def test_secrets_outside_urls_are_redacted(line, secret):
    assert secret not in redact_text(line)
    assert "***" in redact_text(line)


@pytest.mark.parametrize(
    "line",
    [
        "Receiving objects:  45% (1234/2742), 1.20 MiB | 2.34 MiB/s",
        " * [new branch]      feature/async -> feature/async",
        "   302fcd6..c263fae  main          -> main",
    ],
)
def test_ordinary_git_output_is_untouched(line):
    assert redact_text(line) == line


# --- visible escapes (the command line's text output) ---------------------------------------------

ESCAPE_CASES = [
    ("plain/path.git", "plain/path.git"),
    ("a\x1b]52;c;cHduZWQ=\x07b", "a\\x1b]52;c;cHduZWQ=\\x07b"),  # OSC 52: clipboard write
    ("a\nforged line", "a\\nforged line"),
    ("cr\rtab\tnul\x00del\x7f", "cr\\rtab\\tnul\\x00del\\x7f"),
    ("\x9b31m c1", "\\x9b31m c1"),  # 8-bit CSI
    ("raw\udc9bbyte", "raw\\x9bbyte"),  # a byte that is not UTF-8, as os.fsdecode gives it
    ("rtl\u202eoverride\u2028sep", "rtl\\u202eoverride\\u2028sep"),
    ("[red]markup[/red] ünïcödé ✓", "[red]markup[/red] ünïcödé ✓"),  # plain text: nothing to escape
]


@pytest.mark.parametrize(("text", "expected"), ESCAPE_CASES)
def test_escape_terminal(text, expected):
    assert escape_terminal(text) == expected


@given(st.text())
def test_escaped_text_is_one_safe_line(text):
    shown = escape_terminal(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in shown)
    assert len(shown.splitlines()) <= 1
    shown.encode("utf-8")  # strict: printable on any UTF-8 stdout
    assert escape_terminal(shown) == shown


def test_sanitize_terminal_shows_undecodable_bytes_and_bidi_controls():
    assert sanitize_terminal("raw\udc9b\x1b[31mred\u202e") == "raw\\x9bred\\u202e"


@given(st.text())
def test_json_safe_keeps_values_and_leaves_no_raw_control_byte(text):
    import json

    encoded = json_safe(json.dumps({"v": text}))
    assert json.loads(encoded) == {"v": text}
    assert not any(ord(c) < 0x20 or ord(c) >= 0x7F for c in encoded)


# --- private keys -------------------------------------------------------------------------------

OPENSSH_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBy5LhXKEmTGe5NpIR9ls15J7jJKFCaPV63DY1TueF9IAAAAJA+vU2BPr1N\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
ENCRYPTED_PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "Proc-Type: 4,ENCRYPTED\n"
    "DEK-Info: AES-128-CBC,5E0E0DF1B2B0C8F0E5B6E1B0A7C2D3E4\n"
    "\n"
    "MIICXAIBAAKBgQD1dwEuBd8T9x1HExlgT28v8e7LHLDXLBs3W4LhLV4MxfuNqrUv\n"
    "-----END RSA PRIVATE KEY-----\n"
)
SECRET_PIECES = ("b3BlbnNz", "QyNTUxOQ", "MIICXAIB", "AES-128-CBC")


@pytest.mark.parametrize("key", [OPENSSH_KEY, ENCRYPTED_PEM, OPENSSH_KEY.replace("\n", " "), OPENSSH_KEY[:150]])
def test_redact_text_masks_a_key_block_whole(key):
    shown = redact_text(f"remote: before\n{key}remote: after\n")
    assert not any(piece in shown for piece in SECRET_PIECES), shown
    assert "PRIVATE KEY----- ***" in shown and "remote: before" in shown


def test_key_block_redactor_masks_each_line_and_ends_with_the_block():
    keys = KeyBlockRedactor()
    lines = ["remote: hello"] + [f"remote: {line}" for line in ENCRYPTED_PEM.splitlines()] + ["remote: after", "fatal: x"]
    shown = [keys.line(line) for line in lines]
    assert shown == [
        "remote: hello",
        "remote: -----BEGIN RSA PRIVATE KEY----- ***",
        "remote: ***",
        "remote: ***",
        "remote: ***",
        "remote: ***",
        "remote: *** -----END RSA PRIVATE KEY-----",
        "remote: after",
        "fatal: x",
    ]


def test_a_key_without_its_end_line_does_not_hide_the_error_after_it():
    keys = KeyBlockRedactor()
    shown = [keys.line(line) for line in OPENSSH_KEY.splitlines()[:2] + ["fatal: the remote hung up"]]
    assert shown == ["-----BEGIN OPENSSH PRIVATE KEY----- ***", "***", "fatal: the remote hung up"]


def _split_and_clean(chunks: list[bytes]) -> list[str]:
    splitter = LineSplitter()
    texts = [text for chunk in chunks for text, _final in splitter.feed(chunk)]
    return texts + [text for text, _final in splitter.close()]


@pytest.mark.parametrize("cut", [5, 20, 36, 40, 80, 120, 150])
def test_a_key_streamed_in_pieces_is_masked_in_every_line(cut):
    stream = ("deploy key:\n" + OPENSSH_KEY + "done\n").encode()
    for chunks in ([stream[:cut], stream[cut:]], [bytes([b]) for b in stream], [stream.replace(b"\n", b"\r\n")]):
        shown = "\n".join(_split_and_clean(chunks))
        assert not any(piece in shown for piece in SECRET_PIECES), shown
        assert "-----BEGIN OPENSSH PRIVATE KEY----- ***" in shown and "done" in shown


def test_a_key_behind_progress_redraws_is_masked_too():
    # The BEGIN line is overdrawn by a progress update in the same read: never shown, but the
    # body lines after it are still inside the block.
    lines = OPENSSH_KEY.splitlines()
    for begin in (lines[0], lines[0].replace("-----", "--\x1b[0m---")):  # dashes apart in the raw bytes
        stream = f"{begin}\rprogress 50%\r\n{lines[1]}\n{lines[2]}\n{lines[3]}\nafter\n".encode()
        shown = "\n".join(_split_and_clean([stream]))
        assert not any(piece in shown for piece in SECRET_PIECES), shown
        assert "after" in shown
