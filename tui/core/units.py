"""Numbers as people read them, the same in the console and on the command line.

One place for sizes and counted nouns, so ``gitward scan`` and the console say "691 B" and
"1 ref" alike (humanize's ``naturalsize`` alone says "691 Bytes" and "1 Byte").
"""

from __future__ import annotations


def size(num_bytes: int | None) -> str:
    """``691 B``, ``1.4 KiB``, ``3.0 MiB`` (binary units, as ``ls -lh`` and git count); ``-`` when unknown."""
    if num_bytes is None:
        return "-"
    # deferred: humanize loads with the first size shown, not with every start (--help, the first frame)
    import humanize

    text = humanize.naturalsize(num_bytes, binary=True)
    # naturalsize spells the smallest unit out ("691 Bytes", "1 Byte"); every other unit is a symbol.
    return text.replace(" Bytes", " B").replace(" Byte", " B")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 ref``, ``2 refs``, ``1,204 repositories`` (with ``plural_form`` for irregular nouns)."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


def short(value: str | None) -> str:
    """An object id as the tables show it: its first 12 digits, or ``-``."""
    return value[:12] if value else "-"
