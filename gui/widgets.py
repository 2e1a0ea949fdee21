"""Small shared widgets and helpers that keep painting cheap."""

from __future__ import annotations

import time

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


class ModelView(QWidget):
    """A view drawn from a model rebuilt from a snapshot's copies.

    `update_model` recomputes at most every `refresh_seconds` while the view is visible
    (the first model at once); a hidden view only remembers that it is stale and
    recomputes when shown. Subclasses implement `refresh`, starting it with
    `_begin_refresh()`.
    """

    refresh_seconds = 0.5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = None
        self._step = 0
        self._last = 0.0
        self._pending = False

    def update_model(self, model, step: int = 0, settled: bool = False) -> None:
        """New parameters (a model built from a snapshot's copies); recompute when due,
        or at once when `settled` (training paused: the view must show the last step)."""
        first = self._model is None
        self._model, self._step = model, step
        self._pending = True
        due = first or settled or time.perf_counter() - self._last >= self.refresh_seconds
        if self.isVisible() and due:
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._pending:
            self.refresh()

    def _begin_refresh(self) -> float:
        """Mark the view fresh; returns the time, for throttles of the subclass's own."""
        self._pending = False
        self._last = time.perf_counter()
        return self._last

    def refresh(self) -> None:
        raise NotImplementedError
