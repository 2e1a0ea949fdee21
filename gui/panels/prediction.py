"""The prediction box: type a sentence, see its tokens, class probabilities and hidden states.

For a language model: type a prefix, see the top next tokens with their probabilities."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from gui.glyphs import drawable, shown_token
from gui.panels.heatmaps import HeatmapView
from gui.presentation import CLASSIFY_TITLE, presentation_of
from gui.widgets import LightBar

MAX_CLASSES_SHOWN = 12
PAD_ID, UNK_ID = 0, 1
TOP_K = 10  # next tokens listed for a language model
MAX_PREFIX = 2000  # prefix tokens a language model reads (the state carries them all)
PREFIX_ROWS = 48  # prefix tokens shown in the hidden-state heatmap and the token strip
DEFAULT_SENTENCE = "I love deep learning"  # the seed's own example
PREFIX_CHARS = 18  # a language model's example prefix: this many characters of its text


@dataclass(frozen=True)
class Encoded:
    """A sentence as the model sees it."""

    ids: np.ndarray  # (T,) padded ids
    tokens: list[str]  # the tokens the tokenizer produced (before padding/truncation)
    unknown: list[bool]  # token i is out of vocabulary ([UNK])
    truncated: int  # tokens cut off to fit maxlen


def encode_sentence(tokenizer, maxlen: int, text: str) -> Encoded:
    """Tokenise, map to ids ([UNK] for unseen words), keep the last `maxlen`, pre-pad."""
    tokens = tokenizer.tokenize(text)
    vocab = tokenizer.vocab
    unknown = [t not in vocab for t in tokens]
    if getattr(tokenizer, "unknown", "unk") == "drop":
        ids = [vocab[t] for t in tokens if t in vocab]
    else:
        ids = [vocab.get(t, UNK_ID) for t in tokens]
    truncated = max(0, len(ids) - maxlen)
    ids = ids[-maxlen:] if maxlen else []  # the last state reads the end of the text
    out = np.zeros(maxlen, np.int64)
    if ids:
        out[maxlen - len(ids) :] = ids
    return Encoded(out, tokens, unknown, truncated)


class PredictionPanel(QWidget):
    """Re-evaluates the typed sentence whenever new parameters arrive."""

    text_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tokenizer = None
        self.maxlen = 0
        self.class_names: list[str] = []
        self.task = "classify"
        self._bar_names: list[str] | None = None
        self.last_top: list[tuple[str, float]] = []  # lm: (token, probability), best first
        self.head = "softmax"
        self.mask_padding = True
        self._params: dict | None = None
        self.last_proba: np.ndarray | None = None

        self._prefix = ""  # the example prefix put in the box for a language model, if any
        self.title = QLabel(CLASSIFY_TITLE)
        self.input = QLineEdit(DEFAULT_SENTENCE)
        self.input.setPlaceholderText("Type a sentence to classify…")
        self.input.setClearButtonEnabled(True)
        self.tokens_label = QLabel()
        self.tokens_label.setWordWrap(True)
        self.tokens_label.setTextFormat(Qt.RichText)
        self.tokens_label.setMinimumHeight(40)
        self.tokens_label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.bars_widget = QWidget()
        self.bars = QGridLayout(self.bars_widget)
        self.bars.setContentsMargins(0, 0, 0, 0)
        self._bar_rows: list[tuple[QLabel, LightBar, QLabel]] = []
        self.verdict = QLabel()
        self.verdict.setStyleSheet("font-weight: bold")

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.hidden_view = HeatmapView(
            self.graphics.ci,
            "Hidden state h_t (T x H)",
            0,
            0,
            fixed_level=1.0,
        )
        self.graphics.setMinimumHeight(160)
        self.graphics.setMaximumHeight(340)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.input)
        layout.addWidget(self.tokens_label)
        layout.addWidget(self.bars_widget)
        layout.addWidget(self.verdict)
        layout.addWidget(self.graphics, 1)
        layout.addStretch(0)

        self.input.textChanged.connect(self._on_text_changed)

    # -- public API -------------------------------------------------------------------
    def set_info(self, info) -> None:
        """A new run (`RunInfo`): a classifier's classes, or a language model's next
        tokens after a prefix (its own text's first characters, not the example sentence)."""
        p = presentation_of(info)
        self.title.setText(p.prediction_title)
        self._swap_example_text(info)
        if p.lm:
            self.set_language_model(info.tokenizer)
        else:
            cfg = info.config
            self.set_model_info(info.tokenizer, info.maxlen, info.label_names, cfg.head,
                                cfg.mask_padding)  # fmt: skip

    def set_model_info(
        self,
        tokenizer,
        maxlen: int,
        class_names: list[str],
        head: str = "softmax",
        mask_padding: bool = True,
    ) -> None:
        """What is needed to encode text and read the output (after a load or reset)."""
        self.tokenizer, self.maxlen = tokenizer, maxlen
        self.head, self.mask_padding = head, mask_padding
        self.task = "classify"
        self.input.setPlaceholderText("Type a sentence to classify…")
        self.class_names = list(class_names)
        self._build_bars(self.class_names[:MAX_CLASSES_SHOWN])
        self._params = None
        self._refresh()

    def set_language_model(self, tokenizer, top_k: int = TOP_K) -> None:
        """Language-model mode: the typed prefix's most likely next tokens."""
        self.tokenizer, self.maxlen, self.task = tokenizer, MAX_PREFIX, "lm"
        self.class_names = []
        self.input.setPlaceholderText("Type a prefix: which token comes next?")
        self._build_bars(["–"] * top_k)
        self._params = None
        self._refresh()

    def set_mask_padding(self, mask_padding: bool) -> None:
        self.mask_padding = mask_padding
        self._refresh()

    def update_params(self, params: dict) -> None:
        """New read-only parameter copies from a snapshot: re-evaluate the sentence."""
        if params:
            self._params = params
            self._refresh()

    # -- internals --------------------------------------------------------------------
    def _swap_example_text(self, info) -> None:
        """The classifier's example sentence makes a dull prefix: start a language model
        with the first characters of its own text, cut mid-word (and put it back after)."""
        box = self.input
        if info.config.task == "lm" and box.text() == DEFAULT_SENTENCE and info.examples:
            self._prefix = info.examples[0][0][:PREFIX_CHARS] if info.config.level == "char" else ""
            if self._prefix.strip():
                box.setText(self._prefix)
        elif info.config.task != "lm" and self._prefix and box.text() == self._prefix:
            box.setText(DEFAULT_SENTENCE)

    def _build_bars(self, names: list[str]) -> None:
        if names == self._bar_names:
            return
        self._bar_names = list(names)
        for row in self._bar_rows:
            for w in row:
                w.deleteLater()
        self._bar_rows = []
        for i, name in enumerate(names):
            label, bar, value = QLabel(drawable(name)), LightBar(14), QLabel("–")
            label.setMinimumWidth(24)
            value.setMinimumWidth(48)
            value.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.bars.addWidget(label, i, 0)
            self.bars.addWidget(bar, i, 1)
            self.bars.addWidget(value, i, 2)
            self._bar_rows.append((label, bar, value))

    def _on_text_changed(self, text: str) -> None:
        self._refresh()
        self.text_changed.emit(text)

    def _refresh(self) -> None:
        text = self.input.text()
        if self.tokenizer is None or not self.maxlen:
            self.tokens_label.setText("<i>Load a corpus to start.</i>")
            return
        if self.task == "lm":
            self._refresh_lm(text)
            return
        enc = encode_sentence(self.tokenizer, self.maxlen, text)
        self.tokens_label.setText(_tokens_html(enc))
        if self._params is None or not text.strip():
            self.last_proba = None
            self.verdict.setText("")
            for _label, bar, value in self._bar_rows:
                bar.set_fraction(0.0)
                value.setText("–")
            return
        from rnnviz.model import RNNClassifier

        model = RNNClassifier.from_params(self._params, self.head, self.mask_padding)
        with np.errstate(all="ignore"):  # diverged weights: show NaN, do not raise
            out = model.forward(enc.ids[None, :])
        proba = out.proba[0]  # (C,)
        if not np.all(np.isfinite(proba)):
            self.last_proba = None
            self.verdict.setText("→ not a number: the weights diverged (Reset)")
            return
        self.last_proba = proba
        for (_label, bar, value), p in zip(self._bar_rows, proba, strict=False):
            bar.set_fraction(float(p))
            value.setText(f"{p:.1%}")
        best = int(np.argmax(proba))
        name = self.class_names[best] if best < len(self.class_names) else str(best)
        self.verdict.setText(f"→ {drawable(name)}  ({proba[best]:.1%})")
        hidden = out.hidden[0]  # (T, H)
        first = int(np.argmax(enc.ids != PAD_ID)) if (enc.ids != PAD_ID).any() else len(enc.ids)
        start = first if self.mask_padding else 0
        start = min(start, len(enc.ids) - 1)
        words = self.tokenizer.id_to_word
        labels = ["·" if t == PAD_ID else drawable(words[t]) for t in enc.ids[start:]]
        self.hidden_view.set_data(hidden[start:], row_labels=labels)

    def _refresh_lm(self, text: str) -> None:
        tokens = self.tokenizer.tokenize(text)[-MAX_PREFIX:]
        vocab = self.tokenizer.vocab
        known = [t in vocab for t in tokens]
        self.tokens_label.setText(_prefix_html(tokens, known))
        ids = np.array([vocab.get(t, UNK_ID) for t in tokens], np.int64)
        if self._params is None or not len(ids):
            self._clear_bars()
            return
        from rnnviz.language_model import RNNLanguageModel

        model = RNNLanguageModel.from_params(self._params)
        with np.errstate(all="ignore"):  # diverged weights: show NaN, do not raise
            out = model.forward(ids[None, :])
        proba = out.proba[0, -1].astype(np.float64)  # (V,) the token after the prefix
        if not np.all(np.isfinite(proba)):
            self._clear_bars()
            self.verdict.setText("→ not a number: the weights diverged (Reset)")
            return
        self.last_proba = proba
        k = min(len(self._bar_rows), len(proba))
        top = np.argsort(-proba, kind="stable")[:k]
        words = self.tokenizer.id_to_word
        self.last_top = [(words[i], float(proba[i])) for i in top]
        for (label, bar, value), (word, p) in zip(self._bar_rows, self.last_top, strict=False):
            label.setText(html.escape(shown_token(word)))
            bar.set_fraction(p)
            value.setText(f"{p:.1%}")
        best, p_best = self.last_top[0]
        held = sum(p for _, p in self.last_top)
        self.verdict.setText(f"→ {shown_token(best)}  ({p_best:.1%}; top {k} hold {held:.0%})")
        rows = ids[-PREFIX_ROWS:]
        labels = [shown_token(words[t]) if t != UNK_ID else "[UNK]" for t in rows]
        self.hidden_view.set_data(out.hidden[0][-PREFIX_ROWS:], row_labels=labels)

    def _clear_bars(self) -> None:
        self.last_proba = None
        self.last_top = []
        self.verdict.setText("")
        for _label, bar, value in self._bar_rows:
            bar.set_fraction(0.0)
            value.setText("–")


def _prefix_html(tokens: list[str], known: list[bool]) -> str:
    """A language model's prefix, its last PREFIX_ROWS tokens, spaces and newlines shown."""
    if not tokens:
        return "<i>Type a prefix.</i>"
    parts = []
    for token, ok in zip(tokens[-PREFIX_ROWS:], known[-PREFIX_ROWS:], strict=True):
        t = html.escape(shown_token(token))
        style = "background:#e2ecf7" if ok else "background:#f8d7da;color:#842029"
        parts.append(f"<span style='{style}'>{t}</span>")
    cut = len(tokens) - PREFIX_ROWS
    head = f"<span style='color:#777'>… {cut} before </span>" if cut > 0 else ""
    return head + "&#8203;".join(parts)  # zero-width spaces: the strip may wrap anywhere


def _tokens_html(enc: Encoded) -> str:
    if not enc.tokens:
        return "<i>no tokens</i>"
    parts = []
    for token, unk in zip(enc.tokens, enc.unknown, strict=True):
        t = html.escape(drawable(token))
        if unk:
            parts.append(
                f"<span style='background:#f8d7da;color:#842029' title='not in vocabulary'>"
                f"{t}&nbsp;→&nbsp;[UNK]</span>"
            )
        else:
            parts.append(f"<span style='background:#e2ecf7'>{t}</span>")
    n_real = int((enc.ids != PAD_ID).sum())
    tail = f"  <span style='color:#777'>+{len(enc.ids) - n_real} [PAD] before</span>"
    if enc.truncated:
        tail += f"  <span style='color:#842029'>({enc.truncated} cut to fit T)</span>"
    return " ".join(parts) + tail


if __name__ == "__main__":
    from types import SimpleNamespace

    from gui.panels.heatmaps import synthetic_snapshot
    from gui.preview import run_preview

    app = pg.mkQApp("prediction")
    words = ["[PAD]", "[UNK]"] + [f"w{i}" for i in range(58)] + ["good", "movie"]
    vocab = {w: i for i, w in enumerate(words[:60])}
    tok = SimpleNamespace(tokenize=lambda s: s.lower().split(), vocab=vocab, id_to_word=words)
    panel = PredictionPanel()
    panel.set_model_info(tok, 12, ["negative", "positive"])
    panel.update_params(synthetic_snapshot().params)
    panel.input.setText("w3 w7 good w12 zebra")
    raise SystemExit(run_preview(panel, (420, 500)))
