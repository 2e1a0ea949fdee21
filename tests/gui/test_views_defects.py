"""Issue 14's "seen, to fix" list: one test per defect, driven through real widgets."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as QtGuiNamespace
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QFileDialog

from gui.panels.gradient_flow import FLOW_DECADES
from gui.panels.neurons import SORTS
from gui.tasks import task_defaults
from rnnviz.config import DEFAULT_LR, Config

pytestmark = pytest.mark.gui

SMALL = Config(epochs=0, embed_dim=16, hidden_size=48, batch_size=16, bptt=32, lr=0.01)


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.LeftButton)


def train(qtbot, window, n: int) -> None:
    """Train until `n` more steps are drawn, then pause."""
    target = window.train_history.total + n
    click(qtbot, window.controls.train_button)
    qtbot.waitUntil(lambda: window.train_history.total >= target, timeout=15000)
    click(qtbot, window.controls.train_button)
    qtbot.waitUntil(window.training_stopped, timeout=5000)


def captured_step(window) -> int:
    """The latest captured snapshot's step (-1 between a new run and its first frame)."""
    snap = window.last_captured
    return -1 if snap is None else snap.step


def show_tab(window, name: str) -> None:
    panel = window.insight.panels[name]
    window.tabs.setCurrentWidget(panel)


def test_gradient_flow_records_for_the_language_model(qtbot, make_window):
    window = make_window(SMALL, source="sample:prose")
    assert window.info.config.task == "lm"
    show_tab(window, "gradient_flow")
    train(qtbot, window, 10)
    flow = window.insight.gradient_flow
    qtbot.waitUntil(lambda: flow.history.n > 0, timeout=5000)
    qtbot.waitUntil(lambda: "Waiting" not in flow.summary.text(), timeout=5000)  # drawn


def test_gradient_flow_over_real_tokens_on_a_fixed_scale(qtbot, make_window):
    window = make_window(SMALL)  # sample:sentiment: short reviews, pre-padded
    show_tab(window, "gradient_flow")
    flow = window.insight.gradient_flow
    train(qtbot, window, 10)
    qtbot.waitUntil(lambda: flow.history.n > 0, timeout=5000)
    flow.redraw()
    norms = flow.history.state[flow.history.n - 1]
    # The columns with no word in any sequence are NaN and
    # the rest are finite (real tokens only), indexed as steps before the end.
    assert np.isfinite(norms[-1])
    x, _ = flow.now_curve.getData()
    assert x[-1] == 0 and x[0] == 1 - len(norms)
    assert "steps before the end" in flow.summary.text()
    # A fixed colour scale: the same whatever the run's gradients.
    assert flow.bar.levels() == (-FLOW_DECADES, FLOW_DECADES)
    # The dashed reference line is named in the title; so are the parameters, in their
    # colours, above the plot (a legend inside it covered the curves).
    first = flow._first_step
    assert flow.first_curve.getData()[0] is not None
    assert f"dashed: step {first:,}" in flow.now_plot.titleLabel.text
    title = flow.params_plot.titleLabel
    for name in flow.history.names:
        assert f"━&nbsp;{name}</span>" in title.text, name
    qtbot.wait(50)  # the taller title row is laid out
    assert title.sceneBoundingRect().bottom() <= flow.params_plot.vb.sceneBoundingRect().top() + 1
    assert title.item.boundingRect().height() <= title.sceneBoundingRect().height() + 1


def test_gradient_flow_drops_pad_columns():
    from rnnviz.trainer import real_token_grad_norms

    class Cell:
        state_grad_squares = np.array([[4.0, 9.0], [1.0, 1.0], [0.0, 16.0]])  # (T, B)

    ids = np.array([[0, 0, 5], [0, 3, 4]])  # (B, T): row 0 has one word, row 1 two
    cell = Cell()
    real_token_grad_norms(cell, ids)
    assert np.isnan(cell.state_grad_norms[0])  # no word anywhere yet: not a [PAD] gradient
    assert cell.state_grad_norms[1:] == pytest.approx([1.0, 4.0])


def test_errors_tab_shows_the_step_training_paused_at(qtbot, make_window):
    window = make_window(SMALL)
    show_tab(window, "errors")
    errors = window.insight.errors
    for step in (1, 2, 3):  # Step clicks well inside the tab's one-second throttle
        click(qtbot, window.controls.step_button)
        qtbot.waitUntil(lambda s=step: window.last_captured.step == s, timeout=5000)
        qtbot.waitUntil(lambda s=step: f"Step {s}:" in errors.summary.text(), timeout=2000)
    train(qtbot, window, 10)
    paused = window.last_captured.step
    qtbot.waitUntil(lambda: f"Step {paused:,}:" in errors.summary.text(), timeout=2000)


