"""The language-model task in the window: the live sample box and the views' units.

The window calls `set_info` after its own (classifier-minded) set-up of a new run and
`update_snapshot` with each captured snapshot; for a language model this switches the
curves to bits per character, labels heatmaps by visible tokens, turns the prediction
box into a next-token view and feeds the sample box. It also handles the task switch
(controls) and the "this file is plain text" answer of a classification load.
"""

from __future__ import annotations

import html
import math

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gui.panels.sample_text import SampleTextPanel
from gui.tasks import config_for_task, loss_unit, visible_token, visible_words

PREFIX_CHARS = 18  # the example prefix: this many characters of the text
MAX_COLUMN_LABELS = 120  # label W_out's columns by token when V is at most this
CLASSIFY_ONLY_TABS = ("errors",)  # insight tabs hidden for a language model
CLASSIFY_TITLE = "<b>Try a sentence</b> (re-evaluated as it trains)"
LM_TITLE = "<b>Next token</b> after a prefix (re-evaluated as it trains)"


class LanguageModelMode(QObject):
    """Owns the sample box; adapts the shared views when the run is a language model."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.task = "classify"
        self._scale, self._unit = 1.0, ""  # the loss's display unit (see gui.tasks.loss_unit)
        self._prefix = ""  # the example prefix put in the prediction box, if any
        self.pinned: dict = {}  # settings a task switch keeps (given on the command line)
        self.auto_source = ""  # plain text that switched to the language model by itself
        self.sample_panel = SampleTextPanel()
        self.sample_box = QWidget()
        layout = QVBoxLayout(self.sample_box)
        layout.setContentsMargins(0, 0, 0, 6)
        layout.addWidget(QLabel("<b>Live sample</b> (regenerated as it trains)"))
        layout.addWidget(self.sample_panel, 1)
        self.sample_box.setVisible(False)
        self.prediction_title = QLabel(CLASSIFY_TITLE)

        window.controls.task_changed.connect(self._on_task_changed)
        window.worker.plain_text_found.connect(self._on_plain_text)

    # -- hooks the window calls ----------------------------------------------------------
    def set_info(self, info) -> None:
        """A new run: adapt the views to its task (after the window's own set-up)."""
        w = self.window
        self.task = info.config.task
        lm = self.task == "lm"
        self.sample_box.setVisible(lm)
        self.prediction_title.setText(LM_TITLE if lm else CLASSIFY_TITLE)
        self._swap_example_text(info)
        for name in CLASSIFY_ONLY_TABS:  # a confusion matrix of 40-odd "classes": no
            panel = w.insight.panels.get(name)
            if panel is not None and w.tabs.indexOf(panel) >= 0:
                w.tabs.setTabVisible(w.tabs.indexOf(panel), not lm)
        w.heatmaps.views["W_out"].title = "W_out (H x V)" if lm else "W_out (H x C)"
        self._scale, self._unit = 1.0, ""
        if not lm:
            return
        scale, unit, reference = loss_unit(info.config, len(info.words))
        self._scale, self._unit = scale, ("bits/char" if info.config.level == "char" else "")
        bits = info.config.level == "char"
        label = f"log2 V = {reference:.2f} (uniform guess)" if bits else "ln V (uniform guess)"
        w.curves.set_units(scale, unit, reference, label, "Next-token accuracy")
        shown = visible_words(info.words)
        columns = shown if len(shown) <= MAX_COLUMN_LABELS else []
        probes = [visible_token(t) for t in info.probe_texts]
        w.heatmaps.set_vocabulary(shown, info.token_counts, probes, columns)
        w.prediction.set_language_model(info.tokenizer)
        self.sample_panel.set_tokenizer(info.tokenizer)

    def update_snapshot(self, snapshot) -> None:
        """A captured snapshot: the sample box samples from its parameter copies."""
        if self.task == "lm" and snapshot.params:
            self.sample_panel.set_params(snapshot.params, snapshot.step)
            frame = self.window.last_frame
            if frame is not None and not frame.running and self.sample_panel.isVisible():
                self.sample_panel.refresh()  # paused or stepping: show the new weights now

    def _swap_example_text(self, info) -> None:
        """The classifier's example sentence makes a dull prefix: start a language model
        with the first words of its own text, cut mid-word (and put it back after)."""
        from gui.window import DEFAULT_SENTENCE

        box = self.window.prediction.input
        if info.config.task == "lm" and box.text() == DEFAULT_SENTENCE and info.examples:
            self._prefix = info.examples[0][0][:PREFIX_CHARS] if info.config.level == "char" else ""
            if self._prefix.strip():
                box.setText(self._prefix)
        elif info.config.task != "lm" and self._prefix and box.text() == self._prefix:
            box.setText(DEFAULT_SENTENCE)

    def shutdown(self) -> None:
        """End the sample box's thread (the window is closing)."""
        self.sample_panel.shutdown()

    def format_loss(self, loss: float) -> str:
        """A loss for the status bar: nats, or bits per character for a char-level LM."""
        if not math.isfinite(loss):
            return str(loss)
        if self._unit:
            return f"{loss * self._scale:.4f} {self._unit}"
        return f"{loss:.4f}"

    # -- handlers -----------------------------------------------------------------------
    def config_for_source(self, source: str, config):
        """The settings to open `source` with: a labelled file after plain text had
        switched to the language model by itself is classified again (it is tried so,
        and plain text switches back); a task the user chose is kept."""
        if not self.auto_source or source == self.auto_source or config.task != "lm":
            return config
        self.auto_source = ""
        config = config_for_task(config, "classify").replace(**self.pinned)
        self.window.controls.set_config(config, applied=False)
        return config

    def _on_task_changed(self, task: str) -> None:
        w = self.window
        self.auto_source = ""  # the user's own choice from now on
        if self.pinned:
            w.controls.set_config(w.controls.config().replace(**self.pinned), applied=False)
        if w.source:
            w.diverged_message = ""
            w.load_source(w.source)  # the corpus is read anew for the task, fresh weights

    def _on_plain_text(self, source: str, message: str) -> None:
        """A classification load met plain text: switch to the language model, say so."""
        w = self.window
        config = config_for_task(w.controls.config(), "lm").replace(**self.pinned)
        w.controls.set_config(config, applied=False)
        self.auto_source = source
        w.load_source(source)
        w.message.show_message(
            f"{html.escape(source)} is plain text, so it was opened for the "
            "<b>language-model</b> task (predict the next character). Choose Task › "
            "Classify and a labelled corpus (tsv, csv, folders) to classify texts.",
            "info",
        )
