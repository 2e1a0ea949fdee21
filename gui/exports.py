"""What leaves the window as files: the window or one plot as PNG/SVG, the metrics as CSV."""

from __future__ import annotations

import csv
import os

import pyqtgraph as pg
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFileDialog, QWidget

EXPORT_SCALE = 2  # exported PNGs: twice the size on screen


def export_window(window: QWidget, path: str, scale: float = EXPORT_SCALE) -> bool:
    """The window as a PNG at `scale` times its size on screen (sharp on a projector)."""
    ratio = scale * window.devicePixelRatioF()
    image = QPixmap(window.size() * ratio)
    image.setDevicePixelRatio(ratio)
    image.fill(window.palette().window().color())
    window.render(image)
    return image.save(path)


def export_plot(plot: pg.PlotItem, path: str, scale: float = EXPORT_SCALE) -> None:
    """One plot as SVG (by the file's suffix) or as a PNG at `scale` x its size."""
    from pyqtgraph.exporters import ImageExporter

    if path.lower().endswith(".svg"):
        export_svg(plot, path)
        return
    exporter = ImageExporter(plot)
    width = max(int(plot.sceneBoundingRect().width() * scale), 64)
    exporter.parameters()["width"] = width
    exporter.export(path)


def export_svg(plot: pg.PlotItem, path: str) -> None:
    """The plot's part of its scene as SVG, drawn by Qt (pyqtgraph's SVG exporter fails
    on some curves)."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    source = plot.sceneBoundingRect()
    svg = QSvgGenerator()
    svg.setFileName(path)
    svg.setSize(source.size().toSize())
    svg.setViewBox(QRectF(0, 0, source.width(), source.height()))
    svg.setTitle("rnnviz plot")
    painter = QPainter(svg)
    try:
        plot.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()


def export_csv(train, val, path: str) -> None:
    """Write the (decimated) histories: split, step, epoch, loss, accuracy."""
    tmp = f"{path}.part"
    with open(tmp, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["split", "step", "epoch", "loss", "accuracy", "steps_per_point"])
        for split, hist in (("train", train), ("val", val)):
            cols = hist.arrays()
            for i in range(len(cols["step"])):
                out.writerow([split, int(cols["step"][i]), f"{cols['epoch'][i]:.4f}",
                              f"{cols['loss'][i]:.6g}", f"{cols['accuracy'][i]:.6g}",
                              hist.stride])  # fmt: skip
    os.replace(tmp, path)


def save_path(parent: QWidget, title: str, name: str, filters: str) -> str:
    """A path from the save dialog ("" when cancelled)."""
    path, _ = QFileDialog.getSaveFileName(parent, title, name, filters)
    return path
