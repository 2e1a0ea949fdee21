"""Errors on the validation split: a confusion matrix and the misclassified texts.

Recomputed from the latest parameters at most once a second, and only while the tab
is visible (one batched forward pass over the split). Clicking a misclassified text
emits `example_chosen` (the window loads it into the prediction box).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.widgets import ModelView, cache_static_parts
from rnnviz.insight import confusion_matrix, misclassified

UPDATE_SECONDS = 1.0
MAX_ROWS = 200  # misclassified texts listed
MAX_CLASSES = 20  # cells get a count label up to this many classes
MAX_SHOWN = 30  # the matrix shows this many most frequent classes, the rest as "other"
CHUNK = 512
NAME_CHARS = 12  # longer class names are cut, with an ellipsis
LABEL_GAP = 6  # pixels between two axis labels or around a count
RELABEL_MS = 50  # after a resize, once the plot is laid out
LEFT_AXIS_EXTRA = 34  # the left axis beside its tick labels: ticks and "true class"


def short_name(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


class ErrorsPanel(ModelView):
    """Confusion matrix (rows: true class, columns: predicted) and the wrong answers."""

    refresh_seconds = UPDATE_SECONDS

    example_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.class_names: list[str] = []
        self.ids = np.zeros((0, 0), np.int64)
        self.labels = np.zeros(0, np.int64)
        self.texts: list[str] = []
        self.matrix: np.ndarray | None = None  # (k, k) counts over the classes shown
        self._bucket = np.zeros(0, np.int64)  # class id -> row/column of the matrix
        self._axis_names: list[str] = []
        self._cell_texts: list[pg.TextItem] = []

        self.summary = QLabel("<i>Load a corpus with a validation split to start.</i>")
        self.summary.setWordWrap(True)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        # Short: a longer title was clipped in the panel's narrow default width.
        self.plot: pg.PlotItem = self.graphics.addPlot(title="Confusion (row share)")
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.disableAutoRange()
        self.plot.setLabel("left", "true class")
        self.plot.setLabel("bottom", "predicted class")
        for name in ("left", "bottom"):  # ticks outside: inside they ran into the counts
            self.plot.getAxis(name).setStyle(tickLength=4)
        self._labels_key: tuple | None = None  # what _place_labels last chose
        # Labels are re-placed after the plot is resized (panel, splitter): by a timer
        # that dies with the panel (a Python slot on the view box's resize signal, or an
        # event filter on the plot's widget, ran while the window was being destroyed
        # and crashed it).
        self._relabel = QTimer(self)
        self._relabel.setSingleShot(True)
        self._relabel.setInterval(RELABEL_MS)
        self._relabel.timeout.connect(self._place_labels)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.bar = pg.ColorBarItem(
            values=(0, 1), colorMap=pg.colormap.get("CET-L12"), interactive=False, width=12
        )
        self.bar.setImageItem(self.image, insert_in=self.plot)
        cache_static_parts(self.plot)

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["text", "true", "predicted", "p(predicted)"])
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        self.table.setToolTip("Click a text to load it into the prediction box")

        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.graphics)
        split.addWidget(self.table)
        split.setSizes([380, 620])
        split.splitterMoved.connect(self._relabel.start)  # (a C++ slot: safe at teardown)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        self.table.cellClicked.connect(self._on_cell_clicked)

    # -- public API -------------------------------------------------------------------
    def set_data(
        self, class_names: list[str], ids: np.ndarray, labels: np.ndarray, texts: list[str]
    ) -> None:
        """The labelled split to evaluate (a new run)."""
        self.class_names = list(class_names)
        self.ids, self.labels, self.texts = np.asarray(ids), np.asarray(labels), list(texts)
        self.matrix, self._model = None, None
        # Many classes: the most frequent ones and an "other" bucket, never a C x C array.
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        shown = np.sort(np.argsort(-counts, kind="stable")[:MAX_SHOWN])
        self._bucket = np.full(len(self.class_names), len(shown), np.int64)
        self._bucket[shown] = np.arange(len(shown))
        self._axis_names = [self.class_names[i] for i in shown]
        if len(shown) < len(self.class_names):
            self._axis_names.append("other")
        C = len(self._axis_names)
        for item in self._cell_texts:
            self.plot.removeItem(item)
        self._cell_texts = []
        if C <= MAX_CLASSES:
            for r in range(C):
                for c in range(C):
                    item = pg.TextItem("", color=(0, 0, 0), anchor=(0.5, 0.5))
                    item.setPos(c + 0.5, r + 0.5)
                    self.plot.addItem(item)
                    self._cell_texts.append(item)
        self._labels_key = None
        self._place_labels()
        self.plot.setRange(xRange=(0, max(C, 1)), yRange=(0, max(C, 1)), padding=0)
        self.table.setRowCount(0)
        if not len(self.labels):
            self.summary.setText("<i>This run has no validation split (validation share 0).</i>")

    # -- internals --------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relabel.start()

    def _place_labels(self, *_args) -> None:
        """Class names on the axes, or numbers under the columns when the names do not fit
        their width (then the rows say "3 cooking"); every k-th label when even those
        crowd; counts in the cells only when they fit. Called again on every resize."""
        C = len(self._axis_names)
        if not C:
            return
        vb = self.plot.vb
        laid_out = vb.width() > 10 and vb.height() > 10  # not yet shown: as if roomy
        cell_w = vb.width() / C if laid_out else float("inf")
        cell_h = vb.height() / C if laid_out else float("inf")
        font = self.plot.getAxis("bottom").style["tickFont"] or QFont()
        metrics = QFontMetrics(font)
        names = [short_name(n) for n in self._axis_names]
        as_names = max(metrics.horizontalAdvance(n) for n in names) + LABEL_GAP <= cell_w
        number_w = metrics.horizontalAdvance(str(C)) + LABEL_GAP
        every_x = 1 if as_names else max(1, math.ceil(number_w / cell_w))
        every_y = max(1, math.ceil(metrics.height() / cell_h))
        counts = metrics.horizontalAdvance("888") + LABEL_GAP <= cell_w and (
            metrics.height() <= cell_h
        )
        key = (C, as_names, every_x, every_y, counts)
        if key == self._labels_key:
            self._keep_whole()
            return
        self._labels_key = key
        rows = names if as_names else [f"{i + 1} {n}" for i, n in enumerate(names)]
        columns = names if as_names else [str(i + 1) for i in range(C)]
        self.plot.getAxis("left").setTicks([[(i + 0.5, rows[i]) for i in range(0, C, every_y)], []])
        self.plot.getAxis("bottom").setTicks(
            [[(i + 0.5, columns[i]) for i in range(0, C, every_x)], []]
        )
        for item in self._cell_texts:
            item.setVisible(counts)
        # The row names' width, fixed (not grown after a paint), so that the width the
        # whole plot needs is known: the splitter must not clip the colour bar's labels.
        widest = max(metrics.horizontalAdvance(r) for r in rows)
        self.plot.getAxis("left").setWidth(widest + LEFT_AXIS_EXTRA)
        self._relabel.start()  # once laid out with that width: _keep_whole

    def _keep_whole(self) -> None:
        """No narrower than the plot with its axes and colour bar (else their right
        side, the colour bar's labels, is cut off)."""
        need = self.graphics.ci.effectiveSizeHint(Qt.MinimumSize).width()
        self.graphics.setMinimumWidth(math.ceil(need) + 2 * self.graphics.frameWidth() + 2)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._keep_whole()  # the theme may have widened the colour bar's text since

    def refresh(self) -> None:
        self._begin_refresh()
        model = self._model
        if model is None or not len(self.labels):
            return
        with np.errstate(all="ignore"):
            proba = np.concatenate(
                [
                    model.predict_proba(self.ids[i : i + CHUNK])
                    for i in range(0, len(self.ids), CHUNK)
                ]
            )  # (N, C)
        if not np.all(np.isfinite(proba)):
            self.summary.setText("The weights diverged: no predictions (Reset).")
            return
        C = len(self._axis_names)
        predicted = proba.argmax(axis=1)
        bucket = self._bucket
        self.matrix = m = confusion_matrix(bucket[self.labels], bucket[predicted], C)
        share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        self.image.setImage(share, autoLevels=False, levels=(0, 1))
        self.image.setRect(0, 0, C, C)
        for k, item in enumerate(self._cell_texts):
            r, c = divmod(k, C)
            item.setText(str(m[r, c]))
            item.setColor((255, 255, 255) if share[r, c] > 0.6 else (0, 0, 0))
        wrong = misclassified(self.labels, proba)
        accuracy = float(np.mean(predicted == self.labels))
        others = len(self.class_names) - len(self._axis_names) + 1
        note = (f" The matrix shows the {MAX_SHOWN} most frequent of {len(self.class_names):,} "
                f"classes; the other {others:,} are pooled as \"other\"."
                if self._axis_names[-1:] == ["other"] else "")  # fmt: skip
        self.summary.setText(
            f"Step {self._step:,}: validation accuracy <b>{accuracy:.1%}</b> on "
            f"{m.sum():,} texts; {len(wrong):,} wrong (most confident first). "
            f"Click one to load it into the prediction box.{note}"
        )
        self._fill_table(wrong[:MAX_ROWS], predicted, proba)

    def _fill_table(self, rows: np.ndarray, predicted: np.ndarray, proba: np.ndarray) -> None:
        t = self.table
        t.setUpdatesEnabled(False)
        t.setRowCount(len(rows))
        names = self.class_names
        for r, i in enumerate(rows.tolist()):
            p = int(predicted[i])
            values = (self.texts[i], names[self.labels[i]], names[p], f"{proba[i, p]:.1%}")
            for c, value in enumerate(values):
                item = t.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    t.setItem(r, c, item)
                item.setText(value)
        t.setUpdatesEnabled(True)

    def _on_cell_clicked(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.example_chosen.emit(item.text())


if __name__ == "__main__":
    from gui.panels.insight_preview import preview_trainer
    from gui.preview import run_preview

    app = pg.mkQApp("errors")
    trainer, _ = preview_trainer()
    panel = ErrorsPanel()
    panel.set_data(trainer.label_names, trainer.val_ids, trainer.val_labels, trainer.val_texts)
    panel.update_model(trainer.model, trainer.step_count)
    panel.show()
    panel.refresh()
    raise SystemExit(run_preview(panel, (1000, 500)))
