"""Majority-class and bag-of-words baselines on the trainer's split."""

from __future__ import annotations

import numpy as np

from rnnviz.baselines import BagOfWords, lbfgs, majority_accuracy, word_presence
from rnnviz.config import Config
from rnnviz.data import load_corpus
from rnnviz.trainer import Trainer


def test_majority_is_the_training_majority_scored_on_validation():
    assert majority_accuracy(np.array([0, 1, 1, 1]), np.array([1, 0, 0, 1, 0])) == 0.4


def test_word_presence_is_binary_and_skips_padding():
    rows, cols = word_presence(np.array([[0, 0, 3, 3, 2], [0, 4, 0, 2, 2]]), 5)
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 2), (0, 3), (1, 2), (1, 4)]


def test_lbfgs_minimises_a_quadratic():
    target = np.array([3.0, -1.0, 0.5])
    scale = np.array([1.0, 10.0, 100.0])  # badly conditioned

    def f(x):
        d = x - target
        return float(np.sum(scale * d * d)), 2 * scale * d

    np.testing.assert_allclose(lbfgs(f, np.zeros(3), 100), target, atol=1e-6)


def test_bag_of_words_finds_the_deciding_word():
    """The word that decides the label gets the largest weight for its class."""
    rng = np.random.default_rng(0)
    ids = rng.integers(2, 30, size=(300, 6))
    labels = (ids == 7).any(axis=1).astype(np.int64)
    model = BagOfWords(30, 2, l2=1e-3).fit(ids, labels)
    assert np.mean(model.predict(ids) == labels) == 1.0
    assert np.argmax(model.W[:, 1] - model.W[:, 0]) == 7


def test_trainer_reports_both_baselines():
    trainer = Trainer(load_corpus("sample:topics"), Config())
    report = trainer.report()
    assert report["baseline_majority"] == 0.25  # four balanced classes
    assert 0.5 < report["baseline_bag_of_words"] <= 1.0
    assert trainer.baselines is trainer.baselines  # computed once
    no_val = Trainer(load_corpus("sample:topics"), Config(val_fraction=0.0)).report()
    assert no_val["baseline_majority"] is None and no_val["baseline_bag_of_words"] is None


def test_the_bag_of_words_is_bounded_on_large_corpora(monkeypatch):
    """Above the sample limit the fit sees a random subset, not every text."""
    from rnnviz import baselines

    seen = []
    fit = baselines.BagOfWords.fit
    monkeypatch.setattr(
        baselines.BagOfWords,
        "fit",
        lambda self, ids, labels, **kw: seen.append(len(ids)) or fit(self, ids, labels, **kw),
    )
    rng = np.random.default_rng(1)
    ids = rng.integers(4, 50, size=(300, 6))
    labels = rng.integers(0, 2, size=300)
    ids[:, 0] = 2 + labels  # word 2 or 3 decides the class
    result = baselines.compute_baselines(
        ids, labels, ids[:120], labels[:120], 50, 2, sample_limit=100
    )
    assert seen == [100]
    assert result.bag_of_words > 0.8  # the deciding word survives the sampling
