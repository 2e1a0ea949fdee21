"""A right-hand axis that names reference lines at their heights, outside the data.

A label drawn inside a plot covers whatever curve passes under it (the "bag of words"
baseline's label sat on the accuracy curve). On this axis each dashed line is named
beside the plot, at its value, in its own colour; names that would overlap are moved
apart, so two close baselines stay readable.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor

GAP = 1.0  # pixels between two names moved apart


class ReferenceAxis(pg.AxisItem):
    """Ticks only at the references given to `set_references`, labelled with their names."""

    def __init__(self) -> None:
        super().__init__("right")
        self._colours: dict[str, QColor] = {}
        # Room above and below for a name at the top or bottom of the range (a baseline of
        # 1.0 is still named); ticks point towards the names.
        self.setStyle(hideOverlappingLabels=False, tickLength=4)

    def set_references(self, references: list[tuple[float, str, tuple]]) -> None:
        """(value, name, colour) of each line (the plot shows or hides the axis)."""
        self._colours = {name: QColor(*colour) for _, name, colour in references}
        self.setTicks([[(value, name) for value, name, _ in references], []])

    def names(self) -> list[str]:
        """The names on the axis, bottom to top as given (for tests and exports)."""
        ticks = self._tickLevels[0] if self._tickLevels else []
        return [name for _, name in ticks]

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs) -> None:
        super().drawPicture(p, axisSpec, tickSpecs, [])  # the line and the ticks
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        placed: list[QRectF] = []
        for rect, flags, text in sorted(textSpecs, key=lambda spec: spec[0].top()):
            rect = p.boundingRect(QRectF(rect), int(flags), text)  # all its lines
            if placed and rect.top() < placed[-1].bottom() + GAP:
                rect.moveTop(placed[-1].bottom() + GAP)  # below the name above it
            placed.append(rect)
            p.setPen(self._colours.get(text, self.textPen().color()))
            p.drawText(rect, int(flags), text)
