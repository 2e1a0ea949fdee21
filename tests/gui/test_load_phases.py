"""The last phases of a load: the corpus tab's message line between a phase and the notes."""

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject

from gui.panels.corpus import CorpusPanel
from rnnviz.config import Config

pytestmark = pytest.mark.gui


def small_info(warnings: list[str]) -> SimpleNamespace:
    words = ["[PAD]", "[UNK]", "good", "film", "bad"]
    ids = np.array([[0, 0, 2, 3], [0, 0, 4, 3]])
    return SimpleNamespace(
        source="reviews.tsv", config=Config(), vocabulary=None, warnings=warnings,
        class_counts={"neg": 1, "pos": 1}, num_texts=2, num_train=2, num_val=0, words=words,
        token_counts=np.array([0, 0, 1, 2, 1]), maxlen=4, truncated=0,
        lengths=np.array([2, 2]), examples=[("good film", ids[0], "pos")],
    )  # fmt: skip


def test_the_message_shows_the_phase_then_the_runs_warnings(qtbot):
    panel = CorpusPanel()
    qtbot.addWidget(panel)
    panel.set_loading(0.25, "Setting up the views: 1 of 4…")
    panel.set_info(small_info(["line 7: empty text skipped"]))  # one of the set-up's steps
    assert panel.message.text() == "Setting up the views: 1 of 4…"
    assert not panel.progress.isHidden() and panel.progress.maximum() == 1000
    panel.set_loading(1.0)  # the last step ran
    assert panel.progress.isHidden() and panel.message.text() == "line 7: empty text skipped"
    panel.set_info(small_info([]))  # a Reset's run, no phase shown: its own notes at once
    assert panel.message.text() == ""
    panel.show_error("Could not load bad.tsv: it is empty")
    panel.set_loading(1.0)  # a phase's end does not hide why the last load failed
    assert panel.message.text() == "Could not load bad.tsv: it is empty"


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, obj, event) -> bool:
        self.paints += event.type() == QEvent.Paint
        return False


def test_a_progress_step_paints_nothing_at_once(qtbot):
    """QProgressBar.setValue repaints at once, and with it every part of the window that
    waits to be painted (a new run's plots): progress must leave painting to the loop."""
    panel = CorpusPanel()
    qtbot.addWidget(panel)
    panel.resize(800, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_loading(0.1, "Reading…")
    qtbot.wait(50)
    counter = PaintCounter()
    panel.hist_widget.viewport().installEventFilter(counter)
    for step in range(2, 10):
        panel.hist_widget.viewport().update()  # a plot waiting to be painted
        panel.set_loading(step / 10, "Reading…")
    assert counter.paints == 0
    qtbot.waitUntil(lambda: counter.paints > 0, timeout=2000)  # painted by the event loop
