"""Import hygiene: tui/core never imports Textual or the UI package (STYLE.md: core separate from
UI), pygit2 loads only when needed, and every deferred import says why it is deferred."""

from __future__ import annotations

import ast
import io
import pkgutil
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import tui
import tui.core

TUI_DIR = Path(tui.__file__).parent


def module_names(package) -> list[str]:
    """Every module of ``package``, found on disk (no hand-kept list to forget a new one in)."""
    return sorted(module.name for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."))


def unwanted_imports(
    modules: list[str], unwanted: tuple[str, ...], unwanted_tui: tuple[str, ...] = ("tui.app",)
) -> str:
    """Import ``modules`` in a fresh interpreter; the modules it then holds from the ``unwanted``
    top-level packages or from the ``unwanted_tui`` packages, comma-separated ("" when none)."""
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {unwanted!r}"
        f" or m.startswith({unwanted_tui!r}))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_the_module_list_is_found_on_disk():
    core = module_names(tui.core)
    assert {"tui.core.scan", "tui.core.write.journal", "tui.core.sync.jobs", "tui.core.compare.diff"} <= set(core)
    on_disk = {path for path in (TUI_DIR / "core").rglob("*.py")}
    assert len(core) == len(on_disk) - 1  # every file but tui/core/__init__.py itself


def test_core_and_demo_never_import_textual_or_the_app():
    pulled_in = unwanted_imports([*module_names(tui.core), "tui.demo"], ("textual", "rich"), ("tui.app", "tui.cli"))
    assert pulled_in == "", f"core pulled in: {pulled_in}"


def test_scan_path_imports_pygit2_lazily():
    """Discovery and parsing must not pay for pygit2 unless a verdict needs objects."""
    code = "import sys, tui.core.scan, tui.cli.main; print('pygit2' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# A comment that only silences a tool says nothing about why.
_TOOL_ONLY = re.compile(r"#\s*(noqa(:\s*[A-Z0-9, ]+)?|type:\s*ignore(\[[^\]]*\])?|pragma:[^#]*)\s*", re.I)


def _says_why(comment: str) -> bool:
    return bool(re.search(r"[A-Za-z]", _TOOL_ONLY.sub("", comment).lstrip("#")))


def uncommented_deferred_imports(source: str) -> list[int]:
    """Line numbers of imports inside a function without a comment saying why. A run of
    imports on consecutive lines is one deferral: a comment on the line above the run, or on
    one of its lines, covers it."""
    comments = {
        token.start[0]: token.string
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    lines = source.splitlines()
    uncommented: set[int] = set()
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            for field in ("body", "orelse", "finalbody"):
                statements = getattr(node, field, None)
                if not isinstance(statements, list):  # a lambda's or an IfExp's body: no statements
                    continue
                run: list[ast.stmt] = []
                for statement in [*statements, None]:
                    if isinstance(statement, (ast.Import, ast.ImportFrom)) and (
                        not run or statement.lineno == run[-1].end_lineno + 1
                    ):
                        run.append(statement)
                        continue
                    if run:
                        above = run[0].lineno - 1
                        covered = (above in comments and lines[above - 1].lstrip().startswith("#")
                                   and _says_why(comments[above])) or any(
                            _says_why(comments.get(n, "")) for n in range(run[0].lineno, run[-1].end_lineno + 1)
                        )
                        if not covered:
                            uncommented.update(s.lineno for s in run)
                    run = [statement] if isinstance(statement, (ast.Import, ast.ImportFrom)) else []
    return sorted(uncommented)


def test_the_deferred_import_finder():
    source = (
        "import os\n"
        "def a():\n"
        "    import json\n"  # 3: no comment
        "def b():\n"
        "    # loaded on first use\n"
        "    import json\n"
        "    import csv\n"  # covered: the same run
        "    x = 1\n"
        "    import re\n"  # 9: a new run
        "def c():\n"
        "    if True:\n"
        "        import json  # noqa: F401\n"  # 12: a tool's comment is no reason
        "    import csv  # noqa: F401  re-exported for the tests\n"
        "class K:\n"
        "    def m(self):\n"
        "        from os import path\n"  # 16
    )
    assert uncommented_deferred_imports(source) == [3, 9, 12, 16]


def test_every_deferred_import_says_why():
    missing = [
        f"{path.relative_to(TUI_DIR.parent)}:{line}"
        for path in sorted(TUI_DIR.rglob("*.py"))
        for line in uncommented_deferred_imports(path.read_text())
    ]
    assert not missing, "imports inside a function need a comment saying why:\n" + "\n".join(missing)
