"""The closing report within a time budget: samples of each split, said in the report."""

from __future__ import annotations

import numpy as np

from rnnviz.config import Config
from rnnviz.corpus import Corpus
from rnnviz.lm_trainer import LanguageModelTrainer, lm_defaults
from rnnviz.trainer import Trainer
from rnnviz.training import REPORT_MIN_UNITS

TEXTS = ["good fine day", "bad awful day", "nice good work", "awful bad bug"]


def test_classifier_report_samples_each_split_when_time_is_short():
    corpus = Corpus(TEXTS * 1000, np.array([1, 0, 1, 0] * 1000), ["neg", "pos"], "test")
    trainer = Trainer(corpus, Config(batch_size=8))
    for _ in range(5):
        trainer.step()
    full = trainer.report()
    assert "report_sample" not in full
    short = trainer.report(max_seconds=1e-9)  # no time at all: the smallest sample
    n = REPORT_MIN_UNITS
    assert short["report_sample"] == {"train_examples": n, "val_examples": n}
    assert short["train_examples"] == full["train_examples"] == 3200  # the run's sizes stay
    assert abs(short["val_loss"] - full["val_loss"]) < 0.1  # a sample of the same loss
    assert trainer.report(max_seconds=1e9) == full  # time enough: everything


def test_language_model_report_cuts_the_validation_tail_when_time_is_short():
    corpus = Corpus([" ".join(TEXTS) * 2000], np.zeros(0, np.int64), [], "test")
    trainer = LanguageModelTrainer(corpus, lm_defaults(hidden_size=16, embed_dim=8))
    trainer.step()
    short = trainer.report(max_seconds=1e-9)
    assert short["report_sample"] == {"val_tokens": 2 * REPORT_MIN_UNITS}
    assert np.isfinite(short["val_loss"])
    assert "report_sample" not in trainer.report()
