"""How a sync job looks in the console: state symbols, one-line summaries, changed refs, table rows.

Shared by the repository's Log pane and the jobs screen. Jobs are ``tui.core.sync.jobs.SyncJob``
objects, read from the UI thread (their attributes are plain values the job's thread replaces).
Every string from a job (names, paths, git's error line, ref names) is untrusted: it goes
through ``clean`` into ``Content``/``Text`` as plain text, never markup.
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.content import Content

from tui.app.text import clean, display_path, plural, shorten_paths
from tui.app.widgets.vtable import Column, Palette

# symbol, theme style; the word is always shown too (never colour alone)
STATE_LOOK: dict[str, tuple[str, str]] = {
    "queued": ("○", "$text-muted"),
    "running": ("▶", "bold $text-accent"),
    "ok": ("✔", "bold $text-success"),
    "failed": ("✖", "bold $text-error"),
    "cancelled": ("■", "bold $text-warning"),
    "timed-out": ("✖", "bold $text-error"),
}
CHANGE_WORD = {"new": "new", "updated": "updated", "deleted": "deleted"}


def seconds(value: float | None) -> str:
    """``0.4 s``, ``12.0 s``, ``3 min 05 s``, ``1 h 02 min``; ``-`` when unknown."""
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def exit_text(code: int | None) -> str:
    """git's exit code; a negative one is the signal that ended it (a cancel: SIGTERM)."""
    if code is None:
        return "-"
    if code < 0:
        # local by habit only: importing this module already loads it (could move to the top)
        import signal

        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"{code} (signal {-code})"
    return str(code)


def state_part(job: Any) -> tuple[str, str]:
    state = job.state.value
    symbol, style = STATE_LOOK.get(state, ("?", ""))
    return f"{symbol} {state}", style


def duration_text(job: Any, live_clock: bool) -> str | None:
    """The job's duration; a running job's only with a live clock (screenshots, tests: none)."""
    if job.started_at is None:
        return None
    if not job.done and not live_clock:
        return None
    return seconds(job.duration)


def outcome(job: Any) -> str:
    """``3 refs changed`` / ``up to date`` / git's error line / what it waits for."""
    state = job.state.value
    if state == "ok":
        count = len(job.changed_refs)
        text = "up to date" if not count else plural(count, "ref") + " changed"
        if job.link_change is not None:
            text += ", link moved"
        if job.warnings:
            text += f", {plural(len(job.warnings), 'warning')}"
        return text
    if state == "queued":
        return "waiting for a free place (per-host limit, or this repo's sync before it)"
    if state == "running":
        return "running"
    return clean(job.error or "no reason given")


def display_name(job: Any, names: dict[int, str] | None = None) -> str:
    """The repository as the host list names it (``mirrors/lib.git``), else its path (``~/...``)."""
    if names and job.id in names:
        return clean(names[job.id])
    return display_path(job.name)


def job_line(job: Any, *, live_clock: bool = True, name: str | None = None) -> Content:
    """The Log pane's header: state, what runs from where, duration, exit code, result."""
    parts: list = [state_part(job), "  "]
    if name:
        parts += [(name, "bold"), "  "]
    parts += [f"sync #{job.id} · {job.kind.value} from {clean(job.plan.remote)} ", (shorten_paths(job.plan.url), "$text-muted")]
    took = duration_text(job, live_clock)
    if took:
        parts += [" · ", took]
    if job.done and job.exit_code is not None:
        parts += [" · ", f"exit {exit_text(job.exit_code)}"]
    if job.done:
        parts += ["\n", (outcome(job), "" if job.state.value == "ok" else STATE_LOOK.get(job.state.value, ("", ""))[1])]
    if job.done and job.hint:
        parts += ["\n", ("hint: ", "bold"), clean(job.hint)]
    if job.done and job.changed_refs:
        parts += ["\n", *changed_ref_parts(job, limit=4)]
    return Content.assemble(*parts)


def changed_ref_parts(job: Any, limit: int) -> list:
    """``refs/heads/main  1a2b3c4d5e6f → 9f8e7d6c5b4a  updated`` per ref, ``limit`` at most."""
    changes = job.changed_refs
    parts: list = []
    width = min(60, max((len(clean(c.name)) for c in changes[:limit]), default=0))
    for index, change in enumerate(changes[:limit]):
        if index:
            parts.append("\n")
        old = change.old[:12] if change.old else "(none)"
        new = change.new[:12] if change.new else "(deleted)"
        kind = change.kind
        style = {"new": "$text-success", "deleted": "$text-warning"}.get(kind, "$text-accent")
        parts += [
            (f"{CHANGE_WORD.get(kind, kind):<8}", style),
            f"{clean(change.name):<{width}}  ",
            (old, "$text-muted"),
            " → ",
            (new, "bold"),
        ]
    if len(changes) > limit:
        parts += ["\n", (f"… and {len(changes) - limit:,} more (the jobs screen lists them: :jobs)", "$text-muted")]
    return parts


