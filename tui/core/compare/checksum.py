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


# One C pass over all the names instead of a regex call per ref (200,000 in a Gerrit repo).
_COUNTED_NAME = re.compile(r"^.*(?:HEAD|refs/(?:heads|tags|keep-around|merge-requests|environments|notes)/).*$", re.MULTILINE)


def gitaly_checksum(snapshot, missing_object: Callable[[Iterable[str]], bool] | None) -> str:
    """Gitaly's checksum of a ``RefSnapshot``.

    ``missing_object(values)``: whether any of these object ids is missing from the object store
    (None: assume they all exist, e.g. no object store here).
    """
    return gitaly_checksum_reusing(snapshot, missing_object, None)[0]


def gitaly_checksum_reusing(snapshot, missing_object: Callable[[Iterable[str]], bool] | None,
                            lines_checksum: str | None) -> tuple[str, str | None]:
    """``gitaly_checksum``, and the checksum of its lines alone (what it is when no object is
    missing; None when not worked out), given as ``lines_checksum`` for a snapshot with the
    same ``storage_checksum``: the lines depend on nothing else, the object check does (it is
    done each time). compare reads two copies of most repositories: hashing their lines once
    saves ~8% of its time on a 2 x 2,200-repository pair.
    """
    loose = snapshot.loose.refs
    resolve = snapshot.resolve
    listed: dict[str, str] = {}  # name -> value, for listed loose refs and HEAD
    head_value = resolve("HEAD")
    for name, ref in loose.items():
        if ref.broken_reason:
            return ZERO_CHECKSUM, None  # a broken ref: show-ref dies
        value = ref.value if ref.symbolic_target is None else resolve(ref.symbolic_target, 1)
        if value is not None:  # a dangling symbolic ref is omitted
            listed[name] = value
    packed = snapshot.packed.values
    shadowed = {name for name in loose if name in packed}  # loose wins: their packed entry is not listed
    if missing_object is not None:
        # Every packed value is checked (C-speed set); only if one is missing is the exact set
        # (without the shadowed entries) worked out, since a shadowed value is never listed.
        values = set(packed.values())
        values.update(listed.values())
        if head_value is not None:
            values.add(head_value)
        if missing_object(values):
            values = {value for name, value in packed.items() if name not in shadowed}
            values.update(listed.values())
            if head_value is not None:
                values.add(head_value)
            if missing_object(values):
                return ZERO_CHECKSUM, lines_checksum  # show-ref dies on a ref to a missing object
    if lines_checksum is not None:
        return lines_checksum, lines_checksum
    lines = [f"{head_value} HEAD"] if head_value is not None else []
    lines.extend(f"{value} {name}" for name, value in listed.items() if GITALY_REFS.search(name))
    counted = _COUNTED_NAME.findall("\n".join(packed))
    lines.extend(f"{packed[name]} {name}" for name in counted if name not in shadowed)
    checksum = gitaly_checksum_of_lines(lines)
    return checksum, checksum


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
    # and 200,000 names are neither sorted again nor formatted one by one.
    packed = snapshot.packed
    values = packed.values  # in file order: names and values joined in C, not formatted per ref
    update(b"P\n")
    update("\n".join(values).encode("utf-8", "surrogateescape"))
    update(b"\nV\n")
    update("\n".join(values.values()).encode("ascii", "surrogateescape"))
    update(repr(sorted(packed.peeled.items())).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()
