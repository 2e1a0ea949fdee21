"""Config refuses numbers that cannot be meant, with one line naming the field."""

from __future__ import annotations

import math

import pytest

from rnnviz.config import Config

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"clip_value": -1.0}, "clip_value"),  # trains uphill
        ({"clip_value": 0.0}, "clip_value"),
        ({"lr": INF}, "lr"),
        ({"lr": 1e-300}, "lr"),  # never moves a float32 weight
        ({"lr": 1e38}, "lr"),
        ({"lr": NAN}, "lr"),
        ({"momentum": NAN}, "momentum"),
        ({"momentum": 1.0}, "momentum"),
        ({"recurrent_gain": INF}, "recurrent_gain"),
        ({"recurrent_gain": 1e6}, "recurrent_gain"),
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"weight_decay": NAN}, "weight_decay"),
        ({"weight_decay": 1e6}, "weight_decay"),
        ({"embed_dropout": 1.0}, "embed_dropout"),
        ({"output_dropout": -0.1}, "output_dropout"),
        ({"output_dropout": NAN}, "output_dropout"),
        ({"val_fraction": NAN}, "val_fraction"),
        ({"lr_decay": 0.0}, "lr_decay"),
        ({"weight_average": INF}, "weight_average"),
        ({"hidden_size": 10**9}, "hidden_size"),
        ({"maxlen": 10**9}, "maxlen"),
        ({"blas_threads": -1}, "blas_threads"),
    ],
)
def test_numbers_that_cannot_be_meant_are_refused(changes, field):
    with pytest.raises(ValueError, match=field) as info:
        Config(**changes)
    assert "\n" not in str(info.value)


def test_live_changes_are_validated_too():
    config = Config()
    with pytest.raises(ValueError, match="clip_value"):
        config.replace(clip_value=0.0)
    with pytest.raises(ValueError, match="lr"):
        config.replace(lr=INF)


@pytest.mark.parametrize(
    "changes",
    [
        {"lr": 1e-8},
        {"lr": 1e3},
        {"lr": 50.0, "clip": "none"},  # diverges, but may be meant (the trainer pauses)
        {"clip_value": 1e-3},
        {"momentum": 0.0},
        {"weight_decay": 1.0, "lr": 1.0},  # the app's extremes
        {"weight_decay": 0.1, "lr": 50.0},  # diverges, but may be meant
        {"embed_dropout": 0.95},
        {"recurrent_gain": 10.0},
    ],
)
def test_numbers_at_the_edges_are_accepted(changes):
    Config(**changes)


def test_live_fields_are_declared_once_in_config_and_used_by_both_trainers():
    from rnnviz.config import LIVE, live_fields

    classify, lm = live_fields("classify"), live_fields("lm")
    assert set(classify) | set(lm) == set(LIVE)
    assert "word_dropout" in classify and "word_dropout" not in lm
    assert "lr_schedule" in lm and "lr_schedule" not in classify
    assert Config().live_fields() == classify
    assert Config.for_task("lm").live_fields() == lm
    assert not set(LIVE) & set(Config.SHAPE_FIELDS)  # a live field never needs a reset


def test_task_defaults_live_in_config():
    from rnnviz.config import LM_DEFAULTS, lm_defaults
    from rnnviz.lm_trainer import lm_defaults as lm_defaults_of_trainer

    assert Config.for_task("classify") == Config()
    lm = Config.for_task("lm")
    assert lm == lm_defaults() == lm_defaults_of_trainer()
    assert lm.task == "lm" and lm.hidden_size == LM_DEFAULTS["hidden_size"]
    assert Config.for_task("lm", "fast").hidden_size == 256
    assert Config.for_task("lm", epochs=0).epochs == 0
    with pytest.raises(ValueError, match="preset"):
        Config.for_task("lm", "huge")
