"""Tokens drawn as text, each on a colour for a signed value, plus a small colour bar.

Shared by the neurons and "why" views. Colours come from the same diverging map as
the heatmaps (blue < 0 < red, white at zero), so a sign reads the same everywhere.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from gui.panels.heatmaps import DIVERGING

_LUT: np.ndarray | None = None


def diverging_lut() -> np.ndarray:
    """(256, 4) uint8 RGBA of the diverging colour map, built once."""
    global _LUT
    if _LUT is None:
        _LUT = pg.colormap.get(DIVERGING).getLookupTable(nPts=256, alpha=True)
    return _LUT


def diverging_colours(values: np.ndarray, level: float) -> np.ndarray:
    """(N,) signed values -> (N, 4) uint8 RGBA, -level..level mapped across the map."""
    level = level if level > 0 else 1.0
    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    index = np.clip((v / level + 1.0) * 127.5, 0, 255).astype(np.int64)
    return diverging_lut()[index]


def tokens_html(
    tokens: list[str],
    values: np.ndarray,
    level: float,
    font_px: int = 16,
    marked: int | None = None,
) -> str:
    """Rich text: each token on the colour of its value (readable text colour chosen)."""
    if not tokens:
        return "<i>no tokens</i>"
    rgba = diverging_colours(values, level)
    parts = []
    for i, (token, (r, g, b, _a)) in enumerate(zip(tokens, rgba, strict=True)):
        ink = "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#fff"
        edge = "text-decoration: underline;" if i == marked else ""
        parts.append(
            f"<span style='background-color:#{r:02x}{g:02x}{b:02x}; color:{ink};{edge}'>"
            f"&nbsp;{html.escape(token)}&nbsp;</span>"
        )
    return f"<div style='font-size:{font_px}px; line-height:160%'>{' '.join(parts)}</div>"


class TokenStrip(QLabel):
    """A wrapped line of coloured tokens."""

    def __init__(self, font_px: int = 16) -> None:
        super().__init__()
        self.font_px = font_px
        self.setTextFormat(Qt.RichText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.setMinimumHeight(font_px * 2)
        self.values = np.zeros(0)

    def set_tokens(
        self, tokens: list[str], values: np.ndarray, level: float, marked: int | None = None
    ) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        self.setText(tokens_html(tokens, self.values, level, self.font_px, marked))


class ColourBar(QWidget):
    """A horizontal diverging colour bar labelled -level, 0, +level."""

    def __init__(self, level: float = 1.0, caption: str = "") -> None:
        super().__init__()
        self.level = level
        self.caption = caption
        self.setFixedHeight(30)
        self.setMinimumWidth(160)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)

    def set_level(self, level: float, caption: str | None = None) -> None:
        if caption is not None:
            self.caption = caption
        if level != self.level or caption is not None:
            self.level = level
            self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        w = self.width()
        bar = QRectF(40, 2, max(w - 80, 20), 12)
        grad = QLinearGradient(bar.left(), 0, bar.right(), 0)
        lut = diverging_lut()
        for i in range(0, 256, 32):
            grad.setColorAt(i / 255, QColor(*lut[i][:3]))
        grad.setColorAt(1.0, QColor(*lut[255][:3]))
        p.fillRect(bar, grad)
        p.setPen(QColor("#888"))
        p.drawRect(bar)
        p.setPen(QColor("#333"))
        f = p.font()
        f.setPixelSize(11)
        p.setFont(f)
        p.drawText(QRectF(0, 14, bar.left() + 30, 16), Qt.AlignLeft, f"{-self.level:+.3g}")
        p.drawText(QRectF(bar.center().x() - 60, 14, 120, 16), Qt.AlignHCenter, self.caption)
        p.drawText(QRectF(bar.right() - 30, 14, 70, 16), Qt.AlignRight, f"{self.level:+.3g}")
        p.end()
