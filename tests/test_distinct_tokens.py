"""The RNN's input as a batch's distinct tokens equals the per-position input."""

from __future__ import annotations

import numpy as np
import pytest

import rnnviz.layers
from rnnviz import RNNClassifier
from rnnviz.cells import CELLS
from rnnviz.language_model import RNNLanguageModel
from rnnviz.layers import Embedding, distinct_pays

V, D, H, C = 9, 4, 6, 3


def padded_batch(rng, rows=5, steps=8):
    """Repeated ids, pre-padding of varied lengths (partial steps, one all-[PAD] step)."""
    ids = rng.integers(1, V, size=(rows, steps))
    for row, n_pad in enumerate([1, 0, 4, 2, 1][:rows]):
        ids[row, :n_pad] = 0
    return ids


def run_both(monkeypatch, run):
    """run() with the distinct path forced off, then on; both results."""
    results = []
    for use in (False, True):
        monkeypatch.setattr(rnnviz.layers, "distinct_pays", lambda *sizes, use=use: use)
        results.append(run())
    return results


def copied(loss, grads):
    return loss, {k: v.copy() for k, v in grads.items()}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("mask_padding", [True, False])
def test_classifier_paths_agree(monkeypatch, mask_padding, cell):
    rng = np.random.default_rng(0)
    model = RNNClassifier(V, D, H, C, mask_padding=mask_padding, dtype=np.float64, seed=1,
                          cell=cell)  # fmt: skip
    model.params["W_h"][...] = rng.normal(0, 0.5, model.params["W_h"].shape)
    ids, labels = padded_batch(rng), rng.integers(0, C, size=5)

    def run():
        loss, grads = copied(*model.loss_and_grads(ids, labels))
        return loss, grads, model.embedding.tokens, model.forward(ids).hidden

    (loss_a, grads_a, tokens_a, hidden_a), (loss_b, grads_b, tokens_b, hidden_b) = run_both(
        monkeypatch, run
    )
    assert tokens_a is None  # both paths really ran (the gated cells take vectors only)
    assert (tokens_b is not None) == model.rnn.takes_tokens == (cell == "rnn")
    assert abs(loss_a - loss_b) < 1e-12
    for name in grads_a:
        np.testing.assert_allclose(grads_b[name], grads_a[name], atol=1e-12, err_msg=name)
    np.testing.assert_allclose(hidden_b, hidden_a, atol=1e-12)
    assert np.all(grads_b["embedding"][0] == 0)


@pytest.mark.parametrize("cell", CELLS)
def test_language_model_paths_agree_and_dropout_uses_positions(monkeypatch, cell):
    rng = np.random.default_rng(1)
    model = RNNLanguageModel(V, D, H, dtype=np.float64, seed=2, cell=cell)
    ids = padded_batch(rng)
    ids[1, 5] = 0  # a [PAD] inside a row too: the state is carried
    h0 = rng.normal(0, 0.5, size=(5, model.state_size))

    def run():
        loss, grads = copied(*model.loss_and_grads(ids, h0=h0, output_dropout=0.0))
        return loss, grads, model.dh0.copy(), model.last_state.copy()

    (loss_a, grads_a, dh0_a, last_a), (loss_b, grads_b, dh0_b, last_b) = run_both(monkeypatch, run)
    assert abs(loss_a - loss_b) < 1e-12
    for name in grads_a:
        np.testing.assert_allclose(grads_b[name], grads_a[name], atol=1e-12, err_msg=name)
    np.testing.assert_allclose(dh0_b, dh0_a, atol=1e-12)
    np.testing.assert_allclose(last_b, last_a, atol=1e-12)
    # Input dropout needs each position's own vector: the distinct path stands aside.
    model.loss_and_grads(ids, dropout=0.3)
    assert model.embedding.tokens is None


def test_distinct_tokens_describe_the_batch():
    weight = np.arange(V * D, dtype=np.float64).reshape(V, D)
    layer = Embedding({"embedding": weight}, {"embedding": np.zeros_like(weight)})
    ids = np.array([[3, 3, 0], [5, 3, 8]]).T  # (T, B) = (3, 2)
    rnnviz_pays = rnnviz.layers.distinct_pays
    try:
        rnnviz.layers.distinct_pays = lambda *sizes: True
        tokens = layer.distinct(ids, H)
        assert layer.distinct(ids[:, :1], H) is None  # one row: the one-row path's input
    finally:
        rnnviz.layers.distinct_pays = rnnviz_pays
    np.testing.assert_array_equal(tokens.ids, [0, 3, 5, 8])
    np.testing.assert_array_equal(tokens.ids[tokens.index], ids)
    np.testing.assert_array_equal(tokens.vectors, weight[[0, 3, 5, 8]])
    with pytest.raises(IndexError):
        layer.distinct(np.array([[1, V], [2, 3]]), H)


def test_cost_rule():
    # The benchmark's large size, V=5000 uniform ids: 4,013 distinct of 8,192 pays.
    assert distinct_pays(8192, 4013, 128, 256)
    # The small size (2,048 positions, ~1,670 distinct): too few repeats for H = 2 D.
    assert not distinct_pays(2048, 1670, 64, 128)
    # A character-level language model batch: a few dozen distinct of thousands.
    assert distinct_pays(2048, 60, 64, 512)
    assert not distinct_pays(100, 100, 64, 32)  # no repeat, nothing saved
    assert distinct_pays(100, 99, 64, 32)  # H <= D: any repeat pays
