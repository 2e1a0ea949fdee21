"""Neurons over text: which words make a hidden unit fire, in the spirit of LSTMVis.

The prediction-box sentence is drawn as tokens coloured by the chosen unit's state
h_t[u] (-1..1). The units are listed by how strongly they swing over the sentence;
clicking one selects it. The reverse view lists the tokens of a corpus sample that
drive the unit highest (one batched forward pass over the sample, at most once a
second).
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from gui.panels.prediction import encode_sentence
from gui.panels.token_strip import ColourBar, TokenStrip, diverging_colours
from gui.widgets import ModelView, cache_static_parts
from rnnviz.insight import top_activations, unit_strength
from rnnviz.tokenizer import PAD_ID

SENTENCE_SECONDS = 0.1  # the sentence view: at most 10 times a second
CORPUS_SECONDS = 1.0  # top tokens over the corpus sample: at most once a second
TOP_K = 12
CONTEXT = 3  # tokens of context shown before a top token


class NeuronsPanel(ModelView):
    """One unit at a time, over the sentence and over the corpus."""

    refresh_seconds = SENTENCE_SECONDS

    unit_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tokenizer = None
        self.maxlen = 0
        self.words: list[str] = []
        self.text = ""
        self.unit = 0
        self.sample_ids: np.ndarray | None = None
        self.top: tuple | None = None  # (rows, steps, values) per unit, from the sample
        self._last_corpus = 0.0
        self._order: list[int] = []
        self._chosen = False  # the user clicked a unit
        self.activations: np.ndarray | None = None  # (n, H) of the sentence's real tokens

        self.units = QListWidget()
        self.units.setStyleSheet("font-family: monospace")
        self._fit_list_width("unit 999   swing 0.00")  # widened to the real items when filled
        self.units.setToolTip(
            "Units sorted by swing: the spread (max − min) of the unit's state over the "
            "sentence's real tokens; a unit that stays put says nothing about this sentence"
        )
        self.title = QLabel("<i>Load a corpus to start.</i>")
        self.title.setWordWrap(True)
        self.strip = TokenStrip(18)
        self.colour_bar = ColourBar(1.0, "h_t[unit]")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.plot: pg.PlotItem = self.graphics.addPlot(title="The unit's state along the sentence")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setYRange(-1.05, 1.05, padding=0)
        self.plot.showGrid(y=True, alpha=0.3)
        self.curve = self.plot.plot(
            pen=pg.mkPen((20, 20, 20), width=2), symbol="o", symbolSize=9, skipFiniteCheck=True
        )
        cache_static_parts(self.plot)
        self.corpus_label = QLabel()
        self.corpus_label.setTextFormat(Qt.RichText)
        self.corpus_label.setWordWrap(True)
        self.corpus_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)

        right = QWidget()
        col = QVBoxLayout(right)
        col.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.colour_bar)
        col.addLayout(head)
        col.addWidget(self.strip)
        col.addWidget(self.graphics, 1)
        col.addWidget(self.corpus_label)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.units)
        split.addWidget(right)
        split.setSizes([170, 800])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(split)
        self.units.currentItemChanged.connect(self._on_unit_clicked)

    # -- public API -------------------------------------------------------------------
    def set_vocabulary(self, tokenizer, maxlen: int, sample_ids: np.ndarray | None) -> None:
        """A new run: its tokenizer, padded length and a sample of training rows."""
        self.tokenizer, self.maxlen = tokenizer, maxlen
        self.words = list(tokenizer.id_to_word)
        self.sample_ids = sample_ids
        self.top, self._model, self._order = None, None, []
        self._last_corpus = 0.0
        self._chosen = False
        self.units.clear()

    def set_text(self, text: str) -> None:
        self.text = text
        self._pending = True
        if self.isVisible():
            self.refresh()

    def select_unit(self, unit: int) -> None:
        """Show unit `unit` (also what clicking it in the list does)."""
        self.unit = int(unit)
        self._chosen = True
        self._draw_unit()
        self.unit_selected.emit(self.unit)

    # -- internals --------------------------------------------------------------------
    def refresh(self, corpus: bool = True) -> None:
        now = self._begin_refresh()
        model = self._model
        if model is None or self.tokenizer is None:
            return
        due = self.top is None or now - self._last_corpus >= CORPUS_SECONDS
        if corpus and self.sample_ids is not None and due:
            self._last_corpus = now
            with np.errstate(all="ignore"):
                hidden = model.forward(self.sample_ids).hidden  # (S, T, H)
            self.top = top_activations(hidden, self.sample_ids, TOP_K)
        enc = encode_sentence(self.tokenizer, self.maxlen, self.text)
        real = enc.ids != PAD_ID
        with np.errstate(all="ignore"):
            hidden = model.forward(enc.ids[None, :]).hidden[0]  # (T, H)
        self.tokens = [self.words[t] for t in enc.ids[real]]
        self.activations = hidden[real]  # (n, H)
        strength = unit_strength(hidden, enc.ids)
        order = [int(u) for u in np.argsort(-strength, kind="stable")]
        if not self._chosen:  # until the user picks one, follow the strongest unit
            self.unit = order[0]
        self.unit = min(self.unit, hidden.shape[1] - 1)
        self._fill_list(order, strength)
        self._draw_unit()

    def _fill_list(self, order: list[int], strength: np.ndarray) -> None:
        self.units.blockSignals(True)
        if len(order) != self.units.count():
            self.units.clear()
            for _ in order:
                self.units.addItem(QListWidgetItem())
        for row, u in enumerate(order):
            item = self.units.item(row)
            item.setText(f"unit {u:3d}   swing {strength[u]:.2f}")
            item.setData(Qt.UserRole, u)
            if u == self.unit:
                self.units.setCurrentRow(row)
        self._order = order
        self.units.blockSignals(False)
        self._fit_list_width(*(self.units.item(row).text() for row in range(len(order))))

    def _fit_list_width(self, *texts: str) -> None:
        """Wide enough for the widest text, in the list's own (monospace) font."""
        units = self.units
        units.ensurePolished()  # the style sheet's font is applied on polish
        metrics = units.fontMetrics()
        widest = max((metrics.horizontalAdvance(t) for t in texts), default=0)
        style = units.style()
        margin = style.pixelMetric(QStyle.PM_FocusFrameHMargin, None, units) + 1  # per side
        bar = style.pixelMetric(QStyle.PM_ScrollBarExtent, None, units)
        width = widest + 2 * margin + 2 * units.frameWidth() + bar + metrics.averageCharWidth()
        if width > units.minimumWidth():  # only grow: the list doesn't jitter as swings change
            units.setMinimumWidth(width)

    def _draw_unit(self) -> None:
        if self.activations is None or not len(self.tokens):
            self.strip.setText("<i>no known tokens in the sentence</i>")
            return
        u = self.unit
        acts = self.activations[:, u]
        self.title.setText(
            f"<b>Unit {u}</b> over the sentence at step {self._step:,} "
            f"(red = fires positive, blue = negative)"
        )
        self.strip.set_tokens(self.tokens, acts, 1.0)
        x = np.arange(len(acts), dtype=np.float64)
        brushes = [pg.mkBrush(*c) for c in diverging_colours(acts, 1.0)]
        self.curve.setData(x, acts, symbolBrush=brushes)
        ticks = list(enumerate(self.tokens))[:: max(1, len(self.tokens) // 25)]
        self.plot.getAxis("bottom").setTicks([ticks, []])
        if self.plot.getViewBox().viewRange()[0][1] != max(len(acts) - 0.5, 0.5):
            self.plot.setXRange(-0.5, max(len(acts) - 0.5, 0.5), padding=0)
        self._draw_corpus()

    def _draw_corpus(self) -> None:
        if self.top is None or self.sample_ids is None:
            self.corpus_label.setText("")
            return
        rows, steps, values = self.top
        u = self.unit
        if u >= len(rows):
            return
        parts = []
        for r, t, v in zip(rows[u], steps[u], values[u], strict=True):
            if not np.isfinite(v):
                continue
            ids = self.sample_ids[r]
            before = [self.words[i] for i in ids[max(0, t - CONTEXT) : t] if i != PAD_ID]
            ctx = html.escape(" ".join(before))
            parts.append(
                f"<span style='color:#777'>…{ctx}</span> <b>{html.escape(self.words[ids[t]])}"
                f"</b> <span style='color:#a33'>{v:+.2f}</span>"
            )
        self.corpus_label.setText(
            f"<b>Tokens that drive unit {u} highest</b> (a sample of "
            f"{len(self.sample_ids)} training texts):<br>" + " &nbsp;·&nbsp; ".join(parts)
        )

    def _on_unit_clicked(self, item, _previous=None) -> None:
        if item is not None and item.data(Qt.UserRole) is not None:
            self.select_unit(int(item.data(Qt.UserRole)))


if __name__ == "__main__":
    from gui.panels.insight_preview import preview_trainer
    from gui.preview import run_preview

    app = pg.mkQApp("neurons")
    trainer, _ = preview_trainer()
    panel = NeuronsPanel()
    panel.set_vocabulary(trainer.tokenizer, trainer.maxlen, trainer.train_ids[:300])
    panel.set_text("the film was not good but the music is lovely")
    panel.update_model(trainer.model, trainer.step_count)
    panel.show()
    panel.refresh()
    raise SystemExit(run_preview(panel, (1000, 600)))
