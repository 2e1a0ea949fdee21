"""Experiment files: TOML that reads back to the same run, and re-runs to the same numbers."""

from __future__ import annotations

import json
import math

import pytest

from rnnviz import experiment
from rnnviz.config import Config
from rnnviz.data import load_corpus
from rnnviz.experiment import Experiment, ExperimentError, LiveChange
from rnnviz.trainer import Trainer
from tests.test_cli import cli

RECALL = "sample:recall?length=12&n=200"
TIMING = ("seconds", "train_seconds", "tokens_per_second", "report_seconds", "saved_experiment")


def test_round_trip_keeps_every_field():
    config = Config(hidden_size=7, lr=1e-5 / 3, recurrent_gain=3.0, clip="none", seed=11,
                    mask_padding=False, weight_average=0.999)  # fmt: skip
    exp = Experiment(
        source='data/it\'s "quoted"\tä.tsv',
        config=config,
        steps=123,
        changes=(LiveChange(10, {"clip": "norm", "lr": 0.25}), LiveChange(40, {"epochs": 3})),
        label_column="label",
        title="A title",
        panel="gradient_flow",
        note="Line one with 'quotes' and \"double\" ones.\nLine two: ln C, [PAD], 1e-3.",
    )
    back = experiment.loads(experiment.dumps(exp))
    assert back == exp
    assert back.config.to_dict() == config.to_dict()  # every field, floats exact


def test_missing_settings_take_the_task_defaults():
    exp = experiment.loads('source = "sample:prose"\n[config]\ntask = "lm"\nbptt = 16\n')
    from rnnviz.lm_trainer import lm_defaults

    assert exp.config == lm_defaults().replace(bptt=16)
    assert experiment.loads("").config == Config()


@pytest.mark.parametrize(
    "text, message",
    [
        ("[config]\nhiden_size = 3\n", "unknown setting 'hiden_size'"),
        ("[config]\nhidden_size = 0\n", "hidden_size must be at least 1"),
        ("source = \n", "not valid TOML"),
        ("stepz = 3\n", "unknown key 'stepz'"),
        ("steps = -1\n", "steps must be a whole number"),
        ("[[change]]\nlr = 0.1\n", "needs a whole-number step"),
        ("[[change]]\nstep = 3\nclip = 'sideways'\n", "clip must be one of"),
    ],
)
def test_bad_files_say_what_is_wrong(text, message):
    with pytest.raises(ExperimentError, match=message):
        experiment.loads(text)


def test_non_finite_and_multiline_values_are_valid_toml():
    for value in (math.inf, -math.inf, 1e300, 5e-324, 0.1 + 0.2, 1e-05):
        assert experiment.tomllib.loads(f"x = {experiment._value(value)}")["x"] == value
    assert math.isnan(experiment.tomllib.loads(f"x = {experiment._value(math.nan)}")["x"])
    text = "a\nb'''c\x7f"
    assert experiment.loads(f"[lesson]\nnote = {experiment._value(text)}\n").note == text


def test_cli_save_then_rerun_gives_identical_metrics(tmp_path):
    path = tmp_path / "run.toml"
    first = cli("train", "--data", RECALL, "--epochs", "2", "--hidden", "12", "--lr", "0.02",
                "--json", "--save-experiment", path)  # fmt: skip
    assert first.returncode == 0, first.stderr
    saved = experiment.load(path)
    assert saved.steps > 0 and saved.config.hidden_size == 12 and saved.source == RECALL
    second = cli("train", "--experiment", path, "--json")
    assert second.returncode == 0, second.stderr
    a, b = (json.loads(r.stdout.strip().splitlines()[-1]) for r in (first, second))
    for key in TIMING:
        a.pop(key, None), b.pop(key, None)
    assert a == b


def test_live_changes_are_applied_at_their_step(tmp_path):
    """The CLI's re-run equals a trainer stepped by hand with the change at step 5,
    and differs from the run without it."""
    config = Config(hidden_size=8, embed_dim=8, epochs=0, lr=0.01)
    change = {"lr": 0.2, "clip": "none"}
    exp = Experiment(source=RECALL, config=config, steps=12, changes=(LiveChange(5, change),))
    path = tmp_path / "live.toml"
    experiment.save(exp, path)
    run = cli("train", "--experiment", path, "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["steps"] == 12

    def by_hand(change_at: int | None) -> float:
        trainer = Trainer(load_corpus(RECALL), config)
        for _ in range(12):
            if trainer.step_count == change_at:
                trainer.update(**change)
            trainer.step()
        return trainer.report()["train_loss"]

    assert report["train_loss"] == by_hand(5)
    assert report["train_loss"] != by_hand(None)
    assert report["train_loss"] != by_hand(6)


def test_options_beside_an_experiment_override_it(tmp_path):
    path = tmp_path / "e.toml"
    experiment.save(Experiment(source=RECALL, config=Config(epochs=1, hidden_size=4)), path)
    run = cli("train", "--experiment", path, "--hidden-size", "6", "--json",
              "--save-experiment", tmp_path / "out.toml")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert experiment.load(tmp_path / "out.toml").config.hidden_size == 6


def test_an_endless_experiment_is_refused_in_one_line(tmp_path):
    path = tmp_path / "endless.toml"
    experiment.save(Experiment(source=RECALL, config=Config(epochs=0)), path)
    run = cli("train", "--experiment", path)
    assert run.returncode == 2 and "nothing would stop this run" in run.stderr
    assert "Traceback" not in run.stderr


def test_truncation_is_said_in_one_line():
    run = cli("train", "--data", "sample:recall?length=30&n=100", "--maxlen", "20",
              "--epochs", "1", "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    notes = [line for line in run.stderr.splitlines() if line.startswith("note: ")]
    assert notes == ["note: max length 20 cuts 100 texts, dropping 1,000 tokens from their "
                     "start (raise --maxlen to keep them)"]  # fmt: skip
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert (report["truncated_texts"], report["truncated_tokens"]) == (100, 1000)