def test_status_bar_never_reads_loss_nan(qtbot, make_window, monkeypatch, tmp_path):
    window = make_window(SMALL)
    qtbot.waitUntil(lambda: "step 0" in window.status_loss.text(), timeout=5000)
    assert "nan" not in window.status_loss.text()
    assert "no step trained" in window.status_loss.text()
    train(qtbot, window, 5)
    path = tmp_path / "model.npz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    with qtbot.waitSignal(window.worker.saved, timeout=5000):
        window.action_save_model.trigger()
    click(qtbot, window.controls.reset_button)
    # (last_captured is None between a new run's info and its first frame)
    qtbot.waitUntil(lambda: captured_step(window) == 0, timeout=10000)
    window.action_load_model.trigger()
    qtbot.waitUntil(lambda: captured_step(window) >= 5, timeout=10000)
    window.redraw(force=True)
    assert "nan" not in window.status_loss.text()
    assert f"step {window.last_captured.step}" in window.status_loss.text()


def test_language_model_labels_and_compare_units(qtbot, make_window):
    window = make_window(SMALL)  # sample:sentiment, classify
    train(qtbot, window, 3)
    window.controls.task.setFocus()
    qtbot.keyClick(window.controls.task, Qt.Key_Down)  # "Language model"
    qtbot.waitUntil(lambda: window.info.config.task == "lm", timeout=10000)
    label = window.curves.chance_line.label.toPlainText()
    assert "ln C" not in label and "uniform guess" in label, label
    show_tab(window, "compare")
    compare = window.insight.compare
    assert "bits" in compare.loss_plot.titleLabel.text
    train(qtbot, window, 3)
    compare.redraw(force=True)
    # The LM run's curve is drawn in bits, like the window's own loss curve.
    _, shown = compare._items[-1][0].getData()
    nats = compare.current.train.arrays()["loss"]
    assert shown[0] == pytest.approx(nats[0] / np.log(2))


def test_compare_legend_follows_live_changes(qtbot, make_window):
    window = make_window(SMALL)
    show_tab(window, "compare")
    compare = window.insight.compare
    train(qtbot, window, 3)
    window.controls.set_lr(0.002)  # a live change, as the slider makes it
    qtbot.waitUntil(lambda: compare.current.settings["lr"] == 0.002, timeout=5000)
    train(qtbot, window, 3)
    compare.redraw(force=True)
    labels = [label.text for _, label in compare.legend.items]
    assert any("lr=0.01→0.002" in text for text in labels), labels


def test_optimiser_switch_takes_its_learning_rate(qtbot, make_window):
    window = make_window(Config(epochs=0))  # adam at its default learning rate
    controls = window.controls
    assert controls.config().lr == DEFAULT_LR["adam"]
    controls.optimizer.setCurrentText("sgd")  # as a pick in the combo box
    assert controls.config().lr == pytest.approx(DEFAULT_LR["sgd"])
    assert controls.lr_label.text() == "0.1"
    assert window.info.config.lr == DEFAULT_LR["adam"]  # the running Adam keeps its own
    click(qtbot, controls.reset_button)
    qtbot.waitUntil(lambda: window.info.config.optimizer == "sgd", timeout=10000)
    assert window.info.config.lr == pytest.approx(DEFAULT_LR["sgd"])


def test_task_switch_takes_the_task_learning_rate(qtbot, make_window):
    window = make_window(Config(epochs=0))
    window.controls.set_task("lm")
    qtbot.waitUntil(lambda: window.info.config.task == "lm", timeout=10000)
    assert window.info.config.lr == task_defaults("lm").lr
    window.controls.set_task("classify")
    qtbot.waitUntil(lambda: window.info.config.task == "classify", timeout=10000)
    assert window.info.config.lr == DEFAULT_LR["adam"]


def test_loaded_model_max_length_does_not_stick(qtbot, make_window, monkeypatch, tmp_path):
    window = make_window(SMALL, source="sample:topics")
    fresh = window.info.maxlen
    window.load_source("sample:sentiment")
    qtbot.waitUntil(lambda: window.info.source == "sample:sentiment", timeout=10000)
    path = tmp_path / "model.npz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    with qtbot.waitSignal(window.worker.saved, timeout=5000):
        window.action_save_model.trigger()
    with qtbot.waitSignal(window.worker.info_ready, timeout=10000):
        window.action_load_model.trigger()
    window.load_source("sample:topics")
    qtbot.waitUntil(lambda: window.info.source == "sample:topics", timeout=10000)
    assert window.info.maxlen == fresh


