"""The live training controls: the language model's schedule, dropouts and weight decay."""

import math

import pytest
from PySide6.QtCore import Qt

from gui.panels.controls import ControlsPanel
from rnnviz.config import Config
from rnnviz.lm_trainer import lm_defaults

pytestmark = pytest.mark.gui

# Small enough to train fast on a loaded 2-core machine (as in test_lm_mode.py).
SMALL = Config(epochs=0, embed_dim=16, hidden_size=48, batch_size=16, bptt=32, lr=0.01)


def make_panel(qtbot, config: Config) -> ControlsPanel:
    panel = ControlsPanel()
    qtbot.addWidget(panel)
    panel.set_config(config)
    panel.show()
    return panel


def lm_rows(panel) -> dict[str, bool]:
    """Which of the rows that only the language model has are shown."""
    return {
        "schedule": panel.lr_schedule.isVisible(),
        "decay": panel.lr_decay.isVisible(),
    }


def user_changes(qtbot, panel, widget, key) -> dict:
    """Press `key` in `widget` as a user would; return what `live_changed` carried."""
    widget.setFocus()
    with qtbot.waitSignal(panel.live_changed, timeout=1000) as blocker:
        qtbot.keyClick(widget, key)
    return blocker.args[0]


def test_lm_rows_follow_the_task(qtbot):
    panel = make_panel(qtbot, Config())
    assert not any(lm_rows(panel).values())
    both = (panel.weight_decay, panel.embed_dropout, panel.output_dropout)
    assert all(w.isVisible() for w in both), "meaningful for both tasks"
    assert panel.word_dropout.isVisible()
    panel.task.setFocus()
    qtbot.keyClick(panel.task, Qt.Key_Down)  # "Language model"
    assert panel.config().task == "lm"
    assert all(lm_rows(panel).values())
    assert all(w.isVisible() for w in both)
    assert not panel.word_dropout.isVisible(), "word dropout is the classifier's"
    assert panel.lr_schedule.currentText() == "plateau"  # the language model's default
    assert panel.lr_decay.isEnabled()
    qtbot.keyClick(panel.task, Qt.Key_Up)  # back to "Classify"
    assert not any(lm_rows(panel).values())


def test_set_config_shows_the_values_without_emitting(qtbot):
    panel = make_panel(qtbot, Config())
    config = lm_defaults(
        lr_schedule="exponential", lr_decay=0.8, embed_dropout=0.1, output_dropout=0.25,
        weight_decay=0.05,
    )  # fmt: skip
    with qtbot.assertNotEmitted(panel.live_changed):
        panel.set_config(config)
    assert panel.lr_schedule.currentText() == "exponential"
    assert panel.lr_decay.value() == pytest.approx(0.8)
    assert panel.embed_dropout.value() == pytest.approx(0.1)
    assert panel.output_dropout.value() == pytest.approx(0.25)
    assert panel.weight_decay.value() == pytest.approx(0.05)
    with qtbot.assertNotEmitted(panel.live_changed):
        panel.set_config(config.replace(lr_schedule="constant"))
    assert not panel.lr_decay.isEnabled(), "a constant rate has nothing to decay"


def test_lm_live_changes_carry_exactly_the_changed_field(qtbot):
    panel = make_panel(qtbot, lm_defaults(output_dropout=0.0))
    assert user_changes(qtbot, panel, panel.lr_schedule, Qt.Key_Down) == {
        "lr_schedule": "exponential"
    }
    assert user_changes(qtbot, panel, panel.lr_decay, Qt.Key_Down) == {"lr_decay": 0.45}
    assert user_changes(qtbot, panel, panel.embed_dropout, Qt.Key_Up) == {"embed_dropout": 0.05}
    assert user_changes(qtbot, panel, panel.output_dropout, Qt.Key_Up) == {"output_dropout": 0.05}
    assert user_changes(qtbot, panel, panel.weight_decay, Qt.Key_Up) == {"weight_decay": 0.01}
    panel.lr_schedule.setFocus()
    qtbot.keyClick(panel.lr_schedule, Qt.Key_Home)  # "constant"
    assert panel.config().lr_schedule == "constant"
    assert not panel.lr_decay.isEnabled()
    assert not panel.banner.isVisible(), "live changes need no reset"
    expected = dict(lr_schedule="constant", lr_decay=0.45, embed_dropout=0.05,
                    output_dropout=0.05, weight_decay=0.01)  # fmt: skip
    assert panel.config() == lm_defaults(**expected)


