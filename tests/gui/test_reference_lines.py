"""Issue 12 in the window: baselines on the accuracy plot, class names, the status bar."""

import pytest
from PySide6.QtCore import Qt

from rnnviz.config import Config

pytestmark = pytest.mark.gui


def test_baselines_drawn_and_status_bar_names_both_losses(qtbot, make_window):
    window = make_window(Config(epochs=0, eval_every=5))
    lines = window.curves.baseline_lines
    baselines = window.info.baselines
    assert set(baselines) == {"majority class", "bag of words"}
    assert baselines["majority class"] == 0.5  # the sample is balanced
    for name, line in lines.items():
        assert line.isVisible() and line.value() == pytest.approx(baselines[name])
        assert name in line.label.toPlainText()
    qtbot.mouseClick(window.controls.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.current_val_loss is not None, timeout=10000)
    qtbot.mouseClick(window.controls.train_button, Qt.LeftButton)
    qtbot.waitUntil(window.training_stopped, timeout=5000)
    window.redraw(force=True)
    text = window.status_loss.text()
    assert "val loss: current" in text and "best" in text


def test_class_names_from_the_config(tmp_path, make_window):
    path = tmp_path / "numbers.tsv"
    rows = ["0\tbad movie", "1\tgreat film", "0\tawful plot", "1\tlovely acting"] * 5
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    window = make_window(Config(epochs=0, label_names="negative,positive"), source=str(path))
    assert window.info.label_names == ["negative", "positive"]
    assert window.info.class_counts == {"negative": 10, "positive": 10}
    assert "negative" in window.corpus_panel.summary.text()


def test_language_model_has_no_baselines(qtbot, make_window):
    from gui.tasks import task_defaults

    window = make_window(task_defaults("lm").replace(epochs=0), source="sample:prose")
    assert window.info.baselines == {}
    assert not any(line.isVisible() for line in window.curves.baseline_lines.values())
