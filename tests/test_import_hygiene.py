"""tui/core never imports Textual or the UI package (STYLE.md: core separate from UI)."""

import subprocess
import sys

CORE_MODULES = [
    "tui.core.model", "tui.core.packed", "tui.core.loose", "tui.core.refstore",
    "tui.core.discovery", "tui.core.worktrees", "tui.core.problems", "tui.core.scan",
    "tui.core.gitconfig", "tui.core.redact", "tui.core.config", "tui.core.paths", "tui.demo",
    "tui.core.packed_check", "tui.core.write", "tui.core.write.errors", "tui.core.write.locking",
    "tui.core.write.ownership", "tui.core.write.journal", "tui.core.write.journal_entry", "tui.core.write.recovery",
    "tui.core.write.undo", "tui.core.write.files_backend", "tui.core.write.shadows", "tui.core.write.lock_clear",
    "tui.core.write.worktree_common", "tui.core.write.worktree_lock", "tui.core.write.worktree_prune",
    "tui.core.write.worktree_repair", "tui.core.write.worktree_edit", "tui.core.write.prune_cautions",
    "tui.core.sync.plan", "tui.core.sync.synclog", "tui.core.sync.gitsync", "tui.core.sync.jobs", "tui.core.fsutil", "tui.core.libgit2",
]


def unwanted_imports(modules: list[str], unwanted: tuple[str, ...]) -> str:
    """Import ``modules`` in a fresh interpreter; the modules it then holds from the ``unwanted``
    top-level packages or from ``tui.app``, comma-separated ("" when none)."""
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {unwanted!r} or m.startswith('tui.app'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_core_never_imports_textual_or_the_app():
    pulled_in = unwanted_imports(CORE_MODULES, ("textual", "rich"))
    assert pulled_in == "", f"core pulled in: {pulled_in}"


def test_scan_path_imports_pygit2_lazily():
    """Discovery and parsing must not pay for pygit2 unless a verdict needs objects."""
    code = "import sys, tui.core.scan, tui.cli.main; print('pygit2' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
