"""Tokens the fonts cannot draw: shown as `U+XXXX`, never as an empty box (issue 14).

Qt draws a character from the widget's font, else from any installed font that has it
(its own fallback). What no font has comes out as a "tofu" box, and control or format
characters (zero-width joiners, U+0000) as nothing at all: both hide what the model
reads. `drawable(text)` keeps every character that the application font or one of the
fallback families has, and spells out the rest as `U+XXXX`.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from PySide6.QtGui import QFont, QFontDatabase, QFontMetrics, QGuiApplication

from gui.tasks import visible_token

# Families Qt would fall back to on the usual desktops; those installed are checked.
FALLBACK_FAMILIES = ("DejaVu Sans", "DejaVu Sans Mono", "Noto Sans", "Noto Sans Mono",
                     "Noto Sans Symbols", "Noto Sans Symbols2", "Noto Color Emoji",
                     "Noto Sans CJK SC", "Noto Sans CJK JP", "Symbola", "Segoe UI",
                     "Segoe UI Symbol", "Segoe UI Emoji", "Apple Color Emoji",
                     "Arial Unicode MS", "Liberation Sans")  # fmt: skip
LAYOUT = "\n\t"  # kept as they are in running text (a token shows them as symbols)
INVISIBLE = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")  # control, format, unassigned, ...


@lru_cache(maxsize=1)
def _metrics() -> tuple[QFontMetrics, ...]:
    """Metrics of the application font and of the installed fallback families."""
    fonts = [QGuiApplication.font()]
    installed = set(QFontDatabase.families())
    fonts += [QFont(family) for family in FALLBACK_FAMILIES if family in installed]
    return tuple(QFontMetrics(font) for font in fonts)


@lru_cache(maxsize=65536)
def can_draw(char: str) -> bool:
    """True when some font in reach has a glyph for `char` (one code point)."""
    if char in LAYOUT:
        return True
    if unicodedata.category(char) in INVISIBLE:
        return False
    if char.isascii():
        return True
    code = ord(char)
    return any(m.inFontUcs4(code) for m in _metrics())


def drawable(text: str) -> str:
    """`text` with every character no font can draw written as `U+XXXX`."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(c if can_draw(c) else f"U+{ord(c):04X}" for c in text)


def shown_token(token: str) -> str:
    """A token as drawn: spaces and newlines as symbols (`visible_token`), and what no
    font has as `U+XXXX`."""
    return drawable(visible_token(token))
