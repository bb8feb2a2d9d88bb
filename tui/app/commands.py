"""The ``:`` command line: names, aliases and parsing (no Textual import; the app runs them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    aliases: tuple[str, ...]
    argument: str  # "" none, "NAME" required, "[NAME]" optional
    help: str


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("repos", ("host", "rs", "home"), "", "the host's repository list"),
    CommandSpec("repo", ("open", "o"), "NAME", "open a repository by name (unique part of it is enough)"),
    CommandSpec("overview", ("ov", "info"), "[NAME]", "the repository's Overview tab"),
    CommandSpec("refs", ("ref",), "[NAME]", "the repository's Refs tab"),
    CommandSpec("worktrees", ("wt", "worktree"), "[NAME]", "the repository's Worktrees tab"),
    CommandSpec("locks", ("lock",), "[NAME]", "the repository's Locks tab"),
    CommandSpec("log", ("logs",), "[NAME]", "the repository's sync log"),
    CommandSpec("jobs", ("job", "syncs"), "", "running and finished syncs"),
    CommandSpec("sync", (), "[NAME|faulted|shown]", "sync the selected (or named) repository, or every faulted or shown one"),
    CommandSpec("journal", ("jr", "history"), "", "what gitward changed, newest first; u undoes an entry"),
    CommandSpec("rescan", ("scan",), "", "scan the roots again"),
    CommandSpec("refresh", ("auto",), "[SECONDS|off]", "rescan in the background SECONDS after each scan (off: never); alone: the setting"),
    CommandSpec("faults", (), "", "toggle faults-only on the repository list"),
    CommandSpec("filter", ("f",), "[TEXT]", "filter the repository list (empty: clear)"),
    CommandSpec("compare", ("cmp",), "SOURCE", "compare this host (the replica) with SOURCE: a directory, a manifest or ssh://host/path"),
    CommandSpec("theme", (), "[NAME]", "switch the colour theme (no name: list them, previewed)"),
    CommandSpec("help", ("h", "?"), "", "every key binding"),
    CommandSpec("quit", ("q", "q!", "exit"), "", "leave gitward"),
)

TAB_COMMANDS = {"overview", "refs", "worktrees", "locks", "log"}

_BY_WORD: dict[str, CommandSpec] = {}
for _spec in COMMANDS:
    for _word in (_spec.name, *_spec.aliases):
        _BY_WORD[_word] = _spec


class CommandError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    argument: str = ""


def parse(text: str) -> Command:
    """``"wt"`` -> Command("worktrees"); ``"repo gerrit/x.git"`` -> Command("repo", "gerrit/x.git")."""
    text = text.strip().removeprefix(":").strip()
    if not text:
        raise CommandError("empty command; try :help")
    word, _, argument = text.partition(" ")
    spec = _BY_WORD.get(word.lower())
    if spec is None:
        raise CommandError(f"unknown command ':{word}'; known: {', '.join(s.name for s in COMMANDS)}")
    argument = argument.strip()
    if spec.argument == "" and argument:
        raise CommandError(f":{spec.name} takes no argument")
    if spec.argument == "NAME" and not argument:
        raise CommandError(f"usage: :{spec.name} {spec.argument}")
    return Command(spec.name, argument)


def refresh_seconds(argument: str) -> float | None:
    """``:refresh 60`` -> 60.0, ``:refresh off`` -> None (never); at least a second."""
    word = argument.strip().lower().removesuffix("s").strip()
    if word in ("off", "never", "0", "no"):
        return None
    try:
        seconds = float(word)
    except ValueError:
        raise CommandError(f"usage: :refresh SECONDS|off (got {argument.strip()!r})") from None
    if not seconds >= 1 or seconds == float("inf"):
        raise CommandError(":refresh takes at least 1 second (or off)")
    return seconds


def completions() -> list[str]:
    """Every command word, for the suggester."""
    return sorted(_BY_WORD)
