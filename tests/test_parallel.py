"""Data parallelism over the batch (rnnviz.parallel): same numbers, other threads."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import RNNClassifier
from rnnviz.config import Config
from rnnviz.parallel import BatchSplit
from tests.test_trainer import run

V, D, H, C = 30, 6, 9, 3


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("head", ["softmax", "tanh"])
@pytest.mark.parametrize(("batch", "threads"), [(8, 2), (7, 2), (10, 3), (1, 2)])
def test_split_equals_the_whole_batch(head, batch, threads, cell, token_input):
    rng = np.random.default_rng(0)
    model = RNNClassifier(V, D, H, C, head=head, dtype=np.float64, seed=1, cell=cell)
    ids = rng.integers(1, V, size=(batch, 5))
    ids[0, :2] = 0  # some pre-padding
    labels = rng.integers(0, C, size=batch)
    loss, grads, output = model.loss_and_grads(ids, labels, return_output=True)
    expected = grads.flat.copy()
    split = BatchSplit(model, threads)
    try:
        loss2, grads2, output2 = split.loss_and_grads(ids, labels, return_output=True)
    finally:
        split.close()
    assert grads2 is model.grads  # the result lands where callers expect it
    assert abs(loss - loss2) < 1e-12
    np.testing.assert_allclose(grads2.flat, expected, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(output2, output, rtol=1e-12)


def test_split_can_disagree():
    """The comparison above is not vacuous: a wrong weight per part is caught."""
    rng = np.random.default_rng(1)
    model = RNNClassifier(V, D, H, C, dtype=np.float64)
    ids, labels = rng.integers(1, V, size=(6, 4)), rng.integers(0, C, size=6)
    whole = model.loss_and_grads(ids, labels)[1].flat.copy()
    split = BatchSplit(model, 2)
    parts = [split.replicas[0].loss_and_grads(ids[:3], labels[:3])[1].flat.copy(),
             split.replicas[1].loss_and_grads(ids[3:], labels[3:])[1].flat.copy()]  # fmt: skip
    split.close()
    assert not np.allclose(parts[0] + parts[1], whole)  # summed instead of averaged
    np.testing.assert_allclose((parts[0] + parts[1]) / 2, whole, rtol=1e-10, atol=1e-13)


def test_replica_shares_parameters_not_gradients():
    model = RNNClassifier(V, D, H, C)
    twin = model.replica()
    assert twin.params is model.params
    assert not np.shares_memory(twin.grads.flat, model.grads.flat)
    model.params["W_h"][0, 0] = 7.0
    assert twin.params["W_h"][0, 0] == 7.0


def test_trainer_with_batch_threads_matches_and_repeats():
    # Dropout masks come from each replica's own generator: off for the comparison.
    plain = Config(seed=3, batch_size=8, embed_dropout=0.0, output_dropout=0.0)
    one = [s.loss for s in run(plain, 30)[1]]
    two = [s.loss for s in run(plain.replace(batch_threads=2), 30)[1]]
    again = [s.loss for s in run(plain.replace(batch_threads=2), 30)[1]]
    assert two == again  # deterministic for a given number of threads
    np.testing.assert_allclose(two, one, rtol=1e-4)  # float32: rounding only
    with_dropout = [s.loss for s in run(Config(seed=3, batch_size=8, batch_threads=2), 30)[1]]
    assert with_dropout == [
        s.loss for s in run(Config(seed=3, batch_size=8, batch_threads=2), 30)[1]
    ]
    trainer, _ = run(Config(seed=3, batch_size=8, batch_threads=2, epochs=0), 150)
    assert trainer.evaluate(trainer.train_ids, trainer.train_labels)[1] == 1.0


def test_batch_threads_checked():
    with pytest.raises(ValueError, match="batch_threads"):
        Config(batch_threads=0)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize(("lanes", "threads"), [(6, 2), (5, 2), (7, 3)])
def test_language_model_split_equals_the_whole_batch(lanes, threads, cell, token_input):
    """Lanes split across threads: same loss (a mean over real targets, weighted by each
    part's count), gradients, carried state, h0 gradient and time-major outputs."""
    from rnnviz.language_model import RNNLanguageModel

    rng = np.random.default_rng(2)
    model = RNNLanguageModel(V, D, H, dtype=np.float64, seed=1, cell=cell)
    ids = rng.integers(1, V, size=(lanes, 5))
    targets = rng.integers(1, V, size=(lanes, 5))
    targets[0, :3] = 0  # uneven real-token counts per part
    h0 = rng.normal(0, 0.5, size=(lanes, model.state_size))
    loss, grads, proba = model.loss_and_grads(ids, targets, h0=h0, return_output=True)
    expected = grads.flat.copy()
    state, dh0 = model.last_state.copy(), model.dh0.copy()
    split = BatchSplit(model, threads)
    try:
        loss2, grads2, proba2 = split.loss_and_grads(ids, targets, h0=h0, return_output=True)
    finally:
        split.close()
    assert abs(loss - loss2) < 1e-12
    np.testing.assert_allclose(grads2.flat, expected, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(model.last_state, state, rtol=1e-12)
    np.testing.assert_allclose(model.dh0, dh0, rtol=1e-12)
    np.testing.assert_allclose(proba2, proba, rtol=1e-12)


def test_language_model_trainer_with_batch_threads():
    from rnnviz.corpus import Corpus
    from rnnviz.lm_trainer import LanguageModelTrainer, lm_defaults

    text = "the quick brown fox jumps over the lazy dog. " * 60
    corpus = Corpus([text], np.zeros(0, np.int64), [], "test")

    def losses(**changes):
        plain = dict(output_dropout=0.0, weight_average=0.0, lr=5e-3)  # exact comparisons
        config = lm_defaults(hidden_size=16, embed_dim=8, batch_size=8, bptt=8,
                             **{**plain, **changes})  # fmt: skip
        trainer = LanguageModelTrainer(corpus, config)
        return [trainer.step().loss for _ in range(40)], trainer

    one, _ = losses()
    two, trainer = losses(batch_threads=2)
    again, _ = losses(batch_threads=2, output_dropout=0.2)
    assert again == losses(batch_threads=2, output_dropout=0.2)[0]  # deterministic
    np.testing.assert_allclose(two, one, rtol=1e-4)  # float32 rounding only
    assert two[-1] < 0.75 * two[0]  # learning
    assert trainer.state.shape == (8, 16)
    # Validation streams split over the threads too: the same figures.
    split_eval = trainer.evaluate()
    trainer._eval_split = None
    np.testing.assert_allclose(split_eval, trainer.evaluate(), rtol=1e-6)
    assert LanguageModelTrainer(corpus, lm_defaults(blas_threads=2))._eval_split.threads == 2


@pytest.mark.parametrize("optimizer", ["adam", "momentum", "sgd"])
def test_optimizer_update_in_slices_is_the_same_update(optimizer):
    """A large flat update split over threads changes every element exactly as one pass."""
    from rnnviz.optim import make_optimizer
    from rnnviz.parallel import PARALLEL_MIN_SIZE

    model = RNNClassifier(3000, 32, 16, 2, seed=0)
    assert model.params.flat.size >= PARALLEL_MIN_SIZE
    twin = RNNClassifier(3000, 32, 16, 2, seed=0)
    config = Config(optimizer=optimizer, clip_value=1e-3)  # clipping on, too
    plain, sliced = make_optimizer(config), make_optimizer(config)
    split = BatchSplit(twin, 2)
    sliced.parallel = split
    rng = np.random.default_rng(0)
    try:
        for _ in range(3):
            ids, labels = rng.integers(1, 3000, size=(8, 5)), rng.integers(0, 2, size=8)
            plain.step(model.params, model.loss_and_grads(ids, labels)[1])
            sliced.step(twin.params, twin.loss_and_grads(ids, labels)[1])
    finally:
        split.close()
    np.testing.assert_array_equal(twin.params.flat, model.params.flat)
    assert not np.array_equal(twin.params.flat, RNNClassifier(3000, 32, 16, 2, seed=0).params.flat)
