"""The language-model task in the window, driven as a user would (dialogs patched)."""

import math
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from rnnviz.config import Config

pytestmark = pytest.mark.gui

# Small enough to train fast on a loaded 2-core machine; kept by the task switch
# (only fields left at the classifier's defaults take the language model's).
SMALL = Config(epochs=0, embed_dim=16, hidden_size=48, batch_size=16, bptt=32, lr=0.01)


def steps(window) -> int:
    return window.train_history.total


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.LeftButton)


def train(qtbot, window, n: int) -> None:
    """Train until `n` more steps are drawn, then pause."""
    target = steps(window) + n
    click(qtbot, window.controls.train_button)
    qtbot.waitUntil(lambda: steps(window) >= target, timeout=15000)
    click(qtbot, window.controls.train_button)
    qtbot.waitUntil(window.training_stopped, timeout=5000)


def captured_step(window) -> int:
    """The step of the latest captured snapshot (-1 between a new run and its first)."""
    snap = window.last_captured
    return -1 if snap is None else snap.step


def lm_window(make_window):
    window = make_window(SMALL, source="sample:prose")
    assert window.info.config.task == "lm"
    return window


def test_plain_text_opens_the_language_model(qtbot, make_window):
    window = lm_window(make_window)
    info = window.info
    assert "language-model" in window.message.label.text()
    assert window.message.kind == "info"
    assert window.controls.task.currentData() == "lm"
    assert info.config.level == "char" and info.config.hidden_size == 48
    assert window.sample_panel.isVisible()
    assert "bits" in window.curves.loss_plot.getAxis("left").labelText
    V = len(info.words)
    assert window.curves.chance_line.value() == pytest.approx(math.log2(V))
    assert "language model" in window.corpus_panel.summary.text()
    assert "target:" in window.corpus_panel.examples.toPlainText()
    assert "␣" in window.corpus_panel.vocab_model.table.words


def resample(qtbot, sample, action) -> str:
    """Run `action` (a click, a key) and return the sample it leads to."""
    qtbot.waitUntil(lambda: not sample.busy(), timeout=5000)
    with qtbot.waitSignal(sample.sample_ready, timeout=5000):
        action()
    qtbot.waitUntil(lambda: not sample.busy(), timeout=5000)
    return sample.text


def test_training_fills_and_changes_the_sample(qtbot, make_window):
    window = lm_window(make_window)
    sample = window.sample_panel
    untrained = resample(qtbot, sample, lambda: sample.set_temperature(0.0))  # greedy
    assert len(untrained) >= 200 and "greedy" in sample.status.text()
    train(qtbot, window, 40)
    # The frame of the pause (the final weights) has reached the sample box.
    qtbot.waitUntil(
        lambda: (
            not window.last_frame.running
            and sample.params_step == captured_step(window) == window.last_frame.snapshot.step
        ),
        timeout=5000,
    )
    trained = resample(qtbot, sample, lambda: click(qtbot, sample.generate_button))
    assert trained != untrained  # greedy: only the weights changed
    assert sample.last_seconds < 0.5
    # New random draws on each click, but greedy sampling does not use them.
    assert resample(qtbot, sample, lambda: click(qtbot, sample.generate_button)) == trained
    sample.set_temperature(1.0)
    qtbot.keyClicks(sample.prime, "The sea")
    text = resample(qtbot, sample, lambda: qtbot.keyClick(sample.prime, Qt.Key_Return))
    assert text.startswith("The sea") and len(text) > 200
    assert "The sea" in sample.view.toPlainText()
    assert not sample.thread.isFinished()
    window.close()
    assert sample.thread.isFinished()


def test_prediction_lists_next_tokens(qtbot, make_window):
    window = lm_window(make_window)
    train(qtbot, window, 20)
    box = window.prediction.input
    box.clear()
    qtbot.keyClicks(box, "The sea was")
    qtbot.waitUntil(lambda: len(window.prediction.last_top) == 10, timeout=5000)
    top = window.prediction.last_top
    total = sum(p for _, p in top)
    assert 0 < total <= 1 + 1e-6
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
    first = window.prediction.last_proba.copy()
    assert "␣" in window.prediction.tokens_label.text()  # spaces made visible
    qtbot.keyClicks(box, " g")
    assert not np.allclose(window.prediction.last_proba, first)
    assert window.prediction.hidden_view.data.shape[0] == len("The sea was g")
    shown = [window.prediction._bar_rows[i][0].text() for i in range(10)]
    assert " " not in shown


