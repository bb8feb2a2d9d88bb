"""The gitward console: a Textual app over a ``Host`` (roots + settings).

``create_app`` is the one factory the CLI (``run_console``) and the tests use. The app owns
navigation (screens, the ``:`` command line, the palette); screens own their data and workers.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.content import Content
from textual.screen import Screen

from tui.app import commands as command_line
from tui.app.backend import Host
from tui.app.read_only import mutation_allowed
from tui.app.screens.host import HostScreen
from tui.app.syncing import SyncingApp
from tui.app.text import clean
from tui.app.themes import distinct_themes
from tui.core.model import RepoReport


class RepoCommands(Provider):
    """Command palette: open any repository by (fuzzy) name."""

    async def search(self, query: str) -> Hits:
        app = self.app
        assert isinstance(app, GitwardApp)
        matcher = self.matcher(query)
        for report in list(app.host_screen.table.reports.values()):
            name = clean(report.name)
            score = matcher.match(f"open {name}")
            if score > 0:
                # Content(...) never parses markup: a repo name is untrusted text.
                yield Hit(score, Content(f"open {name}"), partial(app.open_repo, report), text=f"open {name}", help="open the repository")

    # No discover(): with an empty query the palette lists gitward's commands; repositories
    # appear as soon as something is typed.


class GitwardApp(SyncingApp, App[int]):
    TITLE = "gitward"
    CSS_PATH = "gitward.tcss"
    COMMANDS = App.COMMANDS | {RepoCommands}
    # Screens get -narrow below 100 columns and -wide from 180 (see gitward.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-normal"), (180, "-wide")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave gitward"),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Every key binding"),
        Binding("colon", "command_line", "Command", id="app.command_line", tooltip="Command line: :repos, :repo NAME, :refs, ..."),
        Binding("J", "journal", "Journal", id="app.journal", tooltip="What gitward changed; undo"),
        Binding("ctrl+p", "command_palette", "Palette", show=False, priority=True, id="app.command_palette", tooltip="Open the command palette"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.force_quit", tooltip="Quit from anywhere"),
    ]

    def __init__(self, host: Host, *, compare: tuple[str, str, list[str] | None] | None = None) -> None:
        super().__init__()
        # (source, replica, repo globs): open on a comparison (``gitward compare`` in a terminal).
        self.initial_compare = compare
        # No animations: over SSH every animated frame is bytes on the wire and CPU taken
        # from scanning; a console for incidents should change state, not glide.
        self.animation_level = "none"
        self.host = host
        self.init_syncing()  # self.syncs: the job runner, news pump and sync-news signal
        self.host_screen = HostScreen(host, syncs=self.syncs)
        self.config_warnings: list[str] = []
        if host.keys:  # (binding_ids() imports every screen: only when there is a keymap)
            known = binding_ids()
            unknown = sorted(set(host.keys) - known)
            if unknown:
                self.config_warnings.append(
                    f"[keys] in the config names unknown binding ids, ignored: {', '.join(unknown)} "
                    "(the help screen lists every id)"
                )
            keymap = {binding_id: key for binding_id, key in host.keys.items() if binding_id in known}
            if keymap:
                self.set_keymap(keymap)
        # Warnings that look like errors in some bundled themes get an amber of their own (themes.py).
        for theme in distinct_themes(self.available_themes.values()):
            self.register_theme(theme)
        if host.theme and not self._apply_theme(host.theme):
            self.config_warnings.append(f"theme {host.theme!r} from the config does not exist; using the default")

    def on_mount(self) -> None:
        if self.initial_compare is not None:
            self.open_compare(*self.initial_compare)
        for warning in self.config_warnings:
            self.notify(clean(warning), title="config", severity="warning", timeout=10, markup=False)

    def _apply_theme(self, name: str) -> bool:
        if name in self.available_themes:
            self.theme = name
            return True
        return False

    def get_default_screen(self) -> Screen:
        return self.host_screen

    # --- navigation -----------------------------------------------------------------------------

    def open_repo(
        self, report: RepoReport, tab: str = "overview", *, shadows_only: bool = False, keep_stack: bool = False
    ) -> None:
        """``keep_stack``: open on top of the current screen (from a comparison), so escape returns there."""
        from tui.app.screens.repo import RepoScreen

        if not keep_stack:
            self._pop_to_host()
        self.push_screen(RepoScreen(report, self.host, tab=tab, syncs=self.syncs, shadows_only=shadows_only))

    def open_compare(self, source: str, replica: str, repo_globs: list[str] | None = None) -> None:
        """The migration rehearsal: ``replica`` compared with ``source`` (read only, in a worker)."""
        from tui.app.screens.compare import CompareScreen

        self.push_screen(CompareScreen(self.host, source, replica, repo_globs=repo_globs))

    def repo_rescanned(self, report: RepoReport) -> None:
        """A repo screen read its repository again: keep the host list in step."""
        self.host_screen.table.upsert([report])

    def _pop_to_host(self) -> None:
        while len(self.screen_stack) > 1 and self.screen is not self.host_screen:
            self.pop_screen()

    def action_journal(self) -> None:
        from tui.app.screens.journal import JournalScreen

        if not isinstance(self.screen, JournalScreen):
            self.push_screen(JournalScreen(self.host))

    def action_help(self) -> None:
        from tui.app.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        sections = binding_sections()
        self.push_screen(
            HelpScreen(sections, keymap=self.host.keys, read_only=self.host.read_only, key_display=self.get_key_display)
        )

    def action_command_line(self) -> None:
        from tui.app.dialogs.command_prompt import CommandPrompt
        from tui.app.widgets.command_line import CommandSuggester

        if isinstance(self.screen, CommandPrompt):
            return
        suggester = CommandSuggester(self.host_screen.table.names, lambda: sorted(self.available_themes))
        self.push_screen(CommandPrompt(suggester), callback=self._command_entered)

    def _command_entered(self, text: str | None) -> None:
        if text:
            self.run_command(text)

    def run_command(self, text: str) -> bool:
        """Run one ``:`` command; False (and a notification) when it cannot run."""
        try:
            command = command_line.parse(text)
        except command_line.CommandError as exc:
            self.notify(clean(str(exc)), title="command", severity="error", markup=False)
            return False
        name, argument = command.name, command.argument
        host = self.host_screen
        if name == "quit":
            self.exit(0)
        elif name == "repos":
            self._pop_to_host()
        elif name == "repo":
            return self._open_named(argument, "overview")
        elif name in command_line.TAB_COMMANDS:
            return self._show_tab(name, argument)
        elif name == "journal":
            self.action_journal()
        elif name == "jobs":
            from tui.app.screens.jobs import JobsScreen

            if not isinstance(self.screen, JobsScreen):
                self.push_screen(JobsScreen(self.host, self.syncs))
        elif name == "sync":
            return self.sync_command(argument)
        elif name == "rescan":
            self._pop_to_host()
            host.action_rescan()
        elif name == "faults":
            self._pop_to_host()
            host.action_toggle_faults()
        elif name == "filter":
            self._pop_to_host()
            host.set_filter_text(argument)
        elif name == "compare":
            return self._compare_host_with(argument)
        elif name == "theme":
            if not argument:
                self.search_themes()  # every theme, previewed as the cursor moves; enter keeps one
                return True
            if not self._apply_theme(argument):
                self.notify(f"no theme named {clean(argument)!r}", title="command", severity="error", markup=False)
                return False
        elif name == "help":
            self.action_help()
        return True

    def _compare_host_with(self, source: str) -> bool:
        """``:compare SOURCE``: the open host is the replica."""
        import os

        roots = self.host.roots
        if len(roots) != 1:
            self.notify("':compare SOURCE' compares one root; this console has "
                        f"{len(roots)}: run 'gitward compare SOURCE REPLICA'", title="command", severity="error", markup=False)
            return False
        if "://" not in source and not os.path.exists(source):
            self.notify(f"{clean(source)}: no such directory or manifest", title="command", severity="error", markup=False)
            return False
        self.open_compare(source, roots[0])
        return True

    def _open_named(self, name: str, tab: str) -> bool:
        report = self.host_screen.table.find(name)
        if report is None:
            self.notify(f"no single repository matches {clean(name)!r}", title="command", severity="error", markup=False)
            return False
        self.open_repo(report, tab)
        return True

    def _show_tab(self, tab: str, name: str) -> bool:
        from tui.app.screens.repo import RepoScreen

        if name:
            return self._open_named(name, tab)
        screen = self.screen
        if isinstance(screen, RepoScreen):
            screen.select_tab(tab)
            return True
        report = self.host_screen.table.current
        if report is None:
            self.notify("no repository selected; use :repo NAME", title="command", severity="error", markup=False)
            return False
        self.open_repo(report, tab)
        return True

    # --- palette and availability ---------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        host = self.host_screen
        yield SystemCommand("Rescan", "Scan the roots again", lambda: self.run_command("rescan"))
        yield SystemCommand("Faults only", "Toggle: only repositories with warnings or errors", lambda: self.run_command("faults"))
        yield SystemCommand("Jobs", "Syncs of this session", lambda: self.run_command("jobs"))
        yield SystemCommand("Journal", "What gitward changed, and undo", lambda: self.run_command("journal"))
        yield SystemCommand("Help", "Every key binding", self.action_help)
        yield SystemCommand("Repositories", "Back to the repository list", lambda: self.run_command("repos"))
        if mutation_allowed(self.host, "sync") and host.table.current is not None:
            yield SystemCommand("Sync", "Sync the selected repository from its upstream now", host.action_sync)
        if mutation_allowed(self.host, "sync_faulted"):
            yield SystemCommand("Sync all faulted", "Sync every repository with warnings or errors (:sync faulted)", self.action_sync_faulted)
            yield SystemCommand("Sync all shown", "Sync every repository the list shows (:sync shown)", lambda: self.run_command("sync shown"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not mutation_allowed(self.host, action):
            return False
        return True


def binding_sections() -> list[tuple[str, list[Binding]]]:
    """Every gitward binding, grouped by where it applies (help screen, keymap validation)."""
    from tui.app.dialogs.confirm import ConfirmDialog
    from tui.app.dialogs.prompts import TextPrompt
    from tui.app.dialogs.ref_detail import RefDetail
    from tui.app.dialogs.shadow_preview import ShadowPreview
    from tui.app.screens.compare import CompareRepoScreen, CompareScreen
    from tui.app.screens.help import HelpScreen
    from tui.app.screens.jobs import JobsScreen
    from tui.app.screens.journal import JournalScreen, JournalTable
    from tui.app.screens.repo import RepoScreen
    from tui.app.widgets.command_line import CommandLine
    from tui.app.widgets.log_view import SyncLog
    from tui.app.widgets.namespace_tree import NamespaceTree
    from tui.app.widgets.ref_list import RefList
    from tui.app.widgets.vtable import VirtualTable
    from tui.app.widgets.worktree_table import LockTable, WorktreeTable

    return [
        ("Everywhere", _bindings(GitwardApp)),
        ("Repository list", _bindings(HostScreen)),
        ("Repository", _bindings(RepoScreen)),
        ("Tables and lists", _bindings(VirtualTable)),
        ("Worktrees tab", _bindings(WorktreeTable)),
        ("Refs tab", _bindings(RefList) + _bindings(NamespaceTree)),
        ("Locks tab", _bindings(LockTable)),
        ("Journal", _bindings(JournalScreen) + _bindings(JournalTable)),
        ("Comparison (migration rehearsal)", _bindings(CompareScreen) + _bindings(CompareRepoScreen)),
        ("Confirm and input dialogs", _bindings(ConfirmDialog) + _bindings(TextPrompt) + _bindings(ShadowPreview)),
        ("Sync log (Log tab, jobs screen)", _bindings(SyncLog)),
        ("Command line", _bindings(CommandLine)),
        ("Dialogs and other screens", _bindings(RefDetail) + _bindings(HelpScreen) + _bindings(JobsScreen)),
    ]


def binding_ids() -> set[str]:
    return {binding.id for _, bindings in binding_sections() for binding in bindings if binding.id}


def _bindings(cls: type) -> list[Binding]:
    """Bindings declared on ``cls`` itself (as ``Binding`` objects), for the help screen."""
    found = []
    for item in cls.__dict__.get("BINDINGS", []):
        if isinstance(item, Binding):
            found.append(item)
    return found


def create_app(
    roots: Sequence[str],
    *,
    read_only: bool = False,
    jobs: int | None = None,
    config: Any = None,
    now: float | None = None,
    max_depth: int | None = None,
    compare: tuple[str, str, list[str] | None] | None = None,
) -> GitwardApp:
    """The one way to build the console (CLI and tests). ``compare``: open on a comparison."""
    host = Host.from_settings(list(roots), read_only=read_only, jobs=jobs, config=config, now=now, max_depth=max_depth)
    return GitwardApp(host, compare=compare)


def run_console(
    roots: Sequence[str],
    read_only: bool = False,
    jobs: int | None = None,
    max_depth: int | None = None,
    compare: tuple[str, str, list[str] | None] | None = None,
) -> int:
    """Entry point for ``gitward [ROOT ...]`` (and ``gitward compare`` in a terminal): load the
    config, run the app, return its exit code."""
    config = None
    try:
        from tui.core.config import ConfigError, load_config
    except ImportError:  # the config module is optional for the console
        load_config = None
        ConfigError = Exception  # noqa: N806
    if load_config is not None:
        try:
            config = load_config()
        except ConfigError as exc:
            print(f"gitward: {clean(str(exc))}", file=sys.stderr)
            return 2
    app = create_app(roots, read_only=read_only, jobs=jobs, config=config, max_depth=max_depth, compare=compare)
    _exit_when_the_terminal_goes(app)
    result = app.run()
    if app.return_code not in (None, 0):
        return app.return_code
    return result or 0


def _exit_when_the_terminal_goes(app: App) -> None:
    """Quit when the SSH session drops, even if SIGHUP never arrives.

    A parent that is the session leader (``make run``, some job runners) takes the SIGHUP and
    waits for us; the console would then spin on a dead terminal. So: exit on SIGHUP, and a
    watchdog thread checks the terminal twice a second (the tty answers EIO once hung up).
    Syncs still running are cancelled by the normal exit path.
    """
    import signal
    import termios
    import threading

    def leave(*_args) -> None:
        try:
            app.call_from_thread(app.exit, 129)
        except RuntimeError:
            pass  # not running (yet, or any more)

    signal.signal(signal.SIGHUP, lambda *_: app.exit(129))
    try:
        fd = sys.__stdin__.fileno()
        termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error, AttributeError):
        return  # no terminal to watch (tests, pipes)

    def watch() -> None:
        stop = threading.Event()
        while not stop.wait(0.5):
            try:
                termios.tcgetattr(fd)
            except (OSError, termios.error):
                leave()
                return

    threading.Thread(target=watch, name="gitward-terminal-watchdog", daemon=True).start()


def run_fleet_console(client: Any, *, stale_after_seconds: float, command: Sequence[str], keys: dict[str, str] | None = None) -> int:
    """Entry point for ``gitward fleet`` in a terminal: the fleet screen (``tui.app.screens.fleet``)."""
    from tui.app.screens.fleet import FleetApp

    app = FleetApp(client, stale_after_seconds=stale_after_seconds, command=command, keys=keys)
    _exit_when_the_terminal_goes(app)
    result = app.run()
    return result or 0
