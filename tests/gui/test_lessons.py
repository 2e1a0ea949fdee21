"""Lessons and experiment files in the app: one click, the note visible, re-runnable."""

from __future__ import annotations

import json
import re

import pytest
from PySide6.QtWidgets import QFileDialog

from rnnviz import experiment
from rnnviz.lessons import lesson_names, load_lesson
from tests.gui.test_launch import PNG_MAGIC, run_main
from tests.test_cli import cli

pytestmark = pytest.mark.gui


def test_at_least_eight_lessons_each_complete():
    names = lesson_names()
    assert len(names) >= 8
    from gui.window import PANELS

    for name in names:
        lesson = load_lesson(name)
        assert lesson.title and lesson.note and lesson.steps > 0, name
        assert lesson.panel in PANELS, name
        for part in ("Look at", "Try", "Maths"):
            assert part in lesson.note, f"{name}: the note lacks {part!r}"


@pytest.mark.parametrize("name", lesson_names())
def test_every_lesson_renders_with_its_note(tmp_path, name):
    out = tmp_path / f"{name}.png"
    # --screenshot fails (exit 1) when a lesson's note is not on screen.
    result = run_main(["--lesson", name, "--screenshot", str(out), "--steps", "3",
                       "--size", "1200x800"], {"QT_QPA_PLATFORM": "offscreen"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert "Traceback" not in result.stderr


def test_lesson_list_and_unknown_lesson():
    run = run_main(["--lesson", "?"], {"QT_QPA_PLATFORM": "offscreen"})
    assert run.returncode == 0
    for name in lesson_names():
        assert name in run.stdout
    run = run_main(["--lesson", "no-such-lesson"], {"QT_QPA_PLATFORM": "offscreen"})
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert "no lesson 'no-such-lesson'" in run.stderr


def test_lessons_menu_opens_a_lesson(qtbot, make_window):
    window = make_window(load=False)
    action = next(a for a in window.experiments.lessons_menu.actions()
                  if a.text() == load_lesson("padding-leak").title)  # fmt: skip
    action.trigger()
    qtbot.waitUntil(lambda: window.info is not None, timeout=15000)
    assert window.info.config.mask_padding is False
    assert window.controls.mask_padding.isChecked() is False
    assert window.tabs.currentWidget() is window.heatmaps
    assert window.experiments.note.isVisible()
    assert "[PAD]" in window.experiments.note.body.text()
    window.experiments.note.toggle.click()  # collapsible
    assert not window.experiments.note.body.isVisible()


def test_save_in_the_app_then_rerun_headless_gives_the_same_numbers(
    qtbot, make_window, tmp_path, monkeypatch
):
    """Train in the window with a live change at a known step (while paused, so the
    step is exact), save through File > Save experiment, re-run with the CLI."""
    from rnnviz.config import Config

    source = "sample:recall?length=8&n=200"
    window = make_window(Config(epochs=0, hidden_size=8, embed_dim=8), source=source)

    def steps_to(n: int) -> None:
        while window.last_frame is None or window.last_frame.snapshot.step < n:
            before = window.last_frame.snapshot.step if window.last_frame else 0
            window.controls.step_button.click()
            qtbot.waitUntil(lambda b=before: window.last_frame.snapshot.step > b, timeout=5000)

    steps_to(3)
    window.controls.set_lr(0.1)  # as a user drags the slider: a live change at step 3
    qtbot.wait(200)
    steps_to(7)
    path = tmp_path / "app.toml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    window.experiments.save_action.trigger()
    saved = experiment.load(path)
    assert saved.source == window.info.source and saved.steps == 7  # the canonical name
    assert [c.step for c in saved.changes] == [3]
    assert saved.changes[0].changes["lr"] == pytest.approx(0.1)
    # The replay (what `train --experiment` runs) gives the app's per-step losses exactly.
    from rnnviz.data import load_corpus
    from rnnviz.trainer import Trainer

    trainer = Trainer(load_corpus(source), saved.config)
    replayed = []
    while trainer.step_count < saved.steps:
        for changes in saved.changes_due(trainer.step_count):
            trainer.update(**changes)
        replayed.append(trainer.step().loss)
    assert list(window.train_history.arrays()["loss"]) == replayed
    run = cli("train", "--experiment", path, "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1])["steps"] == 7


def test_open_experiment_from_the_file_menu(qtbot, make_window, tmp_path, monkeypatch):
    from rnnviz.config import Config

    path = tmp_path / "open.toml"
    exp = experiment.Experiment(
        source="sample:recall?length=6&n=100", config=Config(hidden_size=5, epochs=0),
        steps=20, panel="corpus",
    )  # fmt: skip
    experiment.save(exp, path)
    window = make_window(load=False)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window.experiments.open_action.trigger()
    qtbot.waitUntil(lambda: window.info is not None, timeout=15000)
    assert window.info.config.hidden_size == 5
    assert window.info.source.startswith("sample:recall")
    assert window.tabs.currentWidget() is window.corpus_panel
    bad = tmp_path / "bad.toml"
    bad.write_text("[config]\nhiden_size = 3\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    window.experiments.open_action.trigger()
    assert window.message.isVisible() and "unknown setting" in (window.message.label.text())


def test_app_takes_the_train_commands_settings(tmp_path):
    from gui.app import build_parser, config_from_args

    args = build_parser().parse_args(
        [
            "--hidden",
            "12",
            "--embed-dim",
            "6",
            "--init",
            "orthogonal",
            "--maxlen",
            "40",
            "--recurrent-gain",
            "2.5",
            "--no-mask",
            "--clip",
            "none",
        ]
    )
    config = config_from_args(args)
    assert (config.hidden_size, config.embed_dim, config.init, config.maxlen) == (
        12, 6, "orthogonal", 40,
    )  # fmt: skip
    assert config.recurrent_gain == 2.5 and not config.mask_padding and config.clip == "none"
    assert config_from_args(build_parser().parse_args(["--hidden-size", "9"])).hidden_size == 9
    help_text = build_parser().format_help()
    for word in ("--hidden", "--experiment", "--lesson", "gradient_flow", "compare"):
        assert word in help_text


def test_main_opens_an_experiment_file(tmp_path):
    from rnnviz.config import Config

    path = tmp_path / "e.toml"
    experiment.save(
        experiment.Experiment(
            source="sample:recall?length=6&n=100", config=Config(hidden_size=5, epochs=0), steps=5
        ),
        path,
    )
    out = tmp_path / "e.png"
    env = {"QT_QPA_PLATFORM": "offscreen"}
    run = run_main(["--experiment", str(path), "--screenshot", str(out), "--steps", "2"], env)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes()[:8] == PNG_MAGIC
    bad = tmp_path / "bad.toml"
    bad.write_text("steps = -3\n")
    run = run_main(["--experiment", str(bad), "--screenshot", str(out)], env)
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert "steps must be a whole number" in run.stderr


@pytest.mark.parametrize("worker", ["process", "thread"])
def test_a_change_made_while_training_is_recorded_at_its_exact_step(
    qtbot, make_window, tmp_path, worker
):
    """The worker reports the step at which it applied a change: the saved experiment
    replays the window's run loss for loss."""
    from rnnviz.config import Config
    from rnnviz.data import load_corpus
    from rnnviz.trainer import Trainer

    source = "sample:recall?length=8&n=400"
    window = make_window(Config(epochs=0, hidden_size=8, embed_dim=8), source=source,
                         worker=worker)  # fmt: skip
    window.controls.train_button.click()
    qtbot.waitUntil(lambda: window.train_history.total >= 20, timeout=10000)
    window.controls.set_lr(0.05)  # while it trains
    qtbot.waitUntil(lambda: len(window.experiments.recorded) == 1, timeout=5000)
    qtbot.waitUntil(lambda: window.train_history.total >= 60, timeout=10000)
    window.controls.train_button.click()
    qtbot.waitUntil(window.training_stopped, timeout=5000)
    qtbot.wait(100)
    path = tmp_path / "running.toml"
    window.experiments.save(str(path))
    saved = experiment.load(path)
    (change,) = saved.changes
    assert 20 <= change.step < saved.steps and saved.steps == window.train_history.total
    trainer = Trainer(load_corpus(saved.source), saved.config)
    replayed = []
    while trainer.step_count < saved.steps:
        for changes in saved.changes_due(trainer.step_count):
            trainer.update(**changes)
        replayed.append(trainer.step().loss)
    losses = list(window.train_history.arrays()["loss"])
    assert len(losses) == saved.steps  # not decimated yet at this length
    assert losses == replayed


def test_switching_lessons_switches_the_task(qtbot, make_window):
    window = make_window()  # a classifier on the sentiment sample
    window.experiments.open_lesson("lm-memorise")
    qtbot.waitUntil(lambda: window.info is not None and window.info.task == "lm", timeout=20000)
    qtbot.waitUntil(lambda: not window.run_setup.pending, timeout=5000)  # its views set up
    assert window.info.source == "sample:prose" and window.info.config.hidden_size == 256
    assert window.sample_panel.isVisible()
    window.experiments.open_lesson("tanh-head")
    qtbot.waitUntil(lambda: window.info.task == "classify", timeout=20000)
    qtbot.waitUntil(lambda: not window.run_setup.pending, timeout=5000)  # its views set up
    assert window.info.config.head == "tanh" and window.info.source == "sample:topics"
    assert not window.sample_panel.isVisible()


def test_exploding_gradients_lesson_pauses_then_clipping_runs_on(qtbot, make_window):
    """The lesson in the window: Train pauses with the divergence message; Clipping: norm,
    Reset, Train runs past that step without the pause (the headless halves over the whole
    run: tests/test_lesson_claims.py)."""
    window = make_window(load=False)
    window.experiments.open_lesson("exploding-gradients")
    qtbot.waitUntil(lambda: window.info is not None, timeout=15000)
    assert window.info.config.recurrent_gain == 3.0 and window.info.config.clip == "none"
    from gui.window import PANELS

    assert window.tabs.currentIndex() == PANELS.index("gradient_flow")
    window.controls.train_button.click()
    qtbot.waitUntil(lambda: bool(window.diverged_message), timeout=20000)
    assert "loss exploded" in window.diverged_message
    assert window.message.isVisible() and "gradient clipping" in window.message.label.text()
    qtbot.waitUntil(lambda: not window.worker.running, timeout=5000)
    paused_at = int(re.search(r"at step (\d+)", window.diverged_message).group(1))
    assert paused_at <= 30
    window.controls.clip.setCurrentText("norm")  # as the note says
    window.controls.reset_button.click()
    qtbot.waitUntil(lambda: window.info.config.clip == "norm", timeout=15000)
    assert not window.diverged_message and not window.message.isVisible()
    window.controls.train_button.click()
    qtbot.waitUntil(lambda: window.train_history.total >= 3 * paused_at + 30, timeout=30000)
    window.controls.train_button.click()
    qtbot.waitUntil(window.training_stopped, timeout=5000)
    assert not window.diverged_message and not window.last_frame.snapshot.diverged
