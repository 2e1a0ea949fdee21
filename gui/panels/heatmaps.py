"""Heatmaps of the network: embedding rows, hidden state over time, weights and gradients."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.glyphs import drawable, shown_token
from gui.presentation import MAX_COLUMN_LABELS, presentation_of
from gui.vocabulary import most_frequent
from gui.widgets import cache_static_parts

DIVERGING = "CET-D1"  # blue - white - red: sign is the first thing to read
LABEL_PIXELS = 13  # vertical pixels per axis label before labels get thinned out


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^k at or above `value` (colour levels that read well)."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10**exp >= value * (1 - 1e-12):
            return m * 10**exp
    return 10.0 ** (exp + 1)


def _title_asks_no_width(label: pg.LabelItem) -> None:
    """A plot title asks for its text's width as the plot's minimum and preferred width:
    nine titles made the grid wider than the tab, and the right column's colour bars lost
    their labels; and a title whose text changes (its level, "±0.05") re-laid the whole
    grid out, every axis repainted. Keep the title's height, ask for no width (pyqtgraph
    re-asks on every resize and every text, through `updateMin`)."""
    ask = label.updateMin

    def update_min() -> None:
        ask()
        height = label._sizeHint[Qt.SizeHint.MinimumSize][1]
        label._sizeHint[Qt.SizeHint.MinimumSize] = (0, height)
        label._sizeHint[Qt.SizeHint.PreferredSize] = (0, height)
        label.setMinimumWidth(0)
        label.updateGeometry()

    label.updateMin = update_min
    update_min()


# The views in the order they are drawn, in groups of about equal drawing cost: a frame
# draws one group (gui/window.py), so no frame repaints the whole panel.
GROUPS = (("embedding", "hidden"), ("W", "W_h", "W_out"), ("grad_W", "grad_W_h", "grad_W_out"))


class HeatmapView:
    """One plot: an image (row-major), a colour bar with symmetric fixed levels, labels.

    Levels sit on a 1-2-5 step and move only when the values outgrow them or fall a
    decade below, so successive frames stay comparable; `rescale()` refits them now.
    """

    def __init__(
        self,
        layout: pg.GraphicsLayout,
        title: str,
        row: int,
        col: int,
        colspan: int = 1,
        fixed_level: float | None = None,
        x_label: str = "",
        y_label: str = "",
    ) -> None:
        self.title = title
        self.plot: pg.PlotItem = layout.addPlot(row=row, col=col, colspan=colspan, title=title)
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.disableAutoRange()  # a new image must not re-range (and repaint) the axes
        if x_label:
            self.plot.setLabel("bottom", x_label)
        if y_label:
            self.plot.setLabel("left", y_label)
        _title_asks_no_width(self.plot.titleLabel)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.fixed_level = fixed_level
        self.level = fixed_level or 0.0
        self.bar = pg.ColorBarItem(
            values=(-1, 1),
            colorMap=pg.colormap.get(DIVERGING),
            interactive=False,
            width=12,
        )
        self.bar.setImageItem(self.image, insert_in=self.plot)
        cache_static_parts(self.plot)
        self.bar.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.data: np.ndarray | None = None
        self.row_labels: list[str] | None = None
        self.col_labels: list[str] | None = None

    def set_data(
        self,
        data: np.ndarray,
        row_labels: list[str] | None = None,
        col_labels: list[str] | None = None,
    ) -> None:
        """Show a 2-D array (rows down, columns across)."""
        data = np.asarray(data)
        if data.ndim == 1:
            data = data[None, :]
        shape_changed = self.data is None or self.data.shape != data.shape
        self.data = data
        finite = np.abs(data[np.isfinite(data)])
        peak = float(finite.max()) if finite.size else 0.0
        # Hysteresis: the level moves only when values outgrow it or shrink a decade below
        # it (gradients fade by orders of magnitude as training converges).
        stale = peak > self.level or peak < self.level / 10 or self.level == 0.0
        new_levels = shape_changed
        if self.fixed_level is None and stale:
            self.level = nice_ceiling(peak)
            new_levels = True
        if new_levels:
            self.image.setImage(data, autoLevels=False, levels=(-self.level, self.level))
            self.bar.setLevels((-self.level, self.level))
            self.plot.setTitle(f"{self.title}  ±{self.level:g}")  # tiny levels lose ticks
        else:  # same levels: do not touch the colour bar (it would repaint its axis)
            self.image.setImage(data, autoLevels=False)
        if shape_changed:
            self.plot.setRange(
                xRange=(0, data.shape[1]),
                yRange=(0, data.shape[0]),
                padding=0,
                update=False,
            )
        if row_labels != self.row_labels:
            self.row_labels = row_labels
            height = self.plot.vb.height()
            room = int(height / LABEL_PIXELS) if height > 50 else 20
            self.plot.getAxis("left").setTicks(_ticks(row_labels, room))
        if col_labels != self.col_labels:
            self.col_labels = col_labels
            self.plot.getAxis("bottom").setTicks(_ticks(col_labels, 12))

    def rescale(self) -> None:
        if self.fixed_level is None:
            self.level = 0.0
            if self.data is not None:
                self.set_data(self.data, self.row_labels, self.col_labels)

    def value_at(self, scene_pos: QPointF) -> str | None:
        """Hover text for a scene position, or None when it is not over this image."""
        if self.data is None or not self.plot.vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.plot.vb.mapSceneToView(scene_pos)
        r, c = math.floor(p.y()), math.floor(p.x())
        if not (0 <= r < self.data.shape[0] and 0 <= c < self.data.shape[1]):
            return None
        row = self.row_labels[r] if self.row_labels else str(r)
        col = self.col_labels[c] if self.col_labels else str(c)
        return f"{self.title}  [{row}, {col}] = {self.data[r, c]:+.4f}"


def _ticks(labels: list[str] | None, room: int) -> list | None:
    if labels is None:
        return None  # default numeric ticks
    every = max(1, math.ceil(len(labels) / max(room, 1)))
    return [[(i + 0.5, labels[i]) for i in range(0, len(labels), every)], []]


class HeatmapsPanel(QWidget):
    """The network's arrays, updated in place from a captured snapshot."""

    probe_changed = Signal(int)  # index of the selected probe example

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.words: list[str] = []  # id -> word
        self.top_ids = np.zeros(0, np.int64)  # embedding rows shown (most frequent first)
        self.probe_texts: list[str] = []
        self.token_label = drawable  # a token as drawn (see gui.glyphs)
        self._fingerprint = None  # of the vocabulary whose top rows are picked

        self.probe_box = QComboBox()
        self.probe_box.setMinimumContentsLength(30)
        self.rows_box = QSpinBox()
        self.rows_box.setRange(5, 500)
        self.rows_box.setValue(40)
        self.rows_box.setToolTip("How many embedding rows (most frequent words first)")
        self.rescale_button = QPushButton("Rescale colours")
        self.rescale_button.setToolTip(
            "Colour levels are fixed so frames are comparable; refit them to the current values"
        )
        self.hover_label = QLabel("Hover a heatmap to read its values")
        self.hover_label.setStyleSheet("color: #555")

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Hidden state of"))
        bar.addWidget(self.probe_box, 1)
        bar.addWidget(QLabel("Embedding rows"))
        bar.addWidget(self.rows_box)
        bar.addWidget(self.rescale_button)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        g = self.graphics.ci
        self.views: dict[str, HeatmapView] = {
            "embedding": HeatmapView(g, "Embedding E (V x D)", 0, 0, y_label="word"),
            "hidden": HeatmapView(
                g,
                "Hidden state h_t (T x H)",
                0,
                1,
                colspan=2,
                fixed_level=1.0,
                y_label="token",
            ),
            "W": HeatmapView(g, "W (D x H)", 1, 0),
            "W_h": HeatmapView(g, "W_h (H x H)", 1, 1),
            "W_out": HeatmapView(g, "W_out (H x C)", 1, 2),
            "grad_W": HeatmapView(g, "dL/dW", 2, 0),
            "grad_W_h": HeatmapView(g, "dL/dW_h", 2, 1),
            "grad_W_out": HeatmapView(g, "dL/dW_out", 2, 2),
            # The LSTM's cell state, beside h_t (in the layout only for an LSTM run).
            "cell_state": HeatmapView(g, "Cell state c_t (T x H)", 0, 3, y_label="token"),
        }
        g.removeItem(self.views["cell_state"].plot)
        self._shows_cell_state = False
        g.layout.setRowStretchFactor(0, 3)
        g.layout.setRowStretchFactor(1, 2)
        g.layout.setRowStretchFactor(2, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)

        self._snapshot = None
        self.probe_box.currentIndexChanged.connect(self._on_probe_selected)
        self.rows_box.valueChanged.connect(self._on_rows_changed)
        self.rescale_button.clicked.connect(self._on_rescale)
        self._mouse_proxy = pg.SignalProxy(
            self.graphics.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved
        )

    # -- public API -------------------------------------------------------------------
    def set_info(self, info) -> None:
        """A new run (`RunInfo`): words, counts, probes; W_out's columns are classes, or
        the tokens a language model predicts (labelled when there are few)."""
        p = presentation_of(info)
        self.token_label = shown_token if p.lm else drawable
        self.views["W_out"].title = p.output_title
        if p.lm:
            columns = info.words if len(info.words) <= MAX_COLUMN_LABELS else []
        else:
            columns = info.label_names
        fingerprint = getattr(info.vocabulary, "fingerprint", None)
        same = fingerprint is not None and fingerprint == self._fingerprint
        self._fingerprint = fingerprint
        self.set_vocabulary(info.words, info.token_counts, info.probe_texts, columns,
                            same_words=same)  # fmt: skip

    def set_vocabulary(
        self,
        words: list[str],
        counts: np.ndarray,
        probe_texts: list[str],
        class_names: list[str],
        same_words: bool = False,
    ) -> None:
        """Words by id, their training counts (to order embedding rows), probe examples;
        `same_words`: the vocabulary shown already (a Reset): its top rows are kept."""
        self.words = words
        self.counts = np.asarray(counts)
        self.class_names = [self.token_label(c) for c in class_names]
        if not same_words or not len(self.top_ids):
            self._pick_rows()
        self.probe_texts = list(probe_texts)
        self.probe_box.blockSignals(True)
        self.probe_box.clear()
        for i, text in enumerate(probe_texts):
            self.probe_box.addItem(f"{i}: {self.token_label(text[:70])}")
        self.probe_box.blockSignals(False)
        for view in self.views.values():
            view.rescale()
            view.level = view.fixed_level or 0.0

    def update_snapshot(self, snapshot, group: int | None = None) -> None:
        """Redraw from a snapshot that carries params/grads (capture=True); `group`: only
        the views of GROUPS[group] (the window spreads a snapshot over frames)."""
        self._snapshot = snapshot
        if not snapshot.params or not self.isVisible():
            return
        for name in GROUPS[group] if group is not None else sum(GROUPS, ()):
            self._draw_view(name, snapshot)

    def redraw(self) -> None:
        if self._snapshot is not None:
            self.update_snapshot(self._snapshot)

    def showEvent(self, event) -> None:
        """Brought to the front: draw the snapshot that came while hidden (when paused,
        no other will come)."""
        super().showEvent(event)
        self.redraw()

    def plots(self) -> dict[str, pg.PlotItem]:
        return {name: view.plot for name, view in self.views.items()}

    # -- internals --------------------------------------------------------------------
    def _pick_rows(self) -> None:
        n = self.rows_box.value()
        # [PAD], [UNK] are not words (but all there is of a vocabulary of two)
        first = 2 if len(self.counts) > 2 else 0
        self.top_ids = most_frequent(self.counts, n, first)

    def _draw_view(self, name: str, snapshot) -> None:
        p, g = snapshot.params, snapshot.grads
        if name == "hidden":
            return self._draw_hidden(snapshot)
        if name == "embedding":
            top = self.top_ids[self.top_ids < p["embedding"].shape[0]]
            labels = [self.token_label(self.words[i]) for i in top]
            return self.views["embedding"].set_data(p["embedding"][top], row_labels=labels)
        C = p["W_out"].shape[1]
        classes = self.class_names if len(self.class_names) == C else None
        source = g if name.startswith("grad_") else p
        key = name.removeprefix("grad_")
        if key in source:
            columns = classes if key == "W_out" else None
            self.views[name].set_data(source[key], col_labels=columns)

    def _draw_hidden(self, snapshot) -> None:
        if snapshot.probe_hidden is None or not len(snapshot.probe_hidden):
            return
        i = min(max(self.probe_box.currentIndex(), 0), len(snapshot.probe_hidden) - 1)
        hidden = snapshot.probe_hidden[i]  # (T, H)
        labels = None
        if snapshot.probe_ids is not None and self.words:
            ids = snapshot.probe_ids[i]
            label = self.token_label
            labels = [
                ("·" if t == 0 else label(self.words[t])) if t < len(self.words) else "?"
                for t in ids
            ]
        self.views["hidden"].set_data(hidden, row_labels=labels)
        cells = getattr(snapshot, "probe_cells", None)
        self._show_cell_state(cells is not None and len(cells) > i)
        if self._shows_cell_state:
            self.views["cell_state"].set_data(cells[i], row_labels=labels)

    def _show_cell_state(self, show: bool) -> None:
        """h_t over two columns, or h_t and the LSTM's c_t side by side."""
        if show == self._shows_cell_state:
            return
        self._shows_cell_state = show
        g = self.graphics.ci
        hidden, cell = self.views["hidden"].plot, self.views["cell_state"].plot
        g.removeItem(hidden)
        if show:
            g.addItem(hidden, row=0, col=1)
            g.addItem(cell, row=0, col=2)
        else:
            g.removeItem(cell)
            g.addItem(hidden, row=0, col=1, colspan=2)

    def _on_probe_selected(self, index: int) -> None:
        self.probe_changed.emit(index)
        self.redraw()

    def _on_rows_changed(self, _value: int) -> None:
        if self.words:
            self._pick_rows()
            self.redraw()

    def _on_rescale(self) -> None:
        for view in self.views.values():
            view.rescale()

    def _on_mouse_moved(self, event: tuple) -> None:
        for view in self.views.values():
            text = view.value_at(event[0])
            if text:
                self.hover_label.setText(text)
                return