def test_classifier_sends_its_regularisers_but_not_the_lm_fields(qtbot):
    panel = make_panel(qtbot, Config(weight_decay=0.0, embed_dropout=0.0, word_dropout=0.0))
    assert user_changes(qtbot, panel, panel.weight_decay, Qt.Key_Up) == {"weight_decay": 0.01}
    assert user_changes(qtbot, panel, panel.embed_dropout, Qt.Key_Up) == {"embed_dropout": 0.05}
    assert user_changes(qtbot, panel, panel.word_dropout, Qt.Key_Up) == {"word_dropout": 0.05}
    with qtbot.assertNotEmitted(panel.live_changed):  # its trainer would refuse it
        panel.lr_schedule.setCurrentText("exponential")
    assert panel.config().lr_schedule == "exponential"  # kept for a later language model
    assert not panel.banner.isVisible()


@pytest.mark.parametrize("task", ["classify", "lm"])
def test_weight_average_is_live_for_both_tasks(qtbot, task):
    config = lm_defaults(weight_average=0.0) if task == "lm" else Config()
    panel = make_panel(qtbot, config)
    assert panel.weight_average.isVisible()
    assert panel.weight_average.text() == "off"
    assert user_changes(qtbot, panel, panel.weight_average, Qt.Key_Up) == {"weight_average": 0.001}
    with qtbot.assertNotEmitted(panel.live_changed):
        panel.set_config(config.replace(weight_average=0.999))
    assert panel.weight_average.value() == pytest.approx(0.999)
    assert not panel.banner.isVisible()


def lm_window(make_window, worker=None):
    window = make_window(SMALL, source="sample:prose", worker=worker)
    assert window.info.config.task == "lm"
    return window


def test_lm_dropouts_and_weight_decay_reach_the_running_trainer(qtbot, make_window):
    window = lm_window(make_window, worker="thread")  # in-process: the test reads its config
    controls, trainer = window.controls, window.worker.trainer
    before = trainer.config
    expected = (
        round(before.output_dropout + 0.05, 2),
        round(before.embed_dropout + 0.05, 2),
        round(before.weight_decay + 0.01, 4),
    )
    qtbot.mouseClick(controls.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.train_history.total >= 3, timeout=15000)
    user_changes(qtbot, controls, controls.output_dropout, Qt.Key_Up)
    user_changes(qtbot, controls, controls.embed_dropout, Qt.Key_Up)
    user_changes(qtbot, controls, controls.weight_decay, Qt.Key_Up)
    qtbot.waitUntil(
        lambda: (
            (
                trainer.config.output_dropout,
                trainer.config.embed_dropout,
                trainer.config.weight_decay,
            )
            == expected
        ),
        timeout=5000,
    )
    assert window.worker.running, "a live change must not stop the run"
    assert trainer is window.worker.trainer, "a live change must not rebuild the trainer"
    assert trainer.optimizer.weight_decay == expected[2]
    assert not controls.banner.isVisible()
    qtbot.mouseClick(controls.train_button, Qt.LeftButton)
    qtbot.waitUntil(window.training_stopped, timeout=5000)
    assert window.message.kind != "error" or not window.message.isVisible()


def test_exponential_schedule_decays_the_rate_of_the_run(qtbot, make_window):
    window = lm_window(make_window)  # the default worker (a child process)
    controls = window.controls
    assert controls.lr_schedule.currentText() == "plateau"
    controls.lr_schedule.setFocus()
    with qtbot.waitSignal(controls.live_changed, timeout=1000):
        qtbot.keyClick(controls.lr_schedule, Qt.Key_Down)  # "exponential", factor 0.5
    qtbot.mouseClick(controls.train_button, Qt.LeftButton)
    steps = 8 * window.info.steps_per_epoch + 1
    qtbot.waitUntil(lambda: window.train_history.total >= steps, timeout=20000)
    qtbot.mouseClick(controls.train_button, Qt.LeftButton)
    qtbot.waitUntil(window.training_stopped, timeout=5000)
    snap = window.last_frame.snapshot
    assert snap.epoch >= 8
    # Halved once per epoch: below the plateau's floor (lr / 32), by a power of two.
    halvings = math.log2(SMALL.lr / snap.lr)
    assert halvings > 5 and halvings == pytest.approx(round(halvings))


def test_the_learning_rate_reads_the_same_in_controls_status_bar_and_compare(qtbot, make_window):
    """One formatter for a setting's value: the slider's label, the status bar and
    Compare's legend all read 0.0005 (the label read 5.00e-04 beside the bar's 0.0005)."""
    from gui.panels.compare import run_label

    window = make_window(Config(epochs=0, lr=0.0005))
    qtbot.waitUntil(lambda: "lr " in window.status_loss.text(), timeout=5000)
    assert window.controls.lr_label.text() == "0.0005"
    assert window.status_loss.text().endswith("lr 0.0005"), window.status_loss.text()
    label = run_label(0, {"lr": 0.1 + 0.2}, ["lr"], started={"lr": 0.0005})
    assert label == "run 1: lr=0.0005→0.3", label
