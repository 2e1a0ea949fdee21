"""Why this prediction: each token's share in the answer, live as the network trains.

Three readings of the prediction-box sentence, drawn over its tokens:
- gradient x input on the embedded inputs (one forward + backward pass);
- occlusion with [UNK]: how the predicted class's probability drops when the token
  is replaced by [UNK];
- occlusion by dropping: the same with the token removed and the row re-padded.
Both occlusions for all tokens come from one batched forward pass (rnnviz.insight).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from gui.glyphs import shown_token
from gui.panels.heatmaps import nice_ceiling
from gui.panels.prediction import encode_sentence
from gui.panels.token_strip import ColourBar, TokenStrip
from gui.widgets import ModelView, cache_static_parts
from rnnviz.insight import gradient_x_input, occlusion

MIN_SECONDS = 0.1  # recompute at most this often while training
SERIES = (  # key, title, bar colour
    ("gxi", "gradient × input", (70, 110, 180)),
    ("unk", "occlusion: replaced by [UNK]", (230, 130, 40)),
    ("drop", "occlusion: dropped", (90, 160, 90)),
)


class SaliencePanel(ModelView):
    """Token salience of one sentence under the latest parameters."""

    refresh_seconds = MIN_SECONDS

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tokenizer = None
        self.maxlen = 0
        self.class_names: list[str] = []
        self.words: list[str] = []
        self.text = ""
        self.result: dict | None = None  # the last computed values (tests, export)

        self.verdict = QLabel("<i>Load a corpus and type a sentence in the prediction box.</i>")
        self.verdict.setWordWrap(True)
        grid = QGridLayout()
        self.strips: dict[str, TokenStrip] = {}
        self.bars: dict[str, ColourBar] = {}
        for row, (key, title, _colour) in enumerate(SERIES):
            caption = QLabel(f"<b>{title}</b>")
            bar = ColourBar(1.0, "Δ score" if key == "gxi" else "Δ p(class)")
            strip = TokenStrip(17)
            grid.addWidget(caption, 2 * row, 0)
            grid.addWidget(bar, 2 * row, 1)
            grid.addWidget(strip, 2 * row + 1, 0, 1, 2)
            self.strips[key], self.bars[key] = strip, bar
        grid.setColumnStretch(0, 1)
        help_text = QLabel(
            "Red: the token pushes towards the predicted class; blue: against it. Gradient × "
            "input explains log p(class) (the logit for the tanh head); occlusion shows how "
            "p(class) drops without the token. All variants run in one batched forward pass."
        )
        help_text.setWordWrap(True)
        help_text.setStyleSheet("color: #555")

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.plot: pg.PlotItem = self.graphics.addPlot(title="Share of the answer per token")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.disableAutoRange()
        self.plot.showGrid(y=True, alpha=0.3)
        self.plot.setLabel("left", "share (Σ|v| = 1 per method)")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.addLegend(offset=(10, 2), colCount=3)
        self.bar_items: dict[str, pg.BarGraphItem] = {}
        for i, (key, title, colour) in enumerate(SERIES):
            item = pg.BarGraphItem(x=[], height=[], width=0.26, brush=colour, name=title)
            item.offset = (i - 1) * 0.28
            self.plot.addItem(item)
            self.bar_items[key] = item
        self.plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#999")))
        cache_static_parts(self.plot)
        self._range: tuple | None = None
        self._ticks_tokens: list[str] | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.verdict)
        layout.addLayout(grid)
        layout.addWidget(help_text)
        layout.addWidget(self.graphics, 1)

    # -- public API -------------------------------------------------------------------
    def set_vocabulary(self, tokenizer, maxlen: int, class_names: list[str]) -> None:
        """Encoding and class names of a new run."""
        self.tokenizer, self.maxlen = tokenizer, maxlen
        self.class_names = list(class_names)
        self.words = list(tokenizer.id_to_word) if tokenizer is not None else []
        self._model = None
        self.result = None

    def set_text(self, text: str) -> None:
        """The sentence to explain (the prediction box's text)."""
        self.text = text
        self._pending = True
        if self.isVisible():
            self.refresh()

    # -- internals --------------------------------------------------------------------
    def refresh(self) -> None:
        """Compute and draw now."""
        self._begin_refresh()
        model = self._model
        if model is None or self.tokenizer is None or not self.text.strip():
            return
        enc = encode_sentence(self.tokenizer, self.maxlen, self.text)
        ids = enc.ids
        with np.errstate(all="ignore"):
            gxi, _ = gradient_x_input(model, ids[None, :])
            occ = occlusion(model, ids)
        if not np.isfinite(occ.base):
            self.verdict.setText("The weights diverged: nothing to explain (Reset).")
            return
        pos = occ.positions
        tokens = _display_tokens(enc, ids[pos], self.words)
        values = {"gxi": gxi[0, pos], "unk": occ.unk, "drop": occ.drop}
        self.result = {"tokens": tokens, "predicted": occ.predicted, **values}
        name = self.class_names[occ.predicted] if occ.predicted < len(self.class_names) else "?"
        self.verdict.setText(
            f"Explaining <b>→ {name}</b> (p = {occ.base:.1%}) at step {self._step:,}: "
            f"{len(tokens)} tokens, {1 + 2 * len(tokens)} variants in one forward pass"
        )
        occ_level = nice_ceiling(
            max(np.abs(occ.unk).max(initial=0), np.abs(occ.drop).max(initial=0))
        )
        for key, v in values.items():
            level = nice_ceiling(np.abs(v).max(initial=0)) if key == "gxi" else occ_level
            self.strips[key].set_tokens(tokens, v, level)
            self.bars[key].set_level(level)
        self._draw_bars(tokens, values)

    def _draw_bars(self, tokens: list[str], values: dict[str, np.ndarray]) -> None:
        x = np.arange(len(tokens), dtype=np.float64)
        peak = 0.0
        for key, item in self.bar_items.items():
            v = values[key]
            share = v / max(float(np.abs(v).sum()), 1e-12)
            peak = max(peak, float(np.abs(share).max(initial=0)))
            item.setOpts(x=x + item.offset, height=share)
        if tokens != self._ticks_tokens:
            self._ticks_tokens = tokens
            every = max(1, len(tokens) // 30)
            self.plot.getAxis("bottom").setTicks([list(enumerate(tokens))[::every], []])
        top = nice_ceiling(peak * 1.05) if peak > 0 else 1.0
        wanted = (len(tokens), top)
        if wanted != self._range:  # ranges move rarely: re-laying axes is the costly part
            self._range = wanted
            self.plot.setXRange(-0.6, max(len(tokens), 1) - 0.4, padding=0)
            self.plot.setYRange(-top, top * 1.25, padding=0.02)  # room for the legend


def _display_tokens(enc, ids: np.ndarray, words: list[str]) -> list[str]:
    """The words of the real ids, spaces and newlines made visible (␣, ⏎); an [UNK]
    shows the typed word it stands for."""
    shown = [shown_token(words[t]) if t < len(words) else "?" for t in ids]
    typed = enc.tokens[-len(ids) :] if len(ids) else []
    if len(typed) == len(ids):  # [UNK] kept in place (not dropped): align with the text
        shown = [f"{w}→[UNK]" if t == 1 else s for s, w, t in zip(shown, typed, ids, strict=True)]
    return shown


if __name__ == "__main__":
    from gui.panels.insight_preview import preview_model
    from gui.preview import run_preview

    app = pg.mkQApp("salience")
    model, tok, names = preview_model()
    panel = SaliencePanel()
    panel.set_vocabulary(tok, 20, names)
    panel.set_text("a warm and wonderful film , not a dull moment")
    panel.update_model(model, 300)
    panel.show()
    panel.refresh()
    raise SystemExit(run_preview(panel, (900, 600)))
