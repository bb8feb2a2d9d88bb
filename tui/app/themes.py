"""Themes where a warning never looks like an error.

Severity is shown by a symbol (✖ error, ▲ warning, ● info) and by colour. Some of Textual's
bundled themes give warnings and errors nearly the same hue: ``ansi-light`` uses bright red for
warnings, ``solarized-*`` and ``gruvbox`` an orange a few degrees from their red. At a glance, on
a terminal over SSH, those read as "two kinds of error". ``distinct_severity`` returns such a
theme with its warning turned to amber (its lightness and saturation kept, so contrast with the
background stays as the theme's author chose); the app registers it under the same name.
"""

from __future__ import annotations

import colorsys
import dataclasses
from collections.abc import Iterable

from textual.color import Color
from textual.theme import Theme

__all__ = ["MIN_HUE_DEGREES", "distinct_severity", "distinct_themes", "hue_distance"]

MIN_HUE_DEGREES = 30.0  # red (0°) and amber (45°) are told apart; red and orange (20°) are not
_AMBER = 45.0 / 360.0


def hue_distance(one: str, other: str) -> float:
    """Degrees between the hues of two colours (0-180)."""
    first, second = Color.parse(one), Color.parse(other)
    h1 = colorsys.rgb_to_hls(first.r / 255, first.g / 255, first.b / 255)[0]
    h2 = colorsys.rgb_to_hls(second.r / 255, second.g / 255, second.b / 255)[0]
    distance = abs(h1 - h2) * 360
    return min(distance, 360 - distance)


def distinct_severity(theme: Theme) -> Theme | None:
    """``theme`` with a warning colour that differs from its error colour; None when it already does."""
    if theme.warning is None or theme.error is None:
        return None
    if theme.ansi or theme.warning.startswith("ansi_"):
        # The terminal chooses the real colours: use the colour names that differ.
        if theme.warning in ("ansi_yellow", "ansi_bright_yellow"):
            return None
        return dataclasses.replace(theme, warning="ansi_yellow")
    if hue_distance(theme.warning, theme.error) >= MIN_HUE_DEGREES:
        return None
    colour = Color.parse(theme.warning)
    _hue, lightness, saturation = colorsys.rgb_to_hls(colour.r / 255, colour.g / 255, colour.b / 255)
    red, green, blue = colorsys.hls_to_rgb(_AMBER, lightness, max(saturation, 0.6))
    return dataclasses.replace(theme, warning=Color(round(red * 255), round(green * 255), round(blue * 255)).hex)


def distinct_themes(themes: Iterable[Theme]) -> list[Theme]:
    """The themes that needed a distinct warning colour, adjusted (to register over the originals)."""
    return [fixed for theme in themes if (fixed := distinct_severity(theme)) is not None]
