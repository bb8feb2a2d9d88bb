"""Textual's footer, rebuilt at most once per refresh.

Textual's ``Footer`` recomposes (removes and mounts a widget per key, each styled) every time
the screen's bindings change, and they change several times in a row: pressing 3 on a
repository switches the tab, mounts the Refs tab, moves the focus: five rebuilds, a third of
the UI thread's time before the first rows are drawn. Here the rebuilds asked for before the
next refresh are one rebuild, made from the bindings as they are then, and none at all when
the keys it would show are the ones it shows (a focus move between two widgets of one pane).
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter

__all__ = ["Footer"]


class Footer(TextualFooter):
    _rebuild_queued = False
    _shown: tuple | None = None  # what the last rebuild showed (see _keys)

    def bindings_changed(self, screen: Screen) -> None:
        # Textual's own method, less one thing: a rebuild already queued is not queued again.
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_queued:
            self._rebuild_queued = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_queued = False
        if not self.is_attached:
            return  # its screen was closed meanwhile
        keys = self._keys()
        if keys == self._shown:
            return
        self._shown = keys
        await self.recompose()

    def _keys(self) -> tuple:
        """Everything ``compose`` reads from the bindings (the shown ones, and the palette's)."""
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (binding.key, binding.action, binding.description, binding.group, enabled, tooltip)
            for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == palette
        ) + (self.show_command_palette, self.compact)