def synthetic_snapshot(V: int = 60, D: int = 16, H: int = 32, C: int = 2, T: int = 12):
    """A Snapshot-like object with random arrays, for previews."""
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    params = {
        "embedding": rng.uniform(-0.3, 0.3, (V, D)),
        "W": rng.normal(0, 0.3, (D, H)),
        "W_h": rng.normal(0, 0.2, (H, H)),
        "b_h": np.zeros(H),
        "W_out": rng.normal(0, 0.3, (H, C)),
        "b_out": np.zeros(C),
    }
    grads = {k: v * 0.01 * rng.standard_normal(v.shape) for k, v in params.items()}
    ids = np.zeros((4, T), np.int64)
    ids[:, T // 2 :] = rng.integers(2, V, (4, T - T // 2))
    hidden = np.tanh(rng.normal(0, 1, (4, T, H)))
    hidden[:, : T // 2] = 0
    return SimpleNamespace(params=params, grads=grads, probe_ids=ids, probe_hidden=hidden)


if __name__ == "__main__":
    from gui.preview import run_preview

    app = pg.mkQApp("heatmaps")
    panel = HeatmapsPanel()
    words = ["[PAD]", "[UNK]"] + [f"word{i}" for i in range(58)]
    panel.set_vocabulary(words, np.arange(60)[::-1], ["a probe text"] * 4, ["neg", "pos"])
    panel.show()
    panel.update_snapshot(synthetic_snapshot())
    raise SystemExit(run_preview(panel, (1000, 700)))
