"""gitward's command line: ``main(argv)`` parses the arguments and runs one command.

``main`` (the function) is the package's API and the console script's entry point. Importing
it here makes ``tui.cli.main`` the function, not the module, as an attribute of this package:
import the module's other names with ``from tui.cli.main import ...``.
"""

from __future__ import annotations

from tui.cli.main import main

__all__ = ["main"]
