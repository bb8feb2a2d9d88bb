"""gitward's console (Textual): the app, how to run it, and the host it shows.

Importing this package loads Textual. The command line imports it only when a screen is drawn.
"""

from __future__ import annotations

from tui.app.app import GitwardApp, binding_sections, create_app, run_console, run_fleet_console
from tui.app.backend import Host

__all__ = ["GitwardApp", "Host", "binding_sections", "create_app", "run_console", "run_fleet_console"]
