"""The Overview tab: facts about one repository and every problem, with meaning and action."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Grid, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tui.app.problem_help import help_for
from tui.app.text import age, clean, display_path, shorten_paths, short, size
from tui.app.widgets.summary import SEVERITY_STYLE
from tui.core.model import Problem, RepoReport, Severity

def fact_rows(report: RepoReport, now: float) -> list[tuple[str, Content]]:
    """(label, value) pairs for the facts grid; values are Content built from cleaned text."""
    rows: list[tuple[str, Content]] = []

    def add(label: str, *value: str | tuple[str, str]) -> None:
        rows.append((label, Content.assemble(*value)))

    add("path", (display_path(report.path), "bold"))
    if report.git_dir != report.path:
        add("git dir", display_path(report.git_dir))
    add("layout", report.layout.value)
    if report.head_target:
        head = (short(report.head), "$text-accent") if report.head else ("(unborn or broken)", "$text-warning")
        add("HEAD", clean(report.head_target), "  ", head)
    else:
        head = (short(report.head), "$text-accent") if report.head else ("(unreadable)", "$text-error")
        add("HEAD", head, "  (detached)")
    if report.remotes:
        for index, remote in enumerate(report.remotes):
            # URLs are redacted by the core; cleaned here against terminal escapes.
            add("remotes" if index == 0 else "", (clean(remote.name), "bold"), "  ", clean(remote.url), "  (mirror)" if remote.mirror else "")
    else:
        add("remotes", ("none", "$text-muted"))
    add("ref storage", clean(report.ref_storage))
    counts = report.refs
    add(
        "refs",
        (f"{counts.total:,}", "bold"),
        f" total · {counts.loose:,} loose · {counts.packed:,} packed · {counts.both:,} both"
        + (f" · {counts.symbolic:,} symbolic" if counts.symbolic else ""),
        (f" · {counts.broken:,} broken", "$text-error") if counts.broken else "",
    )
    if counts.both:
        shadow_parts: list = []
        for verdict, style in (
            ("stale-loose", "bold $text-error"),
            ("broken-loose", "bold $text-error"),
            ("missing-object", "bold $text-error"),
            ("diverged", "$text-warning"),
            ("undecidable", "$text-primary"),
            ("dead-packed", ""),
            ("identical", ""),
        ):
            number = counts.shadows.get(verdict, 0)
            if number:
                if shadow_parts:
                    shadow_parts.append(" · ")
                shadow_parts.append((f"{number:,} {verdict}", style))
        add("shadows", *(shadow_parts or [("being judged", "$text-muted")]))
    locked = sum(1 for w in report.worktrees if w.locked)
    prunable = sum(1 for w in report.worktrees if w.prunable)
    add(
        "worktrees",
        f"{len(report.worktrees)}",
        (f" · {locked} locked", "$text-primary") if locked else "",
        (f" · {prunable} prunable", "$text-warning") if prunable else "",
    )
    stale_locks = sum(1 for lock in report.locks if lock.stale)
    add("locks", f"{len(report.locks)}", (f" · {stale_locks} stale", "$text-warning") if stale_locks else "")
    add("packed-refs", size(report.packed_refs_size) if report.packed_refs_size is not None else "none")
    add("last fetch", *last_fetch_parts(report, now))
    if report.sync_link:
        add("git-sync link", display_path(report.sync_link), " → ", display_path(report.sync_link_target))
    return rows


def last_fetch_parts(report: RepoReport, now: float) -> list:
    """The last *successful* fetch; a newer one that failed, was cancelled or timed out is
    shown as such first (``tui.core.fetch_status``: an emptied FETCH_HEAD is not a fetch)."""
    ok = age(now - report.last_fetch) if report.last_fetch is not None else None
    failure = report.last_fetch_failure
    if failure is None:
        return [ok or "never (no FETCH_HEAD)"]
    return [
        (f"✗ {failure.state} {age(now - failure.at)}", "bold $text-error"),
        f" · last ok {ok}" if ok else " · no successful fetch known",
        (f" · {clean(failure.error)}", "$text-muted") if failure.error else "",
    ]


def problem_head(problem: Problem) -> Content:
    parts: list = [
        (f"{problem.severity.symbol} {problem.severity.value}", SEVERITY_STYLE[problem.severity]),
        "  ",
        (clean(problem.code), "bold"),
    ]
    if problem.subject:
        parts += ["  ", (clean(problem.subject), "$text-muted")]
    return Content.assemble(*parts)


_REPO_WORD = re.compile(r"\bREPO\b")
_QUOTED_COMMAND = re.compile(r"'(gitward [^']+)'")
_BARE_COMMAND = re.compile(r"\b(gitward [a-z-]+(?: [a-z-]+)?(?: (?:REPO|--[a-z-]+(?: [a-z]+)?|-[a-z]))*)")


def for_repo(text: str, path: str) -> str:
    """``text`` with the placeholder REPO replaced by ``path`` (shell-quoted): a command the
    operator can copy and run as it is."""
    return _REPO_WORD.sub(lambda _match: shlex.quote(path), text) if path else text


def suggested_command(problem: Problem, path: str) -> str | None:
    """The gitward command a problem suggests, for this repository (``y`` copies it)."""
    fix = problem.message.find("Fix:")
    found = _QUOTED_COMMAND.findall(problem.message[fix:]) if fix >= 0 else []
    found = found or _QUOTED_COMMAND.findall(problem.message)
    guide = help_for(problem.code)
    if not found and guide is not None:
        found = _BARE_COMMAND.findall(guide.action)
    for command in found:
        if "NAME" not in command:  # a placeholder only the operator can fill in
            return for_repo(command, path)
    return None


def problem_body(problem: Problem, path: str = "") -> Content:
    """The message, what it means and what to do; REPO in them is ``path`` (the real repository)."""
    parts: list = [shorten_paths(for_repo(problem.message, path))]
    guide = help_for(problem.code)
    if guide is not None:
        parts += ["\n", ("means ", "italic $text-muted"), guide.meaning]
        parts += ["\n", ("do ", "bold $text-accent"), shorten_paths(for_repo(guide.action, path))]
    return Content.assemble(*parts)


def ordered_problems(report: RepoReport) -> list[Problem]:
    return sorted(report.problems, key=lambda p: -p.severity.rank)


class Overview(VerticalScroll):
    DEFAULT_CSS = """
    Overview { padding: 0 1; }
    Overview > .section-title { text-style: bold; margin-top: 1; color: $text-accent; }
    Overview #problems { height: auto; }
    Overview #facts { grid-size: 2; grid-columns: 14 1fr; grid-rows: auto; height: auto; }
    Overview .fact-label { text-style: bold; color: $text-muted; }
    Overview .problem-body { padding: 0 0 1 4; }
    """

    def __init__(self, report: RepoReport, now: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.report = report
        self._now = now

    def compose(self) -> ComposeResult:
        yield Grid(id="facts")
        yield Static(Content(""), classes="section-title", id="problems-title")
        yield Vertical(id="problems")

    def on_mount(self) -> None:
        self.show(self.report)

    def show(self, report: RepoReport) -> None:
        self.report = report
        grid = self.query_one("#facts", Grid)
        grid.remove_children()
        cells = []
        for label, value in fact_rows(report, self._now()):
            cells.append(Static(Content(label), classes="fact-label"))
            cells.append(Static(value, classes="fact-value"))
        grid.mount_all(cells)
        self.query_one("#problems-title", Static).update(Content(f"Problems ({len(report.problems)})"))
        box = self.query_one("#problems", Vertical)
        box.remove_children()
        if not report.problems:
            box.mount(Static(Content.assemble(("✓ no problems found", "bold $text-success"))))
            return
        widgets = []
        for problem in ordered_problems(report):
            widgets.append(Static(problem_head(problem), classes="problem-head"))
            widgets.append(Static(problem_body(problem, report.path), classes="problem-body"))
        box.mount_all(widgets)


def stale_banner(report: RepoReport) -> Content | None:
    """The loud warning for the migration incident, or None."""
    stale = report.refs.shadows.get("stale-loose", 0)
    if not stale:
        return None
    return Content.assemble(
        (f"{Severity.ERROR.symbol} {stale:,} STALE LOOSE REF{'S' if stale != 1 else ''}: ", "bold"),
        "do NOT run git gc, git pack-refs or git prune in this repository until they are resolved. "
        "packed-refs holds NEWER values than the loose files git reads; packing folds the old values in "
        "and discards the new ones, and prune can then delete the newer commits.",
    )
