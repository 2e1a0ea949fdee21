"""Small shared widgets and helpers that keep painting cheap."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QGraphicsItem, QSizePolicy, QWidget


class LightBar(QWidget):
    """A progress bar that schedules a repaint (QProgressBar repaints synchronously)."""

    def __init__(self, height: int = 10, colour: str = "#3d7ab8") -> None:
        super().__init__()
        self._fraction = 0.0
        self._colour = QColor(colour)
        self.setFixedHeight(height)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def fraction(self) -> float:
        return self._fraction

    def set_fraction(self, fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if abs(fraction - self._fraction) * self.width() >= 0.5 or fraction in (0.0, 1.0):
            self._fraction = fraction
            self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(QColor("#b0b0b0"))
        p.setBrush(QColor("#ffffff"))
        p.drawRect(r)
        p.setPen(Qt.NoPen)
        p.setBrush(self._colour)
        p.drawRect(QRectF(r.x() + 1, r.y() + 1, (r.width() - 1) * self._fraction, r.height() - 1))
        p.end()


def cache_static_parts(plot: pg.PlotItem) -> None:
    """Paint axes and the title from a pixmap cache: replaying their text every frame
    is the most expensive part of a redraw, and it holds the GIL the trainer needs."""
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        if axis is not None:
            axis.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
    plot.titleLabel.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
