"""The gitward console: a Textual app over a ``Host`` (roots + settings).

``create_app`` is the one factory the CLI (``run_console``) and the tests use. The app owns
navigation (screens, the ``:`` command line, the palette); screens own their data and workers.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.content import Content
from textual.actions import SkipAction
from textual.screen import ModalScreen, Screen

from tui.app.backend import Host
from tui.app.collector import Collector
from tui.app.messages import (
    BulkPlanned,
    RepoRescanned,
    ShadowsWanted,
    SyncNews,
    SyncPreflighted,
    SyncRequested,
    SyncRescanned,
    SyncStarted,
)
from tui.app.read_only import mutation_allowed
from tui.app.screens.host import HostScreen
from tui.app.syncing import SyncController
from tui.app.text import clean, plural
from tui.app.typeahead import typing
from tui.app.themes import distinct_themes

if TYPE_CHECKING:  # the report dataclasses load with the scan, after the first frame
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


class GitwardApp(App[int]):
    TITLE = "gitward"
    CSS_PATH = "gitward.tcss"
    COMMANDS = App.COMMANDS | {RepoCommands}
    # Screens get -narrow below 100 columns and -wide from 180 (see gitward.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-normal"), (180, "-wide")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave gitward"),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Every key binding"),
        # priority: run while ':' is handled, so the keys typed behind it reach the line (typeahead.py)
        Binding("colon", "command_line", "Command", id="app.command_line", tooltip="Command line: :repos, :repo NAME, :refs, ...", priority=True),
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
        self.last_input = 0.0  # time.monotonic() of the last key or click (on_event)
        # The cyclic collector's one policy: held while rows stream in, its work done when idle.
        self.collector = Collector(self.set_timer, lambda: self.last_input)
        # The syncs (confirm, queue, rescan after) and their jobs (runner, news pump, signal).
        self.sync = SyncController(self, host, lambda: self.host_screen.table.reports.values())
        self.syncs = self.sync.center
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

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent) and not event.is_forwarded:
            # When the operator last typed or clicked: the collector's held-back work waits
            # for a quiet moment (collector.py).
            self.last_input = time.monotonic()
        await super().on_event(event)

    def on_mount(self) -> None:
        self.call_after_refresh(self.collector.freeze_startup_objects)
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
        # lazy (import cost): app.screens.repo loads on first use, not with this module
        from tui.app.screens.repo import RepoScreen

        if not keep_stack:
            self._pop_to_host()
        self.push_screen(RepoScreen(report, self.host, tab=tab, syncs=self.syncs, shadows_only=shadows_only))

    def open_compare(self, source: str, replica: str, repo_globs: list[str] | None = None) -> None:
        """The migration rehearsal: ``replica`` compared with ``source`` (read only, in a worker)."""
        # lazy (import cost): app.screens.compare loads on first use, not with this module
        from tui.app.screens.compare import CompareScreen

        self.push_screen(CompareScreen(self.host, source, replica, repo_globs=repo_globs))

    @on(RepoRescanned)
    def _repo_rescanned(self, message: RepoRescanned) -> None:
        self.repo_rescanned(message.report)

    def repo_rescanned(self, report: RepoReport) -> None:
        """A repository was read again (its screen, a sync, an undo): the host screen updates its row."""
        self.host_screen.repo_rescanned(report)

    def _pop_to_host(self) -> None:
        while len(self.screen_stack) > 1 and self.screen is not self.host_screen:
            self.pop_screen()

    def action_journal(self) -> None:
        # lazy (import cost): app.screens.journal loads on first use, not with this module
        from tui.app.screens.journal import JournalScreen

        if not isinstance(self.screen, JournalScreen):
            self.push_screen(JournalScreen(self.host))

    def action_help(self) -> None:
        # lazy (import cost): app.screens.help loads on first use, not with this module
        from tui.app.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        sections = binding_sections()
        self.push_screen(
            HelpScreen(sections, keymap=self.host.keys, read_only=self.host.read_only, key_display=self.get_key_display)
        )

    def action_command_line(self) -> None:
        # lazy (import cost): app.dialogs.command_prompt, app.widgets.command_line load on first use, not with this module
        from tui.app.dialogs.command_prompt import CommandPrompt
        from tui.app.widgets.command_line import CommandSuggester

        if isinstance(self.screen, ModalScreen) or typing(self.screen):
            # A dialog is open (or the prompt itself): ':' is not for the app there, as before
            # this binding became a priority one. Inside an input ':' is text.
            raise SkipAction()
        suggester = CommandSuggester(self.host_screen.table.names, lambda: sorted(self.available_themes))
        prompt = CommandPrompt(suggester)
        self.push_screen(prompt, callback=self._command_entered)
        prompt.take_typing()

    def _command_entered(self, text: str | None) -> None:
        if text:
            self.run_command(text)

    def run_command(self, text: str) -> bool:
        """Run one ``:`` command; False (and a notification) when it cannot run."""
        # lazy: the command table loads with the first ':' command, not with the first frame
        from tui.app import commands as command_line

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
            # lazy (import cost): app.screens.jobs loads on first use, not with this module
            from tui.app.screens.jobs import JobsScreen

            if not isinstance(self.screen, JobsScreen):
                self.push_screen(JobsScreen(self.host, self.syncs))
        elif name == "sync":
            return self.sync_command(argument)
        elif name == "rescan":
            self._pop_to_host()
            host.action_rescan()
        elif name == "refresh":
            return self._set_refresh(argument)
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

    def _set_refresh(self, argument: str) -> bool:
        """``:refresh 60`` / ``:refresh off``; alone, says the setting (the header shows it too)."""
        # lazy: loaded when this screen or dialog is first used, not with the first frame
        from tui.app import commands as command_line
        from tui.app.widgets.summary import refresh_words

        host = self.host_screen
        if argument:
            try:
                seconds = command_line.refresh_seconds(argument)
            except command_line.CommandError as exc:
                self.notify(clean(str(exc)), title="command", severity="error", markup=False)
                return False
            host.set_refresh(seconds)
        words = refresh_words(host.refresh_interval)
        self.notify(f"background rescan: {words.removeprefix('refresh ') if words else 'off'}", title="refresh", timeout=3, markup=False)
        return True

    def _compare_host_with(self, source: str) -> bool:
        """``:compare SOURCE``: the open host is the replica."""
        # local by habit only: importing this module already loads it (could move to the top)
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
        # lazy (import cost): app.screens.repo loads on first use, not with this module
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

    # --- syncs (tui/app/syncing.py does the work) ------------------------------------------------

    @on(SyncRequested)
    def _sync_requested(self, message: SyncRequested) -> None:
        self.sync.start(message.report, show_log=message.show_log)

    @on(SyncPreflighted)
    def _sync_preflighted(self, message: SyncPreflighted) -> None:
        self.sync.preflighted(message)

    @on(BulkPlanned)
    def _bulk_planned(self, message: BulkPlanned) -> None:
        self.sync.bulk_planned(message)

    @on(SyncNews)
    def _sync_news(self, message: SyncNews) -> None:
        self.sync.apply_news(self.syncs.take_news())

    @on(SyncStarted)
    def _sync_started(self, message: SyncStarted) -> None:
        """``S`` on a repository screen: its Log tab shows the job."""
        # lazy: loaded when this screen or dialog is first used, not with the first frame
        from tui.app.screens.repo import RepoScreen

        screen = self.screen
        if message.show_log and isinstance(screen, RepoScreen) and screen.report.path == message.report.path:
            screen.select_tab("log")

    @on(ShadowsWanted)
    def _shadows_wanted(self, message: ShadowsWanted) -> None:
        """The repository's Refs tab, shadows only (before a sync overwrites them)."""
        self.open_repo(message.report, "refs", shadows_only=True)

    @on(SyncRescanned)
    def _sync_rescanned(self, message: SyncRescanned) -> None:
        # lazy: loaded when this screen or dialog is first used, not with the first frame
        from tui.app.screens.repo import RepoScreen

        report = message.report
        self.repo_rescanned(report)
        self.host_screen.refresh_summary()
        for screen in self.screen_stack:
            if isinstance(screen, RepoScreen) and screen.report.path == report.path:
                screen.synced(report)

    def sync_command(self, argument: str) -> bool:
        """``:sync`` (the selected or open repository), ``:sync NAME``, ``:sync faulted``, ``:sync shown``."""
        # lazy: loaded when this screen or dialog is first used, not with the first frame
        from tui.app.screens.repo import RepoScreen
        from tui.app.widgets.repo_table import is_fault

        if not mutation_allowed(self.host, "sync"):
            self.notify("read-only: syncing is off", title="sync", severity="warning", markup=False)
            return False
        table = self.host_screen.table
        word = argument.strip()
        if word.lower() == "faulted":
            self.sync.start_bulk([r for r in table.reports.values() if is_fault(r)], "faulted")
            return True
        if word.lower() == "shown":
            self.sync.start_bulk(list(table.rows), "shown")
            return True
        screen = self.screen
        if word:
            report = table.find(word)
        elif isinstance(screen, RepoScreen):
            report = screen.report
        else:
            report = table.current
        if report is None:
            what = f"no single repository matches {clean(word)!r}" if word else "no repository selected; use :sync NAME"
            self.notify(what, title="command", severity="error", markup=False)
            return False
        self.sync.start(report, show_log=isinstance(screen, RepoScreen) and screen.report.path == report.path)
        return True

    def action_sync_faulted(self) -> None:
        self.sync_command("faulted")

    def open_repo_log(self, path: str) -> None:
        """The jobs screen's enter: the job's repository, on its Log tab."""
        report = self.sync.report_for(path)
        if report is None:
            self.notify("that repository is not in the list any more", title="sync", severity="warning", markup=False)
            return
        self.open_repo(report, "log")

    async def action_quit(self) -> None:
        """q / ctrl+q: with syncs still running or queued, ask first (quitting cancels them)."""
        # lazy: loaded when this screen or dialog is first used, not with the first frame
        from tui.app.dialogs.confirm import Choice, ConfirmDialog

        active = self.sync.active_jobs()
        if not active:
            self.exit()
            return
        if isinstance(self.screen, ConfirmDialog) and self.screen.id == "quit-confirm":
            return  # asked already
        names = ", ".join(self.syncs.name_of(job) for job in active[:5]) + (" …" if len(active) > 5 else "")
        dialog = ConfirmDialog(
            Content(f"Quit while {plural(len(active), 'sync')} still {'runs' if len(active) == 1 else 'run'}?"),
            [
                Content(names),
                Content(
                    f"Quitting cancels {'it' if len(active) == 1 else 'them'}: git and everything it started "
                    "are terminated, which leaves the repository as git leaves it after ctrl-c. A later sync "
                    "picks up from there."
                ),
            ],
            [Choice("quit", "Cancel the syncs and quit", "error")],
            id="quit-confirm",
        )
        self.push_screen(dialog, callback=lambda choice: self.exit() if choice == "quit" else None)

    def on_unmount(self) -> None:
        self.collector.close()
        self.sync.shutdown()

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
    # deferred: every screen and widget, for their bindings; only the help asks
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
    # lazy (import cost): loaded on first use, not with this module
    from tui.core.config import ConfigError, load_config

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
    # deferred: only a console on a real terminal watches it (termios is Unix-only)
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
    # lazy (import cost): app.screens.fleet loads on first use, not with this module
    from tui.app.screens.fleet import FleetApp

    app = FleetApp(client, stale_after_seconds=stale_after_seconds, command=command, keys=keys)
    _exit_when_the_terminal_goes(app)
    result = app.run()
    return result or 0

