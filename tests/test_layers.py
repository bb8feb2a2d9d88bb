"""The architecture, checked: the layer contracts in pyproject.toml ([tool.importlinter]) hold,
and the import circles in tui/ are exactly the known ones (a list that may only shrink)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Circles allowed (each a strongly connected set of modules, deferred imports included): none.
# A new one is a bug to fix, not to list.
KNOWN_CIRCLES: set[frozenset[str]] = set()


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` (the script import-linter installs next to this Python) on the tui/ in
    ``cwd``, with the contracts of the pyproject.toml there."""
    script = Path(sys.executable).parent / "lint-imports"
    command = [str(script)] if script.exists() else [shutil.which("lint-imports") or "lint-imports"]
    env = {**os.environ, "PYTHONPATH": str(cwd)}  # this tui/, whichever one is installed
    # --no-cache: no .import_linter_cache written into the tree, no stale graph read from one
    return subprocess.run([*command, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True)


def test_lint_imports_keeps_every_contract():
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("tui/core/paths.py", "import textual", "The core is plain Python"),
        ("tui/core/paths.py", "import tui.demo", "The core is plain Python"),
        ("tui/app/text.py", "import tui.cli.main", "The console never imports the command line"),
        ("tui/core/write/journal.py", "import tui.core.sync.synclog", "do not import each other"),
    ],
)
def test_each_contract_catches_a_crossing(tmp_path, module, line, contract):
    """The contracts are not vacuous: one forbidden import added to a copy of tui breaks the
    contract it belongs to (textual counts: include_external_packages is on)."""
    shutil.copytree(REPO_ROOT / "tui", tmp_path / "tui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # the crossing this test adds\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    broken = [text for text in result.stdout.splitlines() if " BROKEN" in text]
    assert len(broken) == 1 and contract in broken[0], result.stdout


def import_circles(package: str) -> set[frozenset[str]]:
    """Every set of two or more modules of ``package`` that import one another in a circle (the
    strongly connected components of grimp's import graph, Tarjan's algorithm without recursion)."""
    # Imports under TYPE_CHECKING do not run: a type named in an annotation is not a circle.
    graph = grimp.build_graph(package, cache_dir=None, exclude_type_checking_imports=True)
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: set[frozenset[str]] = set()
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = lowest[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = lowest[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.find_modules_directly_imported_by(target)))))
                    break
                if target in on_stack:
                    lowest[module] = min(lowest[module], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowest[parent] = min(lowest[parent], lowest[module])
                if lowest[module] == index[module]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        circles.add(frozenset(component))
    return circles


def test_import_circles_are_exactly_the_known_ones():
    found = import_circles("tui")
    new = sorted(sorted(circle) for circle in found - KNOWN_CIRCLES)
    gone = sorted(sorted(circle) for circle in KNOWN_CIRCLES - found)
    assert not new, f"new import circles (break them): {new}"
    assert not gone, f"circles gone (remove them from KNOWN_CIRCLES): {gone}"


def test_import_circles_finds_every_circle_and_nothing_else(tmp_path, monkeypatch):
    """The finder on a made-up package: a 3-module circle through a deferred import, a 2-module
    circle, a self-contained chain that is no circle."""
    package = tmp_path / "circles_demo_pkg"
    package.mkdir()
    files = {
        "__init__.py": "",
        "a.py": "from circles_demo_pkg import b\n",
        "b.py": "def later():\n    from circles_demo_pkg import c  # deferred: still a circle\n",
        "c.py": "import circles_demo_pkg.a\nimport circles_demo_pkg.chain\n",
        "chain.py": "from circles_demo_pkg import leaf\n",
        "leaf.py": "",
        "x.py": "from circles_demo_pkg import y\n",
        "y.py": "from circles_demo_pkg import x\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_circles("circles_demo_pkg") == {
        frozenset({"circles_demo_pkg.a", "circles_demo_pkg.b", "circles_demo_pkg.c"}),
        frozenset({"circles_demo_pkg.x", "circles_demo_pkg.y"}),
    }
