"""Textual's footer, rebuilt at most once per refresh.

Textual's ``Footer`` recomposes (removes and mounts a widget per key, each styled) every time
the screen's bindings change, and they change several times in a row: pressing 3 on a
repository switches the tab, mounts the Refs tab, moves the focus: five rebuilds, a third of
the UI thread's time before the first rows are drawn. Here the rebuilds asked for before the
next refresh are one rebuild, made from the bindings as they are then, and none at all when
the keys it would show are the ones it shows (a focus move between two widgets of one pane).
When only keys' availability changed (the host list's first row makes "Open" available), the
keys shown are dimmed or brightened where they are: a rebuild then cost the event loop ~35 ms
of layout and styling while the scan's first rows streamed in, a lag the operator felt.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey

__all__ = ["Footer"]


class Footer(TextualFooter):
    """Also: the docked "^p Palette" entry gives way when the keys need its place (a repository's
    Log tab has 16 keys; at 140 columns the palette entry was drawn over "Journal")."""

    DEFAULT_CSS = """
    Footer.-crowded FooterKey.-command-palette { display: none; }
    """

    _rebuild_queued = False
    _shown: tuple | None = None  # what the last rebuild showed (see _keys)
    _palette_width = 12  # "^p Palette" as last measured while shown

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
        shown, self._shown = self._shown, keys
        if shown is not None and self._enable_in_place(shown, keys):
            return
        await self.recompose()

    def _enable_in_place(self, shown: tuple, keys: tuple) -> bool:
        """When ``keys`` differ from ``shown`` in availability alone, set it on the keys shown
        (what a rebuild would make of them: ``compose`` reads nothing else that changed).
        False: something else changed, a rebuild is needed."""
        if len(shown) != len(keys):
            return False
        enabled: dict[str, bool] = {}  # action -> available now
        for old, new in zip(shown, keys):
            if old == new:
                continue
            if not isinstance(old, tuple) or old[:4] + old[5:] != new[:4] + new[5:]:
                return False  # another key, label, group or tooltip (or the compact flag)
            enabled[new[1]] = new[4]
        for footer_key in self.query(FooterKey):
            if footer_key.action in enabled:
                available = enabled[footer_key.action]
                footer_key._disabled = not available  # what Textual's FooterKey keeps (a click rings the bell)
                footer_key.set_class(not available, "-disabled")
        return True

    async def recompose(self) -> None:
        # Every rebuild, ours or Textual's own (a screen resumed, the compact flag), is fitted.
        await super().recompose()
        self.call_after_refresh(self._fit_palette)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_palette)

    def _fit_palette(self, tries: int = 5) -> None:
        """Hide the palette entry when the keys and it do not both fit (ctrl+p still opens it)."""
        if not self.is_attached:
            return
        keys_width = 0
        for child in self.children:
            if child.has_class("-command-palette"):
                if child.display and child.outer_size.width:
                    self._palette_width = child.outer_size.width
            elif child.display and not child.outer_size.width and tries:
                # Keys mounted by the last rebuild are not laid out yet: measure after the next one.
                self.call_after_refresh(self._fit_palette, tries - 1)
                return
            elif child.display:
                # Margins count: compact keys are 1 apart, so 15 keys of 122 cells take 137.
                margin = child.styles.margin
                keys_width += child.outer_size.width + margin.left + margin.right
        self.set_class(keys_width + self._palette_width > self.size.width, "-crowded")

    def _keys(self) -> tuple:
        """Everything ``compose`` reads from the bindings (the shown ones, and the palette's)."""
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (binding.key, binding.action, binding.description, binding.group, enabled, tooltip)
            for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == palette
        ) + (self.show_command_palette, self.compact)
