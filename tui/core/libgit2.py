"""libgit2 (through pygit2's compiled module), loaded and opened as cheaply as possible.

gitward needs very little of libgit2: an object database, merge-base, descendant-of, object
lookup and peeling. ``import pygit2`` costs ~85 ms (its package ``__init__`` builds dozens
of enum classes and pulls in ssl, socket and inspect), paid again by each scan worker
process; the compiled ``pygit2._pygit2`` module alone loads in ~14 ms and has everything
listed above. So ``load()`` imports the compiled module without running the package
``__init__``, and falls back to the full ``import pygit2`` if that ever stops working
(another pygit2 version, another layout): slower, never wrong.

``open_objects()`` opens only the object database (``objects/`` and its alternates) into an
otherwise empty repository: no config, no refdb, no ownership or discovery checks. That is
~40 µs against ~105 µs for a full open, and it reads neither the repository's config nor
the operator's. A shallow repository is opened fully (the full pygit2 import, once) so
libgit2 knows its grafts.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
import types

_lock = threading.Lock()
_module = None  # the module that provides Repository, Odb, Oid, Commit


def load():
    """The pygit2 API gitward uses: ``Repository``, ``Odb``, ``Oid``, ``Commit``."""
    global _module
    if _module is not None:
        return _module
    with _lock:
        if _module is None:
            module = _load_compiled_module()
            if module is None:
                # deferred (pygit2 is slow to import): the full package only if its compiled module failed
                import pygit2

                module = pygit2
            _module = module
    return _module


def is_lean() -> bool:
    """Whether ``load()`` got the compiled module alone (for tests and benchmarks)."""
    return _module is not None and _module.__name__ == "pygit2._pygit2"


def _load_compiled_module():
    if "pygit2" in sys.modules:  # already imported in full by somebody: use it
        return sys.modules["pygit2"]
    try:
        spec = importlib.util.find_spec("pygit2")
        if spec is None or not spec.submodule_search_locations:
            return None
        # A bare stand-in for the package while its extension module initialises, removed
        # right after: a later "import pygit2" runs the real __init__, which finds the
        # extension already loaded and uses it.
        stand_in = types.ModuleType("pygit2")
        stand_in.__path__ = list(spec.submodule_search_locations)
        stand_in.__spec__ = spec
        sys.modules["pygit2"] = stand_in
        try:
            with _no_ca_certificates():
                # deferred: the stand-in above must be in sys.modules first
                import pygit2._pygit2 as compiled  # noqa: PLC0415
        finally:
            if sys.modules.get("pygit2") is stand_in:
                del sys.modules["pygit2"]
        # Everything gitward calls; a missing one means another layout: use the full import.
        for name in ("Repository", "Odb", "Oid", "Commit"):
            getattr(compiled, name)
        for name in ("set_odb", "merge_base", "descendant_of", "git_object_lookup_prefix"):
            getattr(compiled.Repository, name)
        return compiled
    except Exception:
        return None


@contextlib.contextmanager
def _no_ca_certificates():
    """libgit2's initialisation (run by the module import) loads the system's CA certificates
    into an OpenSSL context for https, which gitward never asks libgit2 for (it reads objects;
    git itself fetches): ~48 M instructions, ~8 ms of every process that reads objects (each
    scan and compare worker). OpenSSL reads ``SSL_CERT_FILE`` at that moment: pointed at
    nothing, the (ignored) load costs nothing. Restored at once, and only done while this
    process runs no other thread, which could start a subprocess with it set."""
    if threading.active_count() != 1:
        yield
        return
    before = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = "/nonexistent/gitward-reads-objects-only"
    try:
        yield
    finally:
        if before is None:
            del os.environ["SSL_CERT_FILE"]
        else:
            os.environ["SSL_CERT_FILE"] = before


def open_objects(git_dir: str):
    """A libgit2 repository that can read the objects of ``git_dir`` (raises on failure)."""
    module = load()
    if os.path.exists(os.path.join(git_dir, "shallow")):
        return _open_full(git_dir)
    objects_dir = os.path.join(git_dir, "objects")
    if not os.path.isdir(objects_dir):
        # libgit2 would open a file here and then call every object missing.
        raise OSError(f"{objects_dir} is not a directory")
    repo = module.Repository()
    repo.set_odb(module.Odb(objects_dir))
    return repo


def _open_full(git_dir: str):
    # Rare (shallow repositories): the full pygit2, whose options need its cffi layer.
    import pygit2

    _configure_full_pygit2(pygit2)
    flags = pygit2.enums.RepositoryOpenFlag.NO_SEARCH | pygit2.enums.RepositoryOpenFlag.BARE
    return pygit2.Repository(git_dir, flags)


def lookup(repo, oid: str):
    """The object ``oid`` names, or None when it is missing."""
    module = load()
    return repo.git_object_lookup_prefix(module.Oid(hex=oid))


_configured = False


def _configure_full_pygit2(pygit2) -> None:
    """Configure libgit2 once, before a full open."""
    global _configured
    if _configured:
        return
    _configured = True
    # A full open checks the repository's owner (safe.directory). Reading objects runs
    # nothing from the repository, so the check only gets in the way of scanning repos
    # owned by the git service user. Writes go through our own code with owner checks.
    try:
        pygit2.option(pygit2.enums.Option.SET_OWNER_VALIDATION, 0)
    except Exception:
        pass
    # Object reads must not depend on the operator's ~/.gitconfig or /etc/gitconfig.
    levels = pygit2.enums.ConfigLevel
    for level in (levels.SYSTEM, levels.XDG, levels.GLOBAL, levels.PROGRAMDATA):
        try:
            pygit2.settings.search_path[level] = os.devnull
        except Exception:
            pass
