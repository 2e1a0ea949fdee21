"""Hovering a scatter plot: the point nearest the mouse, in screen pixels, and its marker.

Shared by the state space (a visited state names its token) and the embedding projection
(a word lists its neighbours): each gives its points and what to show for point i.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QLabel


def nearest_point(vb: pg.ViewBox, coords: np.ndarray, scene_pos: QPointF) -> tuple[int, float]:
    """(index, distance in pixels) of the point of `coords` (N, 2) nearest `scene_pos`;
    (-1, inf) when the position is outside the view box or there is no point."""
    if not len(coords) or not vb.sceneBoundingRect().contains(scene_pos):
        return -1, float("inf")
    p = vb.mapSceneToView(scene_pos)
    (x0, x1), (y0, y1) = vb.viewRange()
    # Data units to pixels on each axis: "near" means near on the screen.
    dx = (coords[:, 0] - p.x()) / (x1 - x0) * (vb.width() or 1)  # (N,)
    dy = (coords[:, 1] - p.y()) / (y1 - y0) * (vb.height() or 1)  # (N,)
    d2 = dx**2 + dy**2
    i = int(d2.argmin())
    return i, float(np.sqrt(d2[i]))


class PointHover:
    """Calls `show(i)` for the point under the mouse (within `radius` pixels) and clears
    `marker` when the mouse is over the plot but near no point.

    `points()` gives the current (N, 2) coordinates, or None while there is nothing to hover.
    Mouse moves are rate-limited to 20 a second.
    """

    def __init__(
        self,
        graphics: pg.GraphicsLayoutWidget,
        plot: pg.PlotItem,
        marker: pg.ScatterPlotItem,
        points: Callable[[], np.ndarray | None],
        show: Callable[[int], None],
        radius: float,
    ) -> None:
        self.plot, self.marker, self.points, self.show, self.radius = (
            plot, marker, points, show, radius,
        )  # fmt: skip
        self._proxy = pg.SignalProxy(graphics.scene().sigMouseMoved, rateLimit=20,
                                     slot=self._on_mouse_moved)  # fmt: skip

    def _on_mouse_moved(self, event: tuple) -> None:
        coords = self.points()
        if coords is None:
            return
        i, distance = nearest_point(self.plot.vb, coords, event[0])
        if i < 0:
            return  # outside the plot: keep what is shown
        if distance > self.radius:
            self.marker.setData([], [])
            return
        self.show(i)


def hover_label(text: str) -> QLabel:
    """The grey line under a plot that says what the hovered point is."""
    label = QLabel(text)
    label.setStyleSheet("color: #333")
    label.setWordWrap(True)
    return label
