"""A moving average of the weights for evaluation and checkpoints (config.weight_average)."""

from __future__ import annotations

import numpy as np

from rnnviz import checkpoint
from rnnviz.config import Config
from rnnviz.corpus import Corpus
from rnnviz.lm_trainer import LanguageModelTrainer, lm_defaults
from rnnviz.trainer import Trainer
from tests.test_trainer import separable_corpus


def test_average_follows_the_formula_and_evaluation_uses_it():
    trainer = Trainer(separable_corpus(), Config(weight_average=0.9, batch_size=8, lr=0.05))
    expected = None
    for _ in range(30):
        trainer.step()
        weights = trainer.model.params.flat
        if expected is None:
            expected = weights.astype(np.float64)
        else:
            d = min(0.9, (1 + trainer.step_count - 1) / (10 + trainer.step_count - 1))
            expected = d * expected + (1 - d) * weights
    np.testing.assert_allclose(trainer._average, expected, rtol=1e-4, atol=1e-6)
    live = trainer.model.params.flat.copy()
    averaged = trainer.evaluate()
    np.testing.assert_array_equal(trainer.model.params.flat, live)  # put back
    plain = trainer._evaluate(None, None)
    assert averaged != plain  # the average is another model
    trainer.model.params.flat[...] = trainer._average
    assert trainer._evaluate(None, None) == averaged
    trainer.model.params.flat[...] = live


def test_switching_off_live_and_checkpoint_holds_the_average(tmp_path):
    text = "to be or not to be, that is the question. " * 40
    corpus = Corpus([text], np.zeros(0, np.int64), [], "test")
    config = lm_defaults(hidden_size=16, embed_dim=8, batch_size=4, bptt=8, weight_average=0.99)
    trainer = LanguageModelTrainer(corpus, config)
    for _ in range(20):
        trainer.step()
    assert trainer._average is not None
    trainer.save(tmp_path / "m.npz")
    saved = checkpoint.load(tmp_path / "m.npz").model.params.flat
    np.testing.assert_allclose(saved, trainer._average)
    assert not np.allclose(saved, trainer.model.params.flat)
    trainer.update(weight_average=0.0)
    trainer.step()
    assert trainer._average is None
    live = trainer.model.params.flat.copy()
    trainer.evaluate()
    np.testing.assert_array_equal(trainer.model.params.flat, live)


def test_weight_average_checked():
    import pytest

    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="weight_average"):
            Config(weight_average=bad)
