"""Every backward pass against central finite differences, in float64."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import RNNClassifier
from tests.gradcheck import numerical_grad, relative_error

V, D, H, C = 12, 5, 7, 3


def batch(rng, padded: bool):
    ids = rng.integers(2, V, size=(4, 6))
    if padded:  # pre-padding of varied lengths, one row with no padding at all
        for row, n_pad in enumerate([3, 0, 5, 1]):
            ids[row, :n_pad] = 0
    labels = rng.integers(0, C, size=4)
    return ids, labels


@pytest.mark.parametrize("head", ["softmax", "tanh"])
@pytest.mark.parametrize("mask_padding", [True, False])
@pytest.mark.parametrize("padded", [True, False])
def test_gradients_match_finite_differences(head, mask_padding, padded, token_input):
    rng = np.random.default_rng(1)
    model = RNNClassifier(V, D, H, C, head=head, mask_padding=mask_padding, dtype=np.float64)
    # Larger, signed weights than the init, so tanh works in its curved part.
    for name, p in model.params.items():
        if name != "embedding":
            p[...] = rng.normal(0, 0.5, p.shape)
    ids, labels = batch(rng, padded)
    _, grads = model.loss_and_grads(ids, labels)
    grads = {k: v.copy() for k, v in grads.items()}

    def loss():
        return model.loss_and_grads(ids, labels)[0]

    for name, param in model.params.items():
        numeric = numerical_grad(loss, param)
        if name == "embedding":
            # [PAD] is frozen by definition (as torch's padding_idx): no gradient, even
            # though without the mask its (zero) vector does feed the recurrence.
            numeric[0] = 0.0
        err = relative_error(grads[name], numeric)
        assert err < 1e-6, f"{name}: relative error {err:.2e}"
    assert np.all(grads["embedding"][0] == 0), "[PAD] row must get no gradient"


def test_gradient_check_can_fail():
    """A wrong gradient is caught: the check is not vacuous."""
    rng = np.random.default_rng(2)
    model = RNNClassifier(V, D, H, C, dtype=np.float64)
    ids, labels = batch(rng, padded=True)
    _, grads = model.loss_and_grads(ids, labels)
    wrong = grads["W_h"].copy() * 1.001
    numeric = numerical_grad(lambda: model.loss_and_grads(ids, labels)[0], model.params["W_h"])
    assert relative_error(wrong, numeric) > 1e-6


def test_mask_carries_state_through_padding():
    """With the mask, a pre-padded sentence gives the same final state as unpadded."""
    model = RNNClassifier(V, D, H, C, dtype=np.float64, mask_padding=True)
    short = np.array([[3, 4, 5]])
    padded = np.array([[0, 0, 0, 3, 4, 5]])
    a, b = model.forward(short), model.forward(padded)
    np.testing.assert_allclose(a.proba, b.proba, rtol=1e-12)
    np.testing.assert_allclose(b.hidden[0, :3], 0.0)
    unmasked = RNNClassifier(V, D, H, C, dtype=np.float64, mask_padding=False)
    unmasked.params.flat[...] = model.params.flat
    unmasked.params["b_h"][...] = 0.3  # a nonzero bias leaks tanh(b_h) through [PAD] steps
    model.params["b_h"][...] = 0.3
    assert not np.allclose(unmasked.forward(padded).proba, model.forward(padded).proba)


def test_pad_row_stays_zero_through_training():
    from rnnviz import Adam

    rng = np.random.default_rng(3)
    model = RNNClassifier(V, D, H, C)
    opt = Adam(lr=0.05)
    for _ in range(20):
        ids, labels = batch(rng, padded=True)
        _, grads = model.loss_and_grads(ids, labels)
        opt.step(model.params, grads)
    assert np.all(model.params["embedding"][0] == 0)
    assert model.params["embedding"][2:].std() > 0


def test_embedding_scatter_adds_repeated_ids_on_both_paths():
    """Repeated ids add up, [PAD] gets nothing: the one-hot product for few tokens and a
    small vocabulary, the flat add.at beyond (rnnviz.layers.ONE_HOT_LIMIT)."""
    from rnnviz.layers import ONE_HOT_LIMIT, Embedding

    rng = np.random.default_rng(5)
    assert 9 * 10 <= ONE_HOT_LIMIT < 9 * 1000
    for n_tokens in (10, 1000):
        weight = rng.random((9, 4))
        grad = np.zeros_like(weight)
        layer = Embedding({"embedding": weight}, {"embedding": grad})
        ids = rng.integers(0, 9, size=(n_tokens, 1))
        layer.forward(ids)
        d_x = rng.standard_normal((n_tokens, 1, 4))
        layer.backward(d_x)
        expected = np.zeros_like(weight)
        for i, row in zip(ids.ravel(), d_x.reshape(-1, 4), strict=True):
            expected[i] += row
        expected[0] = 0
        np.testing.assert_allclose(grad, expected, atol=1e-12)


def test_state_gradient_norms_match_finite_differences():
    """||dL/dh_t|| recorded in backward equals the chain rule worked by hand."""
    rng = np.random.default_rng(4)
    model = RNNClassifier(V, D, H, C, dtype=np.float64, mask_padding=False)
    for name, p in model.params.items():
        if name != "embedding":
            p[...] = rng.normal(0, 0.5, p.shape)
    ids, labels = batch(rng, padded=False)
    model.rnn.track_state_grads = True
    model.loss_and_grads(ids, labels)
    recorded = model.rnn.state_grad_norms.copy()
    T = ids.shape[1]
    assert recorded.shape == (T,)
    assert recorded[-1] > 0 and np.all(np.isfinite(recorded))
    # The last step's gradient is W_out-driven: ||dz W_out^T|| computed by hand.
    from rnnviz.losses import softmax_cross_entropy

    out = model.forward(ids)
    _, dz, _ = softmax_cross_entropy(out.logits, labels)
    expected_last = np.linalg.norm(dz @ model.params["W_out"].T)
    assert abs(recorded[-1] - expected_last) < 1e-12
    # One step earlier: dh_{T-1} = (dh_T * (1 - h_T^2)) W_h^T.
    h_last = out.hidden[:, -1]
    dh_prev = ((dz @ model.params["W_out"].T) * (1 - h_last**2)) @ model.params["W_h"].T
    assert abs(recorded[-2] - np.linalg.norm(dh_prev)) < 1e-12


@pytest.mark.parametrize("head", ["softmax", "tanh"])
@pytest.mark.parametrize("leading_pads", [0, 3])
def test_one_sequence_matches_the_batch_path_and_finite_differences(head, leading_pads):
    """B = 1 runs a separate path (input and bias folded into the recurrent matmul, the
    weight gradients as one product); it must agree with the batch path exactly and with
    finite differences."""
    rng = np.random.default_rng(6)
    model = RNNClassifier(V, D, H, C, head=head, dtype=np.float64)
    for name, p in model.params.items():
        if name != "embedding":
            p[...] = rng.normal(0, 0.5, p.shape)
    ids = rng.integers(2, V, size=(1, 6))
    ids[0, :leading_pads] = 0
    labels = np.array([2])
    loss, grads = model.loss_and_grads(ids, labels)
    assert model.rnn._rows is not None, "the one-row path was not taken"
    one = {k: v.copy() for k, v in grads.items()}
    hidden = model.forward(ids).hidden.copy()
    # The same sequence twice is a batch of two: batch path, same mean loss and gradients.
    loss2, grads2 = model.loss_and_grads(np.repeat(ids, 2, axis=0), np.repeat(labels, 2))
    assert model.rnn._rows is None
    assert abs(loss - loss2) < 1e-12
    for name in one:
        np.testing.assert_allclose(one[name], grads2[name], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hidden[0], model.forward(np.repeat(ids, 2, axis=0)).hidden[1])
    for name, param in model.params.items():
        numeric = numerical_grad(lambda: model.loss_and_grads(ids, labels)[0], param)
        if name == "embedding":
            numeric[0] = 0.0
        assert relative_error(one[name], numeric) < 1e-6, name


def test_one_row_buffers_are_reused_but_never_under_a_caller():
    """The one-row path keeps its buffers between calls (rnnviz.layers.OneRowBuffers),
    gives what a fresh model gives whatever ran before, and never overwrites states it
    handed out."""
    rng = np.random.default_rng(8)
    model = RNNClassifier(V, D, H, C, dtype=np.float64)
    model.params["W_h"][...] = rng.normal(0, 0.5, (H, H))
    seqs = [rng.integers(2, V, size=(1, 6)) for _ in range(3)]
    seqs[1][0, :2] = 0  # leading [PAD]s in one of them: the skipped steps vary by call
    labels = np.array([1])
    model.loss_and_grads(seqs[0], labels)
    kept = model.rnn._one_row
    model.loss_and_grads(seqs[1], labels)
    assert model.rnn._one_row is kept, "training steps should reuse the buffers"
    for ids in seqs + seqs[::-1]:
        loss, grads = model.loss_and_grads(ids, labels)
        fresh_loss, fresh_grads = RNNClassifier.from_params(model.params).loss_and_grads(
            ids, labels
        )
        assert loss == fresh_loss
        for name in grads:
            np.testing.assert_array_equal(grads[name], fresh_grads[name], err_msg=name)
    held = model.forward(seqs[0]).hidden  # a view of the buffers the layer keeps
    expected = held.copy()
    model.forward(seqs[2])
    model.loss_and_grads(seqs[1], labels)
    np.testing.assert_array_equal(held, expected)
    assert model.rnn._one_row is not kept


def test_one_row_path_without_a_flat_buffer():
    """Plain dicts (no ParamDict block): the stacked matrix is built, results unchanged."""
    from rnnviz.cells import FastRNN as RNN

    rng = np.random.default_rng(7)
    model = RNNClassifier(V, D, H, C, dtype=np.float64)
    model.params["W_h"][...] = rng.normal(0, 0.5, (H, H))
    plain = {k: v.copy() for k, v in model.params.items()}
    plain_grads = {k: np.zeros_like(v) for k, v in plain.items()}
    layer = RNN(plain, plain_grads)
    assert layer._stacked is None
    x = rng.normal(size=(6, 1, D))
    h0 = rng.normal(size=(1, H))
    hs = layer.forward(x, h0=h0)
    dx, dh0 = layer.backward(dh_last=np.ones((1, H)))
    hs_ref = model.rnn.forward(x, h0=h0)
    dx_ref, dh0_ref = model.rnn.backward(dh_last=np.ones((1, H)))
    np.testing.assert_allclose(hs, hs_ref, rtol=1e-12)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12)
    np.testing.assert_allclose(dh0, dh0_ref, rtol=1e-12)
    for name in ("W", "W_h", "b_h"):
        np.testing.assert_allclose(plain_grads[name], model.grads[name], rtol=1e-12)


def test_param_block_spans_adjacent_entries_only():
    from rnnviz.params import ParamDict

    params = ParamDict.allocate({"a": (2, 3), "b": (4, 3), "c": (3,), "d": (5,)}, np.float64)
    block = params.block(("a", "b", "c"))
    assert block.shape == (7, 3) and np.shares_memory(block, params.flat)
    block[6] = 1.0
    assert np.all(params["c"] == 1.0)
    assert params.block(("a", "c")) is None  # not adjacent
    assert params.block(("c", "d")) is None  # column counts differ
    assert params.block(("a", "x")) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 2), (3, 5), (2, 8)])
def test_small_loss_path_equals_the_array_path(dtype, shape):
    """A few logits take a plain-Python path: same loss, gradient and probabilities."""
    from rnnviz import losses

    rng = np.random.default_rng(8)
    z = (rng.normal(0, 30, shape)).astype(dtype)  # large logits: the shift must hold
    targets = rng.integers(0, shape[1], size=shape[0])
    small = losses.softmax_cross_entropy(z, targets)
    assert z.size <= losses.SMALL_LOGITS
    big = losses.softmax_cross_entropy(np.repeat(z, 1, axis=0), targets, np.ones(shape[0]))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert abs(small[0] - big[0]) < tol * max(1.0, abs(big[0]))
    for a, b in zip(small[1:], big[1:], strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
