"""GRU and LSTM models equal PyTorch's Embedding + GRU / LSTM + Linear (float64): loss,
every gradient, the states (the start state's too), when torch exists."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import RNNClassifier
from rnnviz.language_model import RNNLanguageModel
from tests.torch_twin import torch_twin, twin_grads

torch = pytest.importorskip("torch", reason="PyTorch is optional; parity tests need it")

V, D, H, C = 20, 6, 9, 4


def randomise(model):
    rng = np.random.default_rng(0)
    for name, p in model.params.items():
        if name != "embedding":
            p[...] = rng.normal(0, 0.4, p.shape)
    return model


def assert_grads_equal(grads, emb, rnn, lin):
    expected = twin_grads(emb, rnn, lin)
    assert set(expected) == set(grads)
    for name, value in expected.items():
        np.testing.assert_allclose(grads[name], value, atol=1e-9, rtol=0, err_msg=name)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("head", ["softmax", "tanh"])
@pytest.mark.parametrize("rows", [5, 1])
def test_classifier_matches_torch(cell, head, rows):
    model = randomise(RNNClassifier(V, D, H, C, head=head, mask_padding=False,
                                    dtype=np.float64, cell=cell))  # fmt: skip
    rng = np.random.default_rng(1)
    ids = rng.integers(1, V, size=(rows, 7))
    ids[:, :2] = 0  # pre-padding: torch runs through it, as the unmasked model does
    labels = rng.integers(0, C, size=rows)
    loss, grads = model.loss_and_grads(ids, labels)

    emb, rnn, lin = torch_twin(torch, model.params, cell)
    out, _ = rnn(emb(torch.from_numpy(ids)))
    z = lin(out[:, -1])
    target = torch.from_numpy(labels)
    if head == "softmax":
        t_loss = torch.nn.functional.cross_entropy(z, target)
    else:
        onehot = torch.nn.functional.one_hot(target, C).double()
        t_loss = torch.nn.functional.mse_loss(torch.tanh(z), onehot)
    t_loss.backward()

    assert abs(loss - t_loss.item()) < 1e-9
    assert_grads_equal(grads, emb, rnn, lin)
    np.testing.assert_allclose(model.forward(ids).hidden, out.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_language_model_matches_torch(cell):
    """With a start state (the LSTM's (h0, c0)), its gradient and the final state."""
    model = randomise(RNNLanguageModel(V, D, H, mask_padding=False, dtype=np.float64, cell=cell))
    rng = np.random.default_rng(2)
    ids = rng.integers(1, V, size=(4, 9))
    ids[1, :3] = 0
    targets = rng.integers(1, V, size=(4, 9))
    targets[0, 5] = targets[3, :2] = 0  # ignored, like ignore_index=0
    h0 = rng.normal(0, 0.5, size=(4, model.state_size))
    loss, grads = model.loss_and_grads(ids, targets, h0=h0)

    emb, rnn, lin = torch_twin(torch, model.params, cell)
    parts = [torch.from_numpy(h0[None, :, k * H : (k + 1) * H].copy()).requires_grad_(True)
             for k in range(h0.shape[1] // H)]  # fmt: skip
    out, last = rnn(emb(torch.from_numpy(ids)), parts[0] if cell == "gru" else tuple(parts))
    t_loss = torch.nn.functional.cross_entropy(
        lin(out).reshape(-1, V), torch.from_numpy(targets).reshape(-1), ignore_index=0
    )
    t_loss.backward()

    assert abs(loss - t_loss.item()) < 1e-9
    assert_grads_equal(grads, emb, rnn, lin)
    t_dh0 = np.concatenate([p.grad.numpy()[0] for p in parts], axis=1)
    np.testing.assert_allclose(model.dh0, t_dh0, atol=1e-9, err_msg="start state")
    last = [last] if cell == "gru" else list(last)
    t_last = np.concatenate([s.detach().numpy()[0] for s in last], axis=1)
    np.testing.assert_allclose(model.last_state, t_last, atol=1e-12)
