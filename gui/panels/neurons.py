"""Neurons over text: which words make a hidden unit fire, in the spirit of LSTMVis.

The prediction-box sentence is drawn as tokens coloured by the chosen unit's state
h_t[u] (-1..1). The units are listed by how strongly they swing over the sentence,
by their variance over the text (the corpus sample, else the sentence), or by their
largest |correlation| with an output (the class probabilities over the sample; a
language model's ten likeliest next tokens over the sentence): in a saturated network
every unit swings the full 2.00, and only the other two orders tell them apart, so a
language model (its units saturate within a few hundred steps) lists them by correlation
until the user picks an order.
Clicking a unit selects it. The reverse view lists the tokens of a corpus sample that
drive the unit highest (one batched forward pass over the sample, at most once a
second).
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from gui.glyphs import shown_token
from gui.panels.prediction import encode_sentence
from gui.panels.token_strip import ColourBar, TokenStrip, diverging_colours
from gui.widgets import ModelView, cache_static_parts
from rnnviz.insight import (
    top_activations,
    unit_output_correlation,
    unit_strength,
    unit_variance,
)
from rnnviz.losses import softmax
from rnnviz.tokenizer import PAD_ID

SENTENCE_SECONDS = 0.1  # the sentence view: at most 10 times a second
CORPUS_SECONDS = 1.0  # top tokens over the corpus sample: at most once a second
TOP_K = 12
CONTEXT = 3  # tokens of context shown before a top token
SORTS = {  # key: (menu text, list column name)
    "swing": ("swing over the sentence", "swing"),
    "variance": ("variance over the text", "var"),
    "correlation": ("correlation with the output", "|corr|"),
}
SORT_TIPS = {
    "swing": "Units sorted by swing: the spread (max − min) of the unit's state over the "
    "sentence's real tokens; a unit that stays put says nothing about this sentence",
    "variance": "Units sorted by the variance of their state over the text (a sample of "
    "the training texts, else the sentence): the ones that switch often come first",
    "correlation": "Units sorted by their largest |correlation| with an output (a class's "
    "probability, or one of the language model's ten likeliest next tokens): the units "
    "the prediction follows come first",
}
DEFAULT_SORT = {"classify": "swing", "lm": "correlation"}  # until the user picks one
LM_OUTPUTS = 10  # a language model's outputs correlated: its likeliest next tokens


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
        self.sort = QComboBox()
        for key, (text, _) in SORTS.items():
            self.sort.addItem(text, key)
        self.sort.setToolTip("The order of the units in the list")
        self._sort_picked = False  # the user chose an order: kept for the next runs
        self.scores: np.ndarray | None = None  # (H,) the list's sort key per unit
        self._sample_scores: dict | None = None  # variance and correlation over the sample

        self.units = QListWidget()
        self.units.setStyleSheet("font-family: monospace")
        self._fit_list_width("unit 999   |corr| 0.00")  # widened to the real items when filled
        self.units.setToolTip(SORT_TIPS["swing"])
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
        left = QWidget()
        units_col = QVBoxLayout(left)
        units_col.setContentsMargins(0, 0, 0, 0)
        units_col.addWidget(QLabel("Sort units by"))
        units_col.addWidget(self.sort)
        units_col.addWidget(self.units, 1)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([170, 800])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(split)
        self.units.currentItemChanged.connect(self._on_unit_clicked)
        self.sort.currentIndexChanged.connect(self._on_sort_changed)

    # -- public API -------------------------------------------------------------------
    def set_vocabulary(
        self, tokenizer, maxlen: int, sample_ids: np.ndarray | None, task: str = "classify"
    ) -> None:
        """A new run: its tokenizer, padded length, a sample of training rows, its task."""
        if not self._sort_picked:  # the task's default order
            self.sort.blockSignals(True)
            self.sort.setCurrentIndex(self.sort.findData(DEFAULT_SORT[task]))
            self.sort.blockSignals(False)
            self.units.setToolTip(SORT_TIPS[self.sort.currentData()])
        self.tokenizer, self.maxlen = tokenizer, maxlen
        self.words = list(tokenizer.id_to_word)
        self.sample_ids = sample_ids
        self.top, self._model, self._order = None, None, []
        self._sample_scores = None
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
                out = model.forward(self.sample_ids)
            hidden = out.hidden  # (S, T, H)
            self.top = top_activations(hidden, self.sample_ids, TOP_K)
            real = self.sample_ids != PAD_ID  # (S, T)
            # Pre-padded rows: the last step's state is the one the head reads.
            last_proba = out.proba if out.proba.ndim == 2 else out.proba[:, -1]  # (S, C)
            self._sample_scores = {
                "variance": unit_variance(hidden[real]),
                "correlation": unit_output_correlation(hidden[:, -1], last_proba),
            }
        enc = encode_sentence(self.tokenizer, self.maxlen, self.text)
        real = enc.ids != PAD_ID
        with np.errstate(all="ignore"):
            out = model.forward(enc.ids[None, :])
        hidden = out.hidden[0]  # (T, H)
        self.tokens = [shown_token(self.words[t]) for t in enc.ids[real]]
        self.activations = hidden[real]  # (n, H)
        strength = self._scores(hidden, enc.ids)
        order = [int(u) for u in np.argsort(-strength, kind="stable")]
        if not self._chosen:  # until the user picks one, follow the strongest unit
            self.unit = order[0]
        self.unit = min(self.unit, hidden.shape[1] - 1)
        self._fill_list(order, strength)
        self._draw_unit()

    def _scores(self, hidden: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """(H,) the chosen sort key: the sample's when there is one, else the sentence's."""
        key = self.sort.currentData()
        sample = self._sample_scores
        if key == "swing":
            scores = unit_strength(hidden, ids)
        elif sample is not None:
            scores = sample[key]
        elif key == "variance":
            scores = unit_variance(self.activations)
        elif not len(self.activations):
            scores = np.zeros(hidden.shape[1])
        else:  # no sample (a language model): the head's guess after every real token
            # (the window's model of a language model is a classifier on its weights, whose
            # forward gives the last step's output only: the head is applied here)
            params = self._model.params
            with np.errstate(all="ignore"):
                p = softmax(self.activations @ params["W_out"] + params["b_out"])  # (n, V)
            likeliest = np.argsort(-p.mean(axis=0))[:LM_OUTPUTS]  # its ten likeliest outputs
            scores = unit_output_correlation(self.activations, p[:, likeliest])
        self.scores = scores
        return scores

    def _on_sort_changed(self, _index: int) -> None:
        self._sort_picked = True
        self._chosen = False  # follow the top unit of the new order
        self.units.setToolTip(SORT_TIPS[self.sort.currentData()])
        if self._model is not None:
            self.refresh(corpus=False)

    def _fill_list(self, order: list[int], strength: np.ndarray) -> None:
        column = SORTS[self.sort.currentData()][1]
        self.units.blockSignals(True)
        if len(order) != self.units.count():
            self.units.clear()
            for _ in order:
                self.units.addItem(QListWidgetItem())
        for row, u in enumerate(order):
            item = self.units.item(row)
            item.setText(f"unit {u:3d}   {column} {strength[u]:.2f}")
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
            word = shown_token
            before = [word(self.words[i]) for i in ids[max(0, t - CONTEXT) : t] if i != PAD_ID]
            ctx = html.escape(" ".join(before))
            parts.append(
                f"<span style='color:#777'>…{ctx}</span> <b>{html.escape(word(self.words[ids[t]]))}"
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
