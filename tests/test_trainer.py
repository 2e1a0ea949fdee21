"""Trainer: learns, reproducible, snapshots are immutable copies, NaN and early stopping."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.config import Config
from rnnviz.data import Corpus
from rnnviz.trainer import Trainer

POS = ["i love deep learning", "what a great day", "wonderful work", "this is nice", "so good"]
NEG = ["i hate bugs in my code", "this is terrible", "awful bugs again", "so bad", "not nice"]


def separable_corpus(repeat: int = 12) -> Corpus:
    texts = (POS + NEG) * repeat
    labels = np.array(([1] * len(POS) + [0] * len(NEG)) * repeat)
    return Corpus(texts, labels, ["negative", "positive"], "test")


def run(config: Config, steps: int):
    trainer = Trainer(separable_corpus(), config)
    return trainer, [trainer.step() for _ in range(steps)]


def test_loss_falls_and_accuracy_reaches_100_percent():
    trainer, snaps = run(Config(epochs=0, batch_size=8, hidden_size=16, lr=2e-3), 150)
    assert snaps[-1].loss < 0.05 * snaps[0].loss
    assert trainer.evaluate()[1] == 1.0
    assert trainer.evaluate(trainer.train_ids, trainer.train_labels)[1] == 1.0


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("head", ["softmax", "tanh"])
def test_every_optimizer_and_head_learns(optimizer, head):
    lr = {"sgd": 0.5, "momentum": 0.1, "adam": 0.01}[optimizer]
    config = Config(optimizer=optimizer, head=head, lr=lr, epochs=0, weight_decay=0.0)
    trainer, _ = run(config, 300)
    assert trainer.evaluate(trainer.train_ids, trainer.train_labels)[1] == 1.0


def test_first_loss_is_near_ln_c():
    _, snaps = run(Config(), 1)
    assert abs(snaps[0].loss - np.log(2)) < 0.1


def test_same_seed_same_numbers_and_other_seed_differs():
    a = [s.loss for s in run(Config(seed=3), 30)[1]]
    b = [s.loss for s in run(Config(seed=3), 30)[1]]
    c = [s.loss for s in run(Config(seed=4), 30)[1]]
    assert a == b
    assert a != c


def test_epochs_validation_and_finish():
    trainer = Trainer(separable_corpus(), Config(epochs=2, batch_size=16, eval_every=0))
    snaps = []
    while not trainer.finished:
        snaps.append(trainer.step())
    assert len(snaps) == 2 * trainer.steps_per_epoch
    assert snaps[-1].finished and snaps[-1].stop_reason == "epochs"
    assert [s.epoch for s in snaps if s.val_loss is not None] == [1, 2]
    trainer.update(epochs=3)  # a larger budget resumes the run
    assert not trainer.finished


def test_snapshot_arrays_are_read_only_copies():
    trainer = Trainer(separable_corpus(), Config())
    snap = trainer.step(capture=True)
    assert set(snap.params) == set(trainer.model.params) == set(snap.grads)
    before = snap.params["W_h"].copy()
    trainer.step()
    np.testing.assert_array_equal(snap.params["W_h"], before)  # not the live array
    with pytest.raises(ValueError):
        snap.params["W_h"][0, 0] = 1.0
    P, T = trainer.probe_ids.shape
    assert snap.probe_hidden.shape == (P, T, trainer.config.hidden_size)
    assert snap.probe_proba.shape == (P, 2)
    assert trainer.step().params == {}  # no copies unless asked


def test_nan_loss_stops_with_advice_and_keeps_finite_weights():
    config = Config(lr=1.0, clip="none", optimizer="sgd", epochs=0)
    trainer = Trainer(separable_corpus(), config)
    trainer.model.params["b_out"][0] = np.inf  # as if a weight had overflowed: NaN loss
    kept = trainer.model.params.flat.copy()
    snap = trainer.step()
    assert snap.finished and snap.diverged and not snap.finite
    assert "lower the learning rate" in snap.stop_reason
    assert f"step {snap.step}" in snap.stop_reason
    np.testing.assert_array_equal(trainer.model.params.flat, kept)  # the NaN step not taken


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_finite_loss_that_explodes_pauses_like_nan(optimizer):
    """lr 50 with clipping off: the loss climbs to hundreds of nats without overflowing."""
    trainer = Trainer(separable_corpus(), Config(lr=50, clip="none", optimizer=optimizer, epochs=0))
    for _ in range(100):
        snap = trainer.step()
        if snap.finished:
            break
    assert snap.finished and snap.diverged and snap.finite
    assert snap.step <= 20, "caught within a few steps of exploding"
    assert "exploded" in snap.stop_reason and "lower the learning rate" in snap.stop_reason
    assert trainer.explosion_bound == pytest.approx(10 * np.log(2))


def test_normal_training_never_counts_as_exploded():
    _, snaps = run(Config(epochs=0, batch_size=1, lr=0.05), 400)  # noisy, one text a step
    assert not any(s.diverged for s in snaps)


def test_early_stopping_restores_best_weights():
    config = Config(epochs=0, patience=2, eval_every=5, lr=0.05)
    trainer = Trainer(separable_corpus(), config)
    best = None
    while not trainer.finished and trainer.step_count < 2000:
        snap = trainer.step()
        if snap.val_loss is not None and snap.val_loss == snap.best_val_loss:
            best = trainer.model.params.flat.copy()
    assert trainer.stop_reason == "early stopping"
    np.testing.assert_array_equal(trainer.model.params.flat, best)


def test_live_updates_and_shape_changes_refused():
    trainer = Trainer(separable_corpus(), Config())
    trainer.update(lr=0.123, clip="value", clip_value=0.5, batch_size=4)
    assert trainer.optimizer.lr == 0.123 and trainer.optimizer.clip_value == 0.5
    assert trainer.optimizer.clip_norm is None
    assert trainer.step().lr == 0.123
    with pytest.raises(ValueError, match="reset"):
        trainer.update(hidden_size=8)


def test_save_and_continue(tmp_path):
    trainer, _ = run(Config(), 40)
    trainer.save(tmp_path / "m.npz")
    again = Trainer.load(tmp_path / "m.npz", separable_corpus())
    np.testing.assert_array_equal(again.model.params.flat, trainer.model.params.flat)
    assert again.evaluate() == trainer.evaluate()


def test_recurrent_gain_explodes_and_the_seed_init_vanishes_gradients():
    """The gradient-flow view's two lessons, measured on a long sequence task."""
    from rnnviz.data import load_corpus

    corpus = load_corpus("sample:recall?length=40&n=200")

    def flow(**settings):
        trainer = Trainer(corpus, Config(clip="none", optimizer="sgd", **settings))
        norms = trainer.step(capture=True).state_grad_norms  # ||dL/dh_t||, t = 1..T
        return norms[0] / norms[-1]  # first step's share of the last step's gradient

    assert flow(init="orthogonal", recurrent_gain=3.0) > 1e3  # exploding
    assert flow(init="orthogonal") < 10  # orthogonal W_h: neither
    assert flow(init="uniform") < 1e-6  # the seed's init saturates tanh: vanished
