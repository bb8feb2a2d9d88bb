"""Compare a replica with its source, describe a host's refs as a manifest, preview gc.

Never writes to a repository and never runs repository-defined programs. Modules: ``diff`` (the
comparison and its findings), ``sides`` (a directory, a manifest file or ``ssh://host/path``),
``manifest`` (the versioned JSON description of a host's refs), ``checksum`` (Gitaly's and the
storage checksums), ``objectstore`` (ancestry through pygit2, loaded lazily), ``gcpreview``
(what ``git pack-refs``/``git gc`` would throw away), ``pool`` (the worker processes, loaded
only when a comparison uses them). Callers import from here.
"""

from tui.core.compare.diff import Comparison, Finding, Kind, RepoComparison, compare, threshold
from tui.core.compare.gcpreview import gc_preview
from tui.core.compare.manifest import ManifestError, ManifestReader, read_repo, write_manifest, write_manifest_file
from tui.core.compare.sides import LocalSide, ManifestSide, SideError, SshSide, open_side

__all__ = [
    "Comparison",
    "Finding",
    "Kind",
    "LocalSide",
    "ManifestError",
    "ManifestReader",
    "ManifestSide",
    "RepoComparison",
    "SideError",
    "SshSide",
    "compare",
    "gc_preview",
    "open_side",
    "read_repo",
    "threshold",
    "write_manifest",
    "write_manifest_file",
]
