"""A verdict means the same everywhere: the scan's problems, the Refs tab and the details dialog."""

from __future__ import annotations

from gitrepo import commit_chain, git, init_bare, write_loose
from rich.style import Style

from tui.app.widgets.ref_list import verdict_cell
from tui.app.widgets.vtable import Palette
from tui.core import verdicts
from tui.core.model import Severity, Verdict
from tui.core.problems import shadow_problems
from tui.core.refstore import judge_shadows, read_snapshot

_PALETTE = Palette(
    error=Style(color="red"),
    warning=Style(color="yellow"),
    info=Style(color="blue"),
    ok=Style(color="green"),
    dim=Style(dim=True),
    accent=Style(color="cyan"),
    bold=Style(bold=True),
)


def test_every_verdict_has_a_meaning_and_harmless_ones_no_severity():
    assert set(verdicts.MEANINGS) == set(Verdict)
    assert verdicts.severity(Verdict.IDENTICAL) is None and verdicts.severity(Verdict.DEAD_PACKED) is None
    assert verdicts.label(Verdict.STALE_LOOSE) == "✖ stale-loose"
    assert verdicts.label(Verdict.DIVERGED) == "▲ diverged"
    assert verdicts.label(Verdict.IDENTICAL) == "identical"


def test_the_scan_problem_and_the_refs_tab_agree_on_a_stale_loose_ref(tmp_path):
    repo = init_bare(tmp_path / "r.git")
    ids = commit_chain(repo, 2)
    git(repo, "pack-refs", "--all")
    write_loose(repo, "refs/heads/main", ids[0])  # older than the packed ids[1]
    snapshot = read_snapshot(str(repo))
    judge_shadows(snapshot)
    assert snapshot.verdicts == {"refs/heads/main": Verdict.STALE_LOOSE}
    (problem,) = shadow_problems(snapshot)
    assert problem.severity is verdicts.severity(Verdict.STALE_LOOSE) is Severity.ERROR
    cell = verdict_cell(Verdict.STALE_LOOSE, _PALETTE)
    assert cell.plain == "✖ stale-loose" and cell.style == _PALETTE.error
