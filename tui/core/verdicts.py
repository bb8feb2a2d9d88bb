"""What a shadow verdict means: how bad it is, and one sentence for the operator.

One place for it: the scan's problems (problems.py), the Refs tab's verdict column, the ref
details dialog and the shadows preview all read it here, so a verdict cannot be an error in one
view and a warning in another. Not UI: no Textual, no colours (the console maps a severity to a
colour and a symbol, ``Severity.symbol``).
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.model import Severity, Verdict

__all__ = ["VerdictMeaning", "MEANINGS", "severity", "meaning", "label"]


@dataclass(frozen=True, slots=True)
class VerdictMeaning:
    severity: Severity | None  # None: harmless (identical, dead-packed)
    meaning: str


MEANINGS: dict[Verdict, VerdictMeaning] = {
    Verdict.IDENTICAL: VerdictMeaning(None, "loose and packed hold the same value: harmless."),
    Verdict.DEAD_PACKED: VerdictMeaning(
        None, "the loose value is newer (a normal update); the packed value is dead: harmless."
    ),
    Verdict.STALE_LOOSE: VerdictMeaning(
        Severity.ERROR,
        "the packed value is NEWER than the loose file git reads: clients see an old state. "
        "Do not run git gc / pack-refs / prune until it is resolved.",
    ),
    Verdict.DIVERGED: VerdictMeaning(
        Severity.WARNING, "loose and packed are on unrelated histories; git shows the loose value."
    ),
    Verdict.BROKEN_LOOSE: VerdictMeaning(
        Severity.ERROR, "the loose file cannot be parsed and hides the packed value: the ref is broken."
    ),
    Verdict.MISSING_OBJECT: VerdictMeaning(Severity.ERROR, "one of the values is not in the object store."),
    Verdict.UNDECIDABLE: VerdictMeaning(
        Severity.INFO, "the values differ and are not both commits: gitward cannot tell which is newer."
    ),
}


def severity(verdict: Verdict) -> Severity | None:
    """How bad ``verdict`` is; None when it is harmless."""
    return MEANINGS[verdict].severity


def meaning(verdict: Verdict) -> str:
    return MEANINGS[verdict].meaning


def label(verdict: Verdict) -> str:
    """``✖ stale-loose``: the verdict with its severity's symbol (monochrome terminals), or bare."""
    level = MEANINGS[verdict].severity
    return f"{level.symbol} {verdict.value}" if level is not None else verdict.value
