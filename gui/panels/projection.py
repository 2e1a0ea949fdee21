"""Embedding projection: the word vectors on their first two principal components, live.

Points are the most frequent words, coloured by the class the model gives each word
alone (deeper colour = surer). Labels go to the most frequent words first, each where it
covers no label placed before it (in the dense centre only the commonest words get one).
Hovering a point lists its nearest neighbours by cosine similarity. Recomputed at most
twice a second.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from gui.glyphs import shown_token
from gui.point_hover import PointHover, hover_label
from gui.vocabulary import most_frequent
from gui.widgets import ModelView, cache_static_parts
from rnnviz.projection import cosine_neighbours, pca_2d, unit_rows, word_lean

UPDATE_SECONDS = 0.5
LABELS = 40  # words with a text label, at most
LABEL_CANDIDATES = 200  # the most frequent words offered a label, in that order
LABEL_ANCHOR = (0.5, 1.2)  # a label's box: centred above its point
LABEL_GAP = 2.0  # pixels kept free between two labels
RELABEL_MS = 50  # after a resize, once the plot is laid out
CLASS_COLOURS = ((214, 39, 40), (31, 119, 180), (44, 160, 44), (255, 127, 14), (148, 103, 189),
                 (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34),
                 (23, 190, 207))  # fmt: skip
SHADES = 6  # confidence levels per class colour (brushes are cached)


class ProjectionPanel(ModelView):
    """PCA of the embedding rows of the most frequent words."""

    refresh_seconds = UPDATE_SECONDS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.words: list[str] = []
        self.class_names: list[str] = []
        self.ids = np.zeros(0, np.int64)  # word ids shown
        self.coords = np.zeros((0, 2))
        self.components: np.ndarray | None = None
        self._unit: np.ndarray | None = None
        self._range: tuple | None = None
        self._brushes: dict[tuple[int, int], object] = {}
        self._label_words: list[str] = []  # the candidates' words, most frequent first
        self.labelled: list[int] = []  # the shown words' indices that carry a label

        self.count_box = QSpinBox()
        self.count_box.setRange(10, 5000)
        self.count_box.setValue(300)
        self.count_box.setToolTip("How many words (most frequent first)")
        self.summary = QLabel("<i>Load a corpus to start.</i>")
        self.legend = QLabel()
        self.legend.setToolTip(
            "A word's colour is the class it leans to: the network's answer for the word "
            "alone as a one-word text; pale = undecided, strong = sure"
        )
        self.hover_label = hover_label("Hover a word to see its nearest neighbours (cosine)")
        top = QHBoxLayout()
        top.addWidget(QLabel("Words"))
        top.addWidget(self.count_box)
        top.addWidget(self.summary, 1)
        top.addWidget(self.legend)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.plot: pg.PlotItem = self.graphics.addPlot(title="Embedding rows, PCA to 2-D")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.disableAutoRange()
        self.plot.setLabel("bottom", "PC 1")
        self.plot.setLabel("left", "PC 2")
        for name in ("left", "bottom"):
            self.plot.getAxis(name).enableAutoSIPrefix(False)
        self.scatter = pg.ScatterPlotItem(size=8, pen=pg.mkPen((90, 90, 90), width=0.5))
        self.plot.addItem(self.scatter)
        self.texts = [
            pg.TextItem("", color=(30, 30, 30), anchor=LABEL_ANCHOR) for _ in range(LABELS)
        ]
        for item in self.texts:
            self.plot.addItem(item)
        self.marker = pg.ScatterPlotItem(size=16, pen=pg.mkPen((0, 0, 0), width=2), brush=None)
        self.plot.addItem(self.marker)
        cache_static_parts(self.plot)
        # Labels are placed in pixels: again after a resize, from a timer that dies with
        # the panel (no slot on the view box's signals: see gui/panels/errors.py).
        self._relabel = QTimer(self)
        self._relabel.setSingleShot(True)
        self._relabel.setInterval(RELABEL_MS)
        self._relabel.timeout.connect(self._place_labels)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)
        self.count_box.valueChanged.connect(self._on_count_changed)
        self.hover = PointHover(self.graphics, self.plot, self.marker, radius=12,
                                points=self._hoverable, show=self.show_neighbours)  # fmt: skip

    # -- public API -------------------------------------------------------------------
    def set_vocabulary(self, words: list[str], counts: np.ndarray, class_names: list[str]) -> None:
        self.words, self.counts = list(words), np.asarray(counts)
        self.class_names = list(class_names)
        self.components, self._model, self._range = None, None, None
        self._pick_words()
        self.legend.setText(
            "  ".join(
                f"<span style='color:rgb{CLASS_COLOURS[i % len(CLASS_COLOURS)]}'>●</span> {n}"
                for i, n in enumerate(self.class_names)
            )
        )

    def neighbours(self, index: int, k: int = 6) -> list[tuple[str, float]]:
        """Nearest words (cosine) of shown word `index`, among the shown words."""
        if self._unit is None:
            return []
        idx, sims = cosine_neighbours(self._unit, index, k)
        return [(self.words[self.ids[i]], float(s)) for i, s in zip(idx, sims, strict=True)]

    # -- internals --------------------------------------------------------------------
    def _pick_words(self) -> None:
        order = most_frequent(self.counts, self.count_box.value())  # no [PAD], [UNK]
        self.ids = order[self.counts[order] > 0]

    def refresh(self) -> None:
        self._begin_refresh()
        model = self._model
        if model is None or not len(self.ids):
            return
        E = np.asarray(model.params["embedding"])
        ids = self.ids[self.ids < len(E)]
        rows = E[ids]
        if not np.all(np.isfinite(rows)):
            return
        self.coords, self.components, explained = pca_2d(rows, self.components)
        self._unit = unit_rows(rows)
        with np.errstate(all="ignore"):
            lean = word_lean(model, ids)  # (N, C)
        C = lean.shape[1]
        cls = lean.argmax(axis=1)
        sure = (lean.max(axis=1) - 1 / C) / (1 - 1 / C)  # 0 = undecided, 1 = certain
        shade = np.clip((np.nan_to_num(sure) * SHADES).astype(int), 0, SHADES - 1)
        brushes = [self._brush(c, s) for c, s in zip(cls.tolist(), shade.tolist(), strict=True)]
        self.scatter.setData(pos=self.coords, brush=brushes)
        self._label_words = [shown_token(self.words[i]) for i in ids[:LABEL_CANDIDATES]]
        self._fit_range()
        self._place_labels()
        self.summary.setText(
            f"step {self._step:,}: {len(ids)} words; PC 1 and 2 explain "
            f"{explained[0]:.0%} and {explained[1]:.0%} of the variance"
        )

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relabel.start()

    def _place_labels(self) -> None:
        """Label the most frequent words whose label covers none placed before it."""
        n = min(len(self._label_words), len(self.coords))
        boxes = self._label_boxes(self.coords[:n], self._label_words[:n])
        if boxes is None and n and self.isVisible():
            self._relabel.start()  # not laid out yet: again once it is
        self.labelled = free_boxes(boxes, LABELS) if boxes is not None else []
        for k, item in enumerate(self.texts):
            if k < len(self.labelled):
                i = self.labelled[k]
                item.setText(self._label_words[i])
                item.setPos(*self.coords[i])
                item.show()
            else:
                item.hide()

    def _label_boxes(self, coords: np.ndarray, words: list[str]) -> np.ndarray | None:
        """(N, 4) the labels' boxes in the view's pixels, [left, top, right, bottom],
        LABEL_GAP wider and taller; None while the plot is not laid out."""
        vb = self.plot.vb
        width, height = vb.width(), vb.height()
        if width < 10 or height < 10 or not len(words):
            return None
        (x0, x1), (y0, y1) = vb.viewRange()
        px = (coords[:, 0] - x0) / (x1 - x0) * width
        py = (y1 - coords[:, 1]) / (y1 - y0) * height  # pixels grow downwards
        text = self.texts[0].textItem
        metrics = QFontMetricsF(text.font())
        margin = 2 * text.document().documentMargin()
        w = np.array([metrics.horizontalAdvance(word) for word in words]) + margin + LABEL_GAP
        h = metrics.height() + margin + LABEL_GAP
        left = px - LABEL_ANCHOR[0] * w
        top = py - LABEL_ANCHOR[1] * h
        return np.stack([left, top, left + w, np.broadcast_to(top + h, left.shape)], axis=1)

    def _brush(self, cls: int, shade: int):
        key = (cls, shade)
        if key not in self._brushes:
            r, g, b = CLASS_COLOURS[cls % len(CLASS_COLOURS)]
            a = 0.25 + 0.75 * shade / (SHADES - 1)
            mix = [round(255 * (1 - a) + v * a) for v in (r, g, b)]
            self._brushes[key] = pg.mkBrush(*mix)
        return self._brushes[key]

    def _fit_range(self) -> None:
        lo, hi = self.coords.min(axis=0), self.coords.max(axis=0)
        span = np.maximum(hi - lo, 1e-6)
        if self._range is not None:
            (x0, x1), (y0, y1) = self._range
            inside = lo[0] >= x0 and hi[0] <= x1 and lo[1] >= y0 and hi[1] <= y1
            tight = (x1 - x0) < 2 * span[0] and (y1 - y0) < 2 * span[1]
            if inside and tight:
                return  # the view still fits: no axis re-layout this frame
        pad = 0.15 * span
        self._range = ((lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1]))
        self.plot.setRange(xRange=self._range[0], yRange=self._range[1], padding=0)

    def _on_count_changed(self, _value: int) -> None:
        if self.words:
            self._pick_words()
            self.components, self._range = None, None
            self.refresh()

    def _hoverable(self) -> np.ndarray | None:
        """The shown words' points, once they match the words (None before)."""
        return self.coords if len(self.coords) == len(self.ids) else None

    def show_neighbours(self, i: int) -> None:
        """Mark shown word i and list its nearest neighbours."""
        self.marker.setData(pos=self.coords[i : i + 1])
        near = ", ".join(f"{shown(w)} ({s:.2f})" for w, s in self.neighbours(i))
        word = shown(self.words[self.ids[i]])
        self.hover_label.setText(f"<b>{word}</b>: nearest by cosine: {near}")


