"""The Errors tab with thousands of classes: a top-k matrix, never C x C."""

from __future__ import annotations

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
    ticks = panel.plot.getAxis("bottom")._tickLevels[0]
    assert ticks[-1][1] == "other" and ticks[0][1] == "class 0"
    text = panel.summary.text()
    assert "50.0%" in text and "other" in text and "5,000 classes" in text
