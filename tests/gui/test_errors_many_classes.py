"""The Errors tab with thousands of classes: a top-k matrix, never C x C."""

from __future__ import annotations

import itertools

import numpy as np

from gui.panels.errors import MAX_SHOWN, ErrorsPanel


class GuessModel:
    """Predicts class (id + shift) % C with certainty: some right, most wrong."""

    def __init__(self, labels: np.ndarray, num_classes: int) -> None:
        self.labels, self.C = labels, num_classes

    def predict_proba(self, ids: np.ndarray) -> np.ndarray:
        rows = ids[:, 0]
        proba = np.zeros((len(ids), self.C))
        guess = np.where(rows % 2 == 0, self.labels[rows], (self.labels[rows] + 1) % self.C)
        proba[np.arange(len(ids)), guess] = 1.0
        return proba


def test_thousands_of_classes_show_the_most_frequent_and_other(qtbot):
    C, N = 5000, 6000
    rng = np.random.default_rng(0)
    labels = np.concatenate([np.zeros(500, np.int64), np.ones(400, np.int64),
                             rng.integers(2, C, N - 900)])  # fmt: skip
    ids = np.arange(N)[:, None]  # each row's id is its index (the fake model reads it)
    panel = ErrorsPanel()
    qtbot.addWidget(panel)
    panel.set_data([f"class {i}" for i in range(C)], ids, labels, [f"t{i}" for i in range(N)])
    panel.update_model(GuessModel(labels, C), 10)
    panel.refresh()
    assert panel.matrix.shape == (MAX_SHOWN + 1, MAX_SHOWN + 1)
    assert panel.matrix.sum() == N
    assert panel.matrix[0, 0] == 250 and panel.matrix[0, 1] == 250  # class 0: half right
    assert panel._axis_names[0] == "class 0" and panel._axis_names[-1] == "other"
    rows = panel.plot.getAxis("left")._tickLevels[0]  # names (numbered when the columns are)
    assert rows[0][1] in ("class 0", "1 class 0")
    text = panel.summary.text()
    assert "50.0%" in text and "other" in text and "5,000 classes" in text


def test_labels_never_overlap_and_the_colour_bar_is_whole(qtbot):
    """Issue 13: above 10 classes the column names ran into each other, the counts out of
    their cells, and the splitter cut off the colour bar's labels."""
    from PySide6.QtGui import QFont, QFontMetrics

    names = ["automotive", "business", "cooking", "education", "entertainment", "fashion",
             "finance", "gardening", "health", "music", "politics", "science", "sport",
             "technology", "travel", "weather"]  # fmt: skip
    C, N = len(names), 320
    labels = np.arange(N) % C
    panel = ErrorsPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 480)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_data(names, np.arange(N)[:, None], labels, [f"t{i}" for i in range(N)])
    panel.update_model(GuessModel(labels, C), 10)
    panel.refresh()
    qtbot.wait(50)  # the new minimum width is applied after this turn of the event loop
    metrics = QFontMetrics(panel.plot.getAxis("bottom").style["tickFont"] or QFont())
    cell = panel.plot.vb.width() / C
    columns = panel.plot.getAxis("bottom")._tickLevels[0]
    for (x0, a), (x1, _) in itertools.pairwise(columns):
        assert metrics.horizontalAdvance(a) < (x1 - x0) * cell, (a, columns)
    shown = [item.isVisible() for item in panel._cell_texts]
    assert all(shown) == (metrics.horizontalAdvance("888") < cell) and len(set(shown)) == 1
    view = panel.graphics.viewport().width()
    assert panel.graphics.ci.geometry().width() <= view + 1  # nothing cut off at the right
    assert panel.bar.sceneBoundingRect().right() <= view + 1
    # Two classes with room: names under the columns and a count in every cell.
    panel.set_data(["negative", "positive"], np.arange(N)[:, None], labels % 2,
                   [f"t{i}" for i in range(N)])  # fmt: skip
    panel.update_model(GuessModel(labels % 2, 2), 11)
    panel.refresh()
    assert [t for _, t in panel.plot.getAxis("bottom")._tickLevels[0]] == ["negative", "positive"]
    assert all(item.isVisible() for item in panel._cell_texts)