def job_detail(job: Any, *, live_clock: bool = True, ref_limit: int = 500, name: str | None = None) -> Content:
    """The jobs screen's detail: everything about one job."""
    parts: list = [state_part(job), "  ", (name or display_name(job), "bold"), f"  sync #{job.id} · {job.kind.value} from {clean(job.plan.remote)} ", (shorten_paths(job.plan.url), "$text-muted")]
    facts = [
        ("queued", _clock(job.queued_at)),
        ("started", _clock(job.started_at)),
        ("ended", _clock(job.ended_at)),
        ("duration", duration_text(job, live_clock) or "-"),
        ("exit code", exit_text(job.exit_code)),
    ]
    parts.append("\n")
    for index, (label, value) in enumerate(facts):
        parts += [("  ·  " if index else ""), (label + " ", "$text-muted"), value]
    parts += ["\n", ("log file ", "$text-muted"), display_path(job.log_path) if job.log_path else "(none yet)" if not job.done else "(none)"]
    if job.done:
        good = job.state.value == "ok"
        parts += ["\n", (("result " if good else "why "), "$text-muted"), (outcome(job), "" if good else STATE_LOOK[job.state.value][1])]
    if job.hint:
        parts += ["\n", ("hint ", "$text-muted"), clean(job.hint)]
    for warning in job.warnings:
        parts += ["\n", ("▲ ", "bold $text-warning"), shorten_paths(warning)]
    for warning in getattr(job, "preflight_warnings", []) or []:
        parts += ["\n", ("▲ ", "bold $text-warning"), shorten_paths(warning.message)]
    if job.link_change is not None:
        old, new = job.link_change
        parts += ["\n", ("link ", "$text-muted"), display_path(old) or "(none)", " → ", (display_path(new), "bold")]
    if job.changed_refs:
        parts += ["\n\n", (f"changed refs ({len(job.changed_refs):,})", "bold"), "\n", *changed_ref_parts(job, ref_limit)]
    elif job.done and job.state.value == "ok":
        parts += ["\n", ("no ref changed", "$text-muted")]
    return Content.assemble(*parts)


def _clock(moment: float | None) -> str:
    if moment is None:
        return "-"
    return time.strftime("%H:%M:%S", time.localtime(moment))


# --------------------------------------------------------------------------- the jobs table

JOB_COLUMNS = [
    Column("id", "#", justify="right", sortable=False),
    Column("repo", "repo", max_width=48, overflow="middle", sortable=False),
    Column("kind", "kind", sortable=False),
    Column("state", "state", width=11, sortable=False),
    Column("started", "started", width=8, sortable=False),
    Column("duration", "took", justify="right", width=9, sortable=False),
    Column("exit", "exit", justify="right", width=4, sortable=False),
    Column("result", "result", flex=True, min_width=12, sortable=False),
    Column("host", "host", max_width=30, sortable=False),
]


def job_row(job: Any, palette: Palette, live_clock: bool = True, name: str | None = None) -> list[Text]:
    state = job.state.value
    symbol = STATE_LOOK.get(state, ("?", ""))[0]
    state_style = {
        "ok": palette.ok,
        "failed": palette.error,
        "timed-out": palette.error,
        "cancelled": palette.warning,
        "running": palette.accent,
        "queued": palette.dim,
    }.get(state, palette.dim)
    result_style = state_style if state in ("failed", "timed-out", "cancelled") else palette.dim if state == "queued" else ""
    return [
        Text(str(job.id), no_wrap=True, end=""),
        Text(name or display_name(job), style=palette.bold, no_wrap=True, end=""),
        Text(job.kind.value, style=palette.dim, no_wrap=True, end=""),
        Text(f"{symbol} {state}", style=state_style, no_wrap=True, end=""),
        Text(_clock(job.started_at), no_wrap=True, end=""),
        Text(duration_text(job, live_clock) or "-", no_wrap=True, end=""),
        Text("-" if job.exit_code is None else str(job.exit_code), no_wrap=True, end=""),  # the column is narrow
        Text(outcome(job), style=result_style, no_wrap=True, end=""),
        Text(clean(job.host), style=palette.dim, no_wrap=True, end=""),
    ]