def shown_text(label) -> str:
    """What a QLabel puts on screen: its text as rich text or as it is."""
    rich = label.textFormat() == Qt.RichText or (
        label.textFormat() == Qt.AutoText and QtGuiNamespace.mightBeRichText(label.text())
    )
    if not rich:
        return label.text()
    doc = QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText()


def test_error_messages_show_characters_not_entities(qtbot, make_window, tmp_path, monkeypatch):
    window = make_window(SMALL)
    bad = tmp_path / "it's not a model.npz"
    bad.write_text("not a checkpoint")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    window.action_load_model.trigger()
    qtbot.waitUntil(lambda: window.message.isVisible(), timeout=10000)
    text = shown_text(window.message.label)
    assert "Could not load the model" in text and "&#x27;" not in text, text
    window.load_source(str(tmp_path / "it's missing.txt"))
    qtbot.waitUntil(lambda: "corpus" in shown_text(window.message.label), timeout=10000)
    text = shown_text(window.message.label)
    assert "it's missing" in text and "&#x27;" not in text, text


def test_language_model_why_view_shows_spaces_and_newlines(qtbot, make_window):
    window = make_window(SMALL, source="sample:prose")
    show_tab(window, "why")
    salience = window.insight.salience
    box = window.prediction.input
    box.clear()
    qtbot.keyClicks(box, "to be")
    qtbot.waitUntil(lambda: salience.result is not None, timeout=5000)
    qtbot.waitUntil(lambda: "␣" in salience.result["tokens"], timeout=5000)
    assert "" not in salience.result["tokens"] and " " not in salience.result["tokens"]
    salience.set_text("a\nb")  # a newline cannot be typed into the one-line box
    assert "⏎" in salience.result["tokens"]


def test_neurons_sort_by_variance_and_correlation(qtbot, make_window):
    window = make_window(SMALL)
    show_tab(window, "neurons")
    neurons = window.insight.neurons
    train(qtbot, window, 20)
    qtbot.waitUntil(lambda: neurons.units.count() == SMALL.hidden_size, timeout=5000)
    texts = {}
    for key, (_, column) in SORTS.items():
        neurons.sort.setCurrentIndex(neurons.sort.findData(key))  # as a pick in the combo
        qtbot.waitUntil(lambda c=column: f"   {c} " in neurons.units.item(0).text(), timeout=5000)
        scores = neurons.scores
        shown = [neurons.units.item(r).data(Qt.UserRole) for r in range(neurons.units.count())]
        assert list(np.argsort(-scores, kind="stable")) == shown  # the list follows the key
        assert neurons.unit == shown[0]
        texts[key] = scores
    assert np.all((texts["correlation"] >= 0) & (texts["correlation"] <= 1 + 1e-9))
    assert texts["correlation"].max() > 0.1  # a trained head reads some unit
    assert not np.allclose(texts["variance"], texts["variance"][0])


def test_unit_scores_on_a_saturated_layer():
    from rnnviz.insight import unit_output_correlation, unit_strength, unit_variance

    rng = np.random.default_rng(0)
    n = 200
    output = rng.random(n)
    states = np.empty((n, 3))
    states[:, 0] = np.where(output > 0.5, 1.0, -1.0)  # follows the output, switches often
    states[:, 1] = np.where(np.arange(n) == 0, -1.0, 1.0)  # saturated, flips once
    states[:, 2] = np.where(rng.random(n) > 0.5, 1.0, -1.0)  # noise, switches often
    ids = np.ones(n, np.int64)
    swing = unit_strength(states, ids)
    assert swing[0] == pytest.approx(swing[1], abs=1e-2)  # swing cannot tell them apart
    variance = unit_variance(states)
    assert variance[1] < 0.1 < variance[0]
    corr = unit_output_correlation(states, output[:, None])
    assert corr[0] > 0.8 > 0.3 > corr[2]


def test_screenshot_timeout_is_an_option(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}

    def run(*args):
        return subprocess.run(
            [sys.executable, str(root / "main.py"), "--screenshot", str(tmp_path / "x.png"),
             *args], cwd=root, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    bad = run("--screenshot-timeout", "-1")
    assert bad.returncode == 2 and "positive number of seconds" in bad.stderr
    assert "Traceback" not in bad.stderr
    short = run("--steps", "100000", "--screenshot-timeout", "0.5")
    assert short.returncode == 1
    assert "screenshot timed out after 0.5 s" in short.stderr, short.stderr
    assert not (tmp_path / "x.png").exists()
