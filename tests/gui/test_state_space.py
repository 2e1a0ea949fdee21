"""The State space tab in the real window: trained by the real worker, used as a user would."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QThread

from tests.gui.test_insight_panels import assert_meaningful, click, show, train

pytestmark = pytest.mark.gui


def test_state_space_draws_the_dynamics_and_follows_training(qtbot, make_window):
    window = make_window()
    train(qtbot, window)
    panel = show(qtbot, window, "state_space")
    # Settled on the last frame's weights: a later refresh would move the states away
    # from under the mouse.
    last = window.last_frame.snapshot.step
    qtbot.waitUntil(lambda: panel.result is not None and panel.result.step == last
                    and not panel.busy(), timeout=20000)  # fmt: skip
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

    # Recomputed from new snapshots, off the GUI thread; the newest is always analysed,
    # even when it arrives while an analysis runs or before the view is due again.
    assert panel.worker.ran_on is panel.thread and panel.thread is not QThread.currentThread()
    qtbot.wait(1100)  # the view refreshes at most once a second
    n = window.train_history.total + 2
    click(qtbot, window.controls.step_button)
    click(qtbot, window.controls.step_button)  # arrives while the first is analysed
    qtbot.waitUntil(lambda: window.train_history.total == n, timeout=5000)
    qtbot.waitUntil(lambda: panel.result.step == n and not panel.busy(), timeout=20000)
    assert panel.result.space is not space


def test_state_space_of_an_lstm(qtbot, make_window):
    """Cell lstm (Model form, reset): the tab analyses [h, c] and says so; a word's effect."""
    window = make_window()
    window.controls.cell.setCurrentText("lstm")
    click(qtbot, window.controls.banner_reset)
    qtbot.waitUntil(lambda: window.info.config.cell == "lstm", timeout=5000)
    train(qtbot, window)
    panel = show(qtbot, window, "state_space")
    qtbot.waitUntil(lambda: panel.result is not None and panel.result.space is not None,
                    timeout=20000)  # fmt: skip
    assert not panel.result.error
    space = panel.result.space
    H = window.info.config.hidden_size
    assert space.visited_states.shape[1] == 2 * H and len(space.fixed) >= 1
    assert np.all(space.readout[H:] == 0) and np.any(space.readout[:H] != 0)
    assert "[h, c]" in panel.summary.text() and "fixed/slow points" in panel.summary.text()
    re, _ = panel.eigen_dots.getData()
    assert len(re) == 2 * H
    assert panel.readout_head.isVisible()
    assert_meaningful(panel)
    window.prediction.input.setText("the show was lovely")
    qtbot.waitUntil(lambda: len(panel.highlight) == 4, timeout=5000)
    panel.token_edit.clear()
    qtbot.keyClicks(panel.token_edit, "lovely")
    qtbot.keyClick(panel.token_edit, Qt.Key_Return)
    assert "<b>lovely</b>" in panel.effect_label.text() and "logit gap" in panel.effect_label.text()
    assert len(panel.effect) == len(space.fixed) and np.all(np.isfinite(panel.effect))


def test_state_space_explains_itself_for_a_language_model(qtbot, make_window):
    window = make_window(source="sample:prose")
    panel = show(qtbot, window, "state_space")
    assert "needs a classifier" in panel.summary.text()
    assert panel.result is None


def test_the_newest_parameters_are_always_analysed(qtbot):
    """Models that arrive while an analysis runs, before the view is due, are not lost."""
    from gui.eval_data import eval_data
    from gui.panels.state_space import StateSpacePanel
    from rnnviz.config import Config
    from rnnviz.data import load_corpus
    from rnnviz.model import RNNClassifier
    from rnnviz.trainer import Trainer

    trainer = Trainer(
        load_corpus("sample:sentiment"), Config(epochs=0, hidden_size=16, embed_dim=8)
    )
    models = []
    for _ in range(3):
        for _ in range(5):
            trainer.step()
        models.append(RNNClassifier.from_params(dict(trainer.model.params.items())))
    panel = StateSpacePanel()
    qtbot.addWidget(panel)
    panel.show()
    try:
        panel.set_data(trainer.tokenizer, trainer.maxlen, trainer.label_names, eval_data(trainer))
        panel.update_model(models[0], 5)  # the first: analysed at once
        assert panel.busy()
        panel.update_model(models[1], 10)  # while it runs, and not due
        panel.update_model(models[2], 15)
        qtbot.waitUntil(lambda: panel.result is not None and not panel.busy(), timeout=20000)
        assert panel.result.step == 15
    finally:
        assert panel.shutdown()
