"""Per-repository ref checksums: GitLab's number, and gitward's own for the compare fast path.

``gitaly_checksum`` is computed the way Gitaly's ``CalculateChecksum`` RPC does it
(``internal/gitaly/service/repository/calculate_checksum.go`` and ``internal/git/checksum.go``):

- the lines are what ``git show-ref --head`` prints: ``<full hex oid> <refname>``, HEAD first when
  it resolves, then every ref under ``refs/`` that git's ref iterator yields (loose wins over
  packed); a symbolic ref under ``refs/`` is listed with its target's value under its own name,
  and a dangling one is left out (``DO_FOR_EACH_OMIT_DANGLING_SYMREFS``);
- since git 2.36 ``GIT_REF_PARANOIA`` is on by default, so broken refs (unparseable files,
  invalid names) and refs to missing objects are yielded too, in every namespace, and
  ``show-ref`` dies on the first one ("bad ref"): Gitaly then answers the zero checksum;
- a line counts only when the regular expression
  ``HEAD|(refs/(heads|tags|keep-around|merge-requests|environments|notes)/)`` matches somewhere in
  it (unanchored: ``refs/remotes/origin/HEAD`` counts, ``refs/changes/...`` does not);
- each counted line (without its newline) is hashed with SHA-1, the digests are XORed as one
  big integer, and the answer is the hex of that integer's minimal big-endian bytes (Go's
  ``big.Int.Bytes``: a leading zero byte is dropped);
- when nothing was counted (an empty repository) or ``show-ref`` failed, Gitaly answers forty
  zeros.

Gerrit's ``refs/changes/*`` and ``refs/meta/*`` are NOT covered, so the compare fast path uses
``storage_checksum``: a SHA-1 over every ref, its loose and packed values and its symbolic target.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable

GITALY_REFS = re.compile(r"HEAD|(refs/(heads|tags|keep-around|merge-requests|environments|notes)/)")
ZERO_CHECKSUM = "0" * 40


def gitaly_checksum_of_lines(lines: Iterable[str]) -> str:
    """Gitaly's checksum of ``show-ref --head``-style lines (``<oid> <refname>``, no newline)."""
    total = 0
    search = GITALY_REFS.search
    sha1 = hashlib.sha1
    for line in lines:
        if search(line):
            encoded = line.encode("utf-8", "surrogateescape")
            total ^= int.from_bytes(sha1(encoded).digest(), "big")
    return format_checksum(total)


def format_checksum(total: int) -> str:
    if total == 0:
        return ZERO_CHECKSUM
    width = (total.bit_length() + 7) // 8
    return total.to_bytes(width, "big").hex()


def gitaly_checksum(snapshot, has_object: Callable[[str], bool] | None) -> str:
    """Gitaly's checksum of a ``RefSnapshot``; ``has_object``: is an oid in the object store.

    Without an object store (``has_object`` None) refs are assumed to name existing objects.
    """
    exists = has_object or (lambda oid: True)
    lines = []
    head_value = snapshot.resolve("HEAD")
    if head_value is not None:
        lines.append((head_value, "HEAD"))
    for name, value in _listed_refs(snapshot):
        if value is None:
            return ZERO_CHECKSUM  # a broken ref: show-ref dies
        lines.append((value, name))
    for value, _name in lines:
        if not exists(value):
            return ZERO_CHECKSUM  # show-ref dies on a ref to a missing object
    return gitaly_checksum_of_lines(f"{value} {name}" for value, name in lines)


def _listed_refs(snapshot) -> Iterable[tuple[str, str | None]]:
    """(name, value) of every ref git's paranoid iterator yields; value None for a broken ref."""
    loose = snapshot.loose.refs
    resolve = snapshot.resolve
    for name, ref in loose.items():
        if ref.broken_reason:
            yield name, None
        elif ref.symbolic_target is None:
            yield name, ref.value
        else:
            value = resolve(ref.symbolic_target, 1)
            if value is not None:  # a dangling symbolic ref is omitted
                yield name, value
    for name, value in snapshot.packed.values.items():
        if name not in loose:
            yield name, value


def storage_checksum(snapshot) -> str:
    """SHA-1 over every ref's storage: equal on two sides means no per-ref work is needed."""
    digest = hashlib.sha1()
    update = digest.update
    head = snapshot.head
    if head is not None:
        update(f"HEAD {head.value} {head.symbolic_target} {head.broken_reason}\n".encode("utf-8", "surrogateescape"))
    loose = snapshot.loose.refs
    for name in sorted(loose):
        ref = loose[name]
        update(f"L {name} {ref.value} {ref.symbolic_target} {ref.broken_reason}\n".encode("utf-8", "surrogateescape"))
    # packed-refs in file order (sorted for a canonical file): two equal files hash equally,
    # and 200,000 names are not sorted again.
    packed = snapshot.packed
    values = packed.values
    peeled = packed.peeled
    text = "\n".join(f"P {name} {values[name]} {peeled.get(name)}" for name in packed.names())
    update(text.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()
