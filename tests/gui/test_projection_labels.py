"""The projection's word labels: placed greedily in order of frequency, none covering
another, also in a dense centre (they piled up there)."""

import gc
import itertools

import numpy as np
import pytest

from gui.panels.projection import LABELS, ProjectionPanel, free_boxes
from rnnviz.model import RNNClassifier

pytestmark = pytest.mark.gui


@pytest.fixture
def make_panel(qtbot):
    """A shown ProjectionPanel of 700 x 500; freed at the end of its test (the panel and
    its hover helper refer to each other: left to a later garbage collection, it was freed
    in the middle of the next test's paint, and that crashed)."""
    panels = []

    def factory() -> ProjectionPanel:
        panel = ProjectionPanel()
        qtbot.addWidget(panel)
        panel.resize(700, 500)
        panels.append(panel)
        return panel

    yield factory
    for panel in panels:
        panel.close()
    panels.clear()
    gc.collect()


def test_free_boxes_takes_each_box_that_covers_none_taken_before():
    boxes = np.array([
        [0, 0, 10, 10],  # taken
        [5, 5, 15, 15],  # covers the first
        [10, 0, 20, 10],  # touches it only
        [12, 8, 18, 20],  # covers the third
        [0, 10, 10, 20],  # below the first
    ], float)  # fmt: skip
    assert free_boxes(boxes, 10) == [0, 2, 4]
    assert free_boxes(boxes, 2) == [0, 2]
    assert free_boxes(np.zeros((0, 4)), 5) == []


def dense_model(V: int) -> RNNClassifier:
    """An embedding whose rows mostly sit in a tight cluster, a few far out."""
    model = RNNClassifier(V, 8, 8, 2, seed=0)
    rng = np.random.default_rng(0)
    rows = rng.normal(0.0, 0.02, (V, 8))
    rows[2:10] += rng.normal(0.0, 1.0, (8, 8))  # the eight commonest words far out
    model.params["embedding"][...] = rows
    return model


def test_drawn_labels_never_overlap_in_a_dense_centre(qtbot, make_panel):
    V = 150
    words = ["[PAD]", "[UNK]"] + [f"word{i}" for i in range(2, V)]
    counts = np.concatenate([[0, 0], np.arange(V - 2, 0, -1)])  # commonest first
    panel = make_panel()
    panel.set_vocabulary(words, counts, ["negative", "positive"])
    panel.show()
    qtbot.waitExposed(panel)
    panel.update_model(dense_model(V), 1)
    qtbot.waitUntil(lambda: len(panel.labelled) > 8, timeout=5000)
    qtbot.wait(100)  # drawn, with the labels' transforms set
    shown = [item for item in panel.texts if item.isVisible()]
    assert len(shown) == len(panel.labelled) < LABELS  # the dense centre keeps some out
    assert panel.labelled[:8] == list(range(8))  # the commonest, out in the open, all get one
    assert panel.labelled == sorted(panel.labelled)  # in order of frequency
    for a, b in itertools.combinations(shown, 2):
        ra, rb = a.sceneBoundingRect(), b.sceneBoundingRect()
        assert not ra.intersects(rb), (a.toPlainText(), b.toPlainText())
    # A narrower plot: placed again, still without overlaps.
    before = list(panel.labelled)
    panel.resize(350, 300)
    qtbot.waitUntil(lambda: panel.labelled != before, timeout=5000)
    qtbot.wait(100)
    shown = [item for item in panel.texts if item.isVisible()]
    for a, b in itertools.combinations(shown, 2):
        assert not a.sceneBoundingRect().intersects(b.sceneBoundingRect())


def test_a_language_model_labels_spaces_and_newlines_visibly(qtbot, make_panel):
    """Characters: a space or newline label was blank (and took a place)."""
    from gui.glyphs import shown_token

    words = ["[PAD]", "[UNK]", " ", "\n", "<", "e", "t"]
    counts = np.array([0, 0, 50, 40, 30, 20, 10])
    panel = make_panel()
    panel.set_vocabulary(words, counts, [])
    panel.show()
    qtbot.waitExposed(panel)
    model = RNNClassifier(len(words), 8, 8, 2, seed=1)
    model.params["embedding"][...] = np.random.default_rng(1).normal(0, 1, (len(words), 8))
    panel.update_model(model, 1)
    qtbot.waitUntil(lambda: len(panel.labelled) == 5, timeout=5000)
    texts = {item.toPlainText() for item in panel.texts if item.isVisible()}
    assert texts == {shown_token(" "), shown_token("\n"), "<", "e", "t"}, texts
    assert shown_token(" ") != " " and shown_token("\n") != "\n"
    panel.show_neighbours(2)  # "<" in rich text: escaped
    assert panel.hover_label.text().startswith("<b>&lt;</b>: nearest by cosine")
