"""Issue 12 in the window: baselines on the accuracy plot, class names, the status bar."""

import math

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
    # Named beside the plot (a label on the line covered the accuracy curve), with values.
    names = window.curves.reference_axis.names()
    assert names == [f"{name}\n{baselines[name]:.3f}" for name in lines]
    assert window.curves.reference_axis.isVisible()
    plot_area = window.curves.acc_plot.vb.sceneBoundingRect()
    assert window.curves.reference_axis.sceneBoundingRect().left() >= plot_area.right() - 1
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
    assert not window.curves.reference_axis.isVisible()


def test_the_ln_c_label_stays_inside_the_plot_clear_of_the_legend(qtbot, make_window, tmp_path):
    """16 classes: ln 16 = 2.77 sat just under a top of 3, its label above the plot's edge
    and under the legend's box."""
    path = tmp_path / "sixteen.tsv"
    rows = [f"class{c}\tword{c} filler text {i}" for c in range(16) for i in range(12)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    window = make_window(Config(epochs=0), source=str(path))
    qtbot.mouseClick(window.controls.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.train_history.total >= 1, timeout=5000)
    window.redraw(force=True)
    curves = window.curves
    assert curves.chance_line.value() == pytest.approx(math.log(16))
    qtbot.wait(200)  # the line places its label when the view is laid out and painted
    label = curves.chance_line.label.sceneBoundingRect()
    assert curves.loss_plot.vb.sceneBoundingRect().contains(label), label
    assert not label.intersects(curves.loss_plot.legend.sceneBoundingRect())
    legend, area = (
        curves.loss_plot.legend.sceneBoundingRect(),
        curves.loss_plot.vb.sceneBoundingRect(),
    )
    assert legend.bottom() <= area.top() + 0.5, (legend, area)  # the legend in the title's row
