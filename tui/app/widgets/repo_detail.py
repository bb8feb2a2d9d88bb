"""The host screen's side pane on a wide terminal: the highlighted repository's problems.

At 250 columns the repository list leaves half the screen empty; this pane uses it for what
the operator would open the repository to read: where it is, its layout, and each problem with
its meaning and the command to run (with the real path, so ``y`` copies one that runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from tui.app.text import clean, display_path

if TYPE_CHECKING:  # the report dataclasses load with the scan, after the first frame
    from tui.core.model import RepoReport

__all__ = ["RepoDetail"]


class RepoDetail(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    RepoDetail { width: 1fr; max-width: 100; height: 1fr; padding: 0 1; border-left: solid $panel-lighten-1; }
    RepoDetail > .detail-title { text-style: bold; color: $text-accent; }
    RepoDetail > .problem-body { padding: 0 0 1 4; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.report: RepoReport | None = None
        self._drawn: RepoReport | None = None  # what the widgets below show
        self._stale = False  # report changed while the pane was hidden: drawn when shown

    def compose(self) -> ComposeResult:
        yield Static(Content("no repository highlighted"), classes="detail-title", id="detail-title")

    def show(self, report: RepoReport | None) -> None:
        """Show ``report`` (None: nothing highlighted); redrawn only when the report changed.

        Hidden (below 180 columns) nothing is built: the pane mounts a widget per problem,
        and the cursor moves with every key press and every batch of scan results."""
        if report is self.report:
            return
        self.report = report
        if not self.display:
            self._stale = True
            return
        self._draw(report)

    def on_show(self) -> None:
        if self._stale:
            self._draw(self.report)

    def _draw(self, report: RepoReport | None) -> None:
        self._stale = False
        if report is self._drawn:
            return
        self._drawn = report
        for old in self.query(".problem-head, .problem-body"):
            old.remove()
        title = self.query_one("#detail-title", Static)
        if report is None:
            title.update(Content("no repository highlighted"))
            return
        title.update(
            Content.assemble(
                (clean(report.name), "bold"), "  ", (report.layout.value, "$text-muted"), "\n", (display_path(report.path), "")
            )
        )
        # deferred: the Overview tab's module (its patterns, shlex) loads with the first report
        # shown here, not with the host screen's first frame
        from tui.app.widgets.overview import ordered_problems, problem_body, problem_head

        widgets: list[Static] = []
        if not report.problems:
            widgets.append(Static(Content.assemble(("✓ no problems found", "bold $text-success")), classes="problem-head"))
        for problem in ordered_problems(report):
            widgets.append(Static(problem_head(problem), classes="problem-head"))
            widgets.append(Static(problem_body(problem, report.path), classes="problem-body"))
        self.mount_all(widgets)