def test_task_switch_on_a_labelled_corpus(qtbot, make_window):
    window = make_window(SMALL)  # sample:sentiment, classify
    assert window.info.config.task == "classify"
    assert not window.sample_panel.isVisible()
    window.controls.task.setFocus()
    qtbot.keyClick(window.controls.task, Qt.Key_Down)  # "Language model"
    qtbot.waitUntil(lambda: window.info.config.task == "lm", timeout=10000)
    qtbot.waitUntil(lambda: not window.run_setup.pending, timeout=5000)  # its views set up
    assert window.curves.acc_plot.titleLabel.text == "Next-token accuracy"
    assert window.info.config.level == "char"
    assert window.sample_panel.isVisible()
    prefix = window.prediction.input.text()
    assert prefix != "I love deep learning"  # the start of the text, as an example prefix
    qtbot.waitUntil(lambda: len(window.prediction.last_top) == 10, timeout=5000)
    train(qtbot, window, 5)
    qtbot.keyClick(window.controls.task, Qt.Key_Up)  # back to "Classify"
    qtbot.waitUntil(lambda: window.info.config.task == "classify", timeout=10000)
    qtbot.waitUntil(lambda: not window.run_setup.pending, timeout=5000)  # its views set up
    assert window.info.config.level == "word"
    assert window.curves.chance_line.value() == pytest.approx(math.log(2))
    assert not window.sample_panel.isVisible()
    assert window.prediction.input.text() == "I love deep learning"
    qtbot.waitUntil(lambda: window.prediction.last_proba is not None, timeout=5000)
    assert len(window.prediction.last_proba) == 2


def test_save_and_load_a_language_model(qtbot, make_window, tmp_path, monkeypatch):
    window = lm_window(make_window)
    for _ in range(3):
        click(qtbot, window.controls.step_button)
    qtbot.waitUntil(lambda: captured_step(window) == 3, timeout=5000)
    path = tmp_path / "lm.npz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    with qtbot.waitSignal(window.worker.saved, timeout=5000):
        window.action_save_model.trigger()
    from rnnviz import checkpoint
    from rnnviz.language_model import RNNLanguageModel

    saved = checkpoint.load(path).model
    assert isinstance(saved, RNNLanguageModel)
    # What is saved: the averaged weights when weight averaging is on (the lm default),
    # else the weights the views show.
    live_w = np.array(window.last_captured.params["W_out"])
    saved_w = np.array(saved.params["W_out"])
    assert window.info.config.weight_average or np.array_equal(saved_w, live_w)
    click(qtbot, window.controls.reset_button)
    qtbot.waitUntil(lambda: window.info.step == 0 and steps(window) == 0, timeout=5000)
    window.action_load_model.trigger()
    qtbot.waitUntil(lambda: window.info.step == 3, timeout=5000)
    qtbot.waitUntil(lambda: captured_step(window) == 3, timeout=5000)
    np.testing.assert_allclose(window.last_captured.params["W_out"], saved_w)
    assert window.info.config.task == "lm"
    click(qtbot, window.controls.step_button)
    qtbot.waitUntil(lambda: captured_step(window) == 4, timeout=5000)


def test_close_mid_training_ends_the_thread(qtbot, make_window):
    window = lm_window(make_window)
    click(qtbot, window.controls.train_button)
    qtbot.waitUntil(lambda: steps(window) >= 5, timeout=10000)
    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 1.5
    assert not window.workers.thread.isRunning()


def test_every_tab_draws_a_language_model(qtbot, make_window):
    window = lm_window(make_window)
    click(qtbot, window.controls.train_button)
    errors = window.tabs.indexOf(window.insight.panels["errors"])
    assert not window.tabs.isTabVisible(errors)  # classifier only
    for i in range(window.tabs.count()):
        if not window.tabs.isTabVisible(i):
            continue
        window.tabs.setCurrentIndex(i)
        shown = steps(window) + 3
        qtbot.waitUntil(lambda s=shown: steps(window) >= s, timeout=10000)
        window.redraw(force=True)
    click(qtbot, window.controls.train_button)


def test_a_plain_text_file_opens_as_a_language_model(qtbot, make_window, tmp_path, monkeypatch):
    window = make_window(SMALL)  # sentiment, classify
    story = tmp_path / "story.txt"
    story.write_text("the cat sat on the mat. the dog sat on the log.\n" * 40)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(story), ""))
    window.action_open.trigger()
    qtbot.waitUntil(lambda: window.info.source == str(story), timeout=10000)
    assert window.info.config.task == "lm"
    assert "plain text" in window.message.label.text() and window.message.kind == "info"
    assert window.controls.task.currentText() == "Language model"


