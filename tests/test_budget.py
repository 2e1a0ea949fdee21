"""The memory estimate refuses runs that cannot fit, before allocating anything."""

from __future__ import annotations

import pytest

from rnnviz import budget
from rnnviz.config import Config
from rnnviz.data import Corpus
from rnnviz.trainer import Trainer

GB = 10**9


def test_a_huge_hidden_size_is_refused_in_one_line_naming_the_weights():
    with pytest.raises(budget.MemoryBudgetError) as info:
        budget.check_fits(Config(hidden_size=100_000), 5000, 2, 1000, 50, available=16 * GB)
    text = str(info.value)
    assert "\n" not in text and "hidden size 100,000" in text and "the weights" in text
    assert "16.0 GB is available" in text


def test_a_huge_maxlen_is_refused_naming_the_padded_length():
    with pytest.raises(budget.MemoryBudgetError, match="maxlen 100,000"):
        budget.check_fits(Config(), 5000, 2, 5000, 100_000, available=16 * GB)


def test_the_defaults_fit_and_the_estimate_grows_with_the_sizes():
    budget.check_fits(Config(), 20_000, 20, 100_000, 100, available=2 * GB)
    budget.check_fits(Config(task="lm", hidden_size=512), 65, 65, 1, 10**6, available=2 * GB)
    small = sum(budget.estimate(Config(), 5000, 2, 1000, 50).values())
    wide = sum(budget.estimate(Config(hidden_size=1000), 5000, 2, 1000, 50).values())
    assert wide > 10 * small


def test_the_trainer_checks_before_it_allocates(monkeypatch):
    monkeypatch.setattr(budget, "available_bytes", lambda: 10**6)  # a 1 MB machine
    corpus = Corpus(["good day", "bad day"] * 10, [1, 0] * 10, ["neg", "pos"], "test")
    with pytest.raises(budget.MemoryBudgetError):
        Trainer(corpus, Config(hidden_size=2000))