def shown(word: str) -> str:
    """A word for the rich-text hover line: spaces and newlines as symbols, escaped."""
    return html.escape(shown_token(word))


def free_boxes(boxes: np.ndarray, limit: int) -> list[int]:
    """Greedy placement: (N, 4) boxes [left, top, right, bottom] in order of priority ->
    the indices of at most `limit` of them, each overlapping none taken before it."""
    taken: list[tuple[float, float, float, float]] = []
    chosen: list[int] = []
    for i, (left, top, right, bottom) in enumerate(boxes.tolist()):
        if all(right <= x0 or left >= x1 or bottom <= y0 or top >= y1 for x0, y0, x1, y1 in taken):
            taken.append((left, top, right, bottom))
            chosen.append(i)
            if len(chosen) == limit:
                break
    return chosen


if __name__ == "__main__":
    from gui.panels.insight_preview import preview_trainer
    from gui.preview import run_preview

    app = pg.mkQApp("projection")
    trainer, _ = preview_trainer()
    panel = ProjectionPanel()
    panel.set_vocabulary(trainer.tokenizer.id_to_word, trainer.token_counts, trainer.label_names)
    panel.update_model(trainer.model, trainer.step_count)
    panel.show()
    panel.refresh()
    panel.show_neighbours(3)
    raise SystemExit(run_preview(panel, (900, 650)))
