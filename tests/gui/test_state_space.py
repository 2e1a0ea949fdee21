"""The State space tab in the real window: trained by the real worker, used as a user would."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from tests.gui.test_insight_panels import assert_meaningful, show, step, train

pytestmark = pytest.mark.gui


def test_state_space_draws_the_dynamics_and_follows_training(qtbot, make_window):
    window = make_window()
    train(qtbot, window)
    panel = show(qtbot, window, "state_space")
    qtbot.waitUntil(lambda: panel.result is not None, timeout=20000)
    space = panel.result.space
    H = window.info.config.hidden_size
    assert len(panel.coords) == len(space.visited_states) > 100
    assert len(panel.fixed.data) == len(space.fixed) >= 1
    assert len(panel.finals.data) == len(panel.ids)  # one final state per text
    assert panel.readout_head.isVisible() and "readout" in panel.readout_text.textItem.toPlainText()
    re, im = panel.eigen_dots.getData()
    assert len(re) == H and np.allclose(np.sort(np.abs(re + 1j * im))[::-1],
                                        np.abs(space.fixed.eigenvalues[0]))  # fmt: skip
    assert "fixed/slow points" in panel.summary.text()
    assert_meaningful(panel)

    window.prediction.input.setText("the show was lovely")
    qtbot.waitUntil(lambda: len(panel.highlight) == 4, timeout=5000)
    shown = [item.textItem.toPlainText() for item in panel.token_texts if item.isVisible()]
    assert shown == ["the", "show", "was", "lovely"]

    # Hover a visited state with the mouse: its token is named.
    vb = panel.plot.vb
    target = panel.coords[len(panel.coords) // 2]
    where = panel.graphics.mapFromScene(vb.mapViewToScene(QPointF(*target)))
    qtbot.mouseMove(panel.graphics.viewport(), where)
    qtbot.waitUntil(lambda: "<b>" in panel.hover_label.text(), timeout=5000)
    assert len(panel.marker.data) == 1

    # A word's change along the readout, typed into its box.
    panel.token_edit.clear()
    qtbot.keyClicks(panel.token_edit, "lovely")
    qtbot.keyClick(panel.token_edit, Qt.Key_Return)
    assert "<b>lovely</b>" in panel.effect_label.text()
    assert len(panel.effect) == len(space.fixed) and np.all(np.isfinite(panel.effect))
    panel.token_edit.clear()
    qtbot.keyClicks(panel.token_edit, "qwzx")
    qtbot.keyClick(panel.token_edit, Qt.Key_Return)
    assert "not in the vocabulary" in panel.effect_label.text()

    # Recomputed from the next snapshot, off the GUI thread.
    qtbot.wait(1100)  # the view refreshes at most once a second
    n = step(qtbot, window)
    qtbot.waitUntil(lambda: panel.result.step == n, timeout=20000)
    assert panel.result.space is not space


def test_state_space_explains_itself_for_a_language_model(qtbot, make_window):
    window = make_window(source="sample:prose")
    panel = show(qtbot, window, "state_space")
    assert "needs a classifier" in panel.summary.text()
    assert panel.result is None