def test_a_labelled_file_after_a_plain_text_one_is_classified_again(qtbot, make_window, tmp_path):
    window = make_window(SMALL)  # sentiment, classify
    story = tmp_path / "story.txt"
    story.write_text("the cat sat on the mat. the dog sat on the log.\n" * 40)
    window.load_source(str(story))
    qtbot.waitUntil(lambda: window.info.source == str(story), timeout=10000)
    assert window.info.config.task == "lm"
    labelled = tmp_path / "reviews.tsv"
    labelled.write_text(
        "".join(f"{'pos' if i % 2 else 'neg'}\ttext number {i}\n" for i in range(40))
    )
    window.load_source(str(labelled))
    qtbot.waitUntil(lambda: window.info.source == str(labelled), timeout=10000)
    assert window.info.config.task == "classify" and window.info.label_names == ["neg", "pos"]
    assert window.controls.task.currentData() == "classify"


def test_a_chosen_language_model_stays_one_for_a_labelled_file(qtbot, make_window):
    window = make_window(SMALL)
    window.controls.set_task("lm")
    qtbot.waitUntil(lambda: window.info.config.task == "lm", timeout=10000)
    window.load_source("sample:topics")
    qtbot.waitUntil(lambda: window.info.source == "sample:topics", timeout=10000)
    assert window.info.config.task == "lm"


def test_a_task_switch_after_a_failed_open_reloads_the_corpus_shown(qtbot, make_window, tmp_path):
    window = make_window(SMALL)  # sentiment
    window.load_source(str(tmp_path / "missing.tsv"))
    qtbot.waitUntil(lambda: window.message.isVisible() and window.message.kind == "error",
                    timeout=10000)  # fmt: skip
    window.controls.set_task("lm")
    qtbot.waitUntil(lambda: window.info.config.task == "lm", timeout=10000)
    assert window.info.source == "sample:sentiment"


def test_command_line_settings_survive_the_switch_to_lm(qtbot, make_window):
    from gui.app import build_parser, config_from_args, explicit_settings

    args = build_parser().parse_args(["--task", "lm", "--hidden-size", "64"])
    config = config_from_args(args)
    assert (config.task, config.level, config.hidden_size, config.epochs) == ("lm", "char", 64, 0)
    args = build_parser().parse_args(["--data", "sample:prose", "--hidden-size", "64"])
    window = make_window(config_from_args(args), load=False)
    window.task_switch.pinned = explicit_settings(args)  # as gui/app.py does
    window.load_source("sample:prose")  # plain text: switches to the language model
    qtbot.waitUntil(lambda: window.info is not None, timeout=10000)
    assert window.info.config.task == "lm" and window.info.config.hidden_size == 64


def test_neurons_of_a_language_model_are_sorted_by_correlation(qtbot, make_window):
    """Its units saturate and all read "swing 2.00": the language model's default order
    is the correlation with its next-token guesses, which tells them apart; a sort the
    user picks is kept for the next run."""
    from gui.panels.neurons import SORT_TIPS

    window = lm_window(make_window)
    window.show_panel("neurons")
    neurons = window.insight.neurons
    qtbot.waitUntil(neurons.isVisible, timeout=2000)
    assert neurons.sort.currentData() == "correlation"
    assert neurons.units.toolTip() == SORT_TIPS["correlation"]
    train(qtbot, window, 60)
    H = window.info.config.hidden_size
    last = window.last_captured.step
    qtbot.waitUntil(lambda: neurons._step == last and neurons.units.count() == H, timeout=5000)
    texts = [neurons.units.item(r).text() for r in range(H)]
    assert all("|corr| " in t for t in texts), texts[:3]
    scores = neurons.scores
    assert np.all((scores >= 0) & (scores <= 1 + 1e-9)) and np.ptp(scores) > 0.1
    shown = [neurons.units.item(r).data(Qt.UserRole) for r in range(H)]
    assert list(np.argsort(-scores, kind="stable")) == shown
    # The user's pick outlives a Reset; the classifier's default is swing.
    neurons.sort.setCurrentIndex(neurons.sort.findData("variance"))
    click(qtbot, window.controls.reset_button)
    qtbot.waitUntil(lambda: window.info.step == 0 and window.info is not None, timeout=10000)
    qtbot.waitUntil(lambda: neurons.units.count() and "var " in neurons.units.item(0).text(),
                    timeout=5000)  # fmt: skip
    assert neurons.sort.currentData() == "variance"
    classify = make_window(SMALL)
    classify.show_panel("neurons")
    assert classify.insight.neurons.sort.currentData() == "swing"
