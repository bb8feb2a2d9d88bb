"""gitward's command line. Its API is the ``main`` module: ``tui.cli.main.main(argv)`` parses
the arguments and runs one command (the ``gitward`` console script and ``python -m tui``).

Nothing is imported here on purpose: ``python -m tui.cli.write`` (and its siblings) must run
their module fresh, and ``tui.cli.main`` imports a command's module to run it (runpy warns on
stderr when the package has loaded the module it is about to run). Importing the function here would
also hide the ``main`` module behind a ``main`` attribute.
"""

__all__ = ["main"]  # the module: from tui.cli.main import main
