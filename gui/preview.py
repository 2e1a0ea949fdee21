"""Show one panel alone (`python -m gui.panels.NAME`); set RNNVIZ_PREVIEW_PNG to save a PNG."""

from __future__ import annotations

import os

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget


def run_preview(widget: QWidget, size: tuple[int, int] = (1000, 450)) -> int:
    """Show `widget`; with RNNVIZ_PREVIEW_PNG set, render it to that file and return."""
    app = pg.mkQApp("rnnviz preview")
    widget.resize(*size)
    widget.show()
    out = os.environ.get("RNNVIZ_PREVIEW_PNG")
    if out:
        for _ in range(5):
            app.processEvents()
        widget.grab().save(out)
        widget.close()
        return 0
    return app.exec()
