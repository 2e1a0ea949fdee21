"""The models equal PyTorch's Embedding + RNN / GRU / LSTM + Linear (float64): loss, every
gradient, the states (the start state's too), when torch exists."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import RNNClassifier
from rnnviz.cells import CELLS
from rnnviz.language_model import RNNLanguageModel
from tests.torch_twin import assert_grads_match, randomise, torch_twin, twin_classifier_loss

torch = pytest.importorskip("torch", reason="PyTorch is optional; parity tests need it")

V, D, H, C = 20, 6, 9, 4


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("head", ["softmax", "tanh"])
@pytest.mark.parametrize("rows", [5, 1])
def test_classifier_matches_torch(cell, head, rows, token_input):
    """Both input paths (every position's vector, or the batch's distinct tokens)."""
    model = RNNClassifier(V, D, H, C, head=head, mask_padding=False, dtype=np.float64, cell=cell)
    randomise(model.params)
    rng = np.random.default_rng(1)
    ids = rng.integers(1, V, size=(rows, 7))
    ids[:, :2] = 0  # pre-padding: torch runs through it, as the unmasked model does
    labels = rng.integers(0, C, size=rows)
    loss, grads = model.loss_and_grads(ids, labels)

    t_loss, t_states, twin = twin_classifier_loss(torch, model.params, ids, labels, head, cell)
    assert abs(loss - t_loss) < 1e-9
    assert_grads_match(grads, twin)
    np.testing.assert_allclose(model.forward(ids).hidden, t_states, atol=1e-12)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_language_model_matches_torch(cell):
    """With a start state (the LSTM's (h0, c0)), its gradient and the final state."""
    model = RNNLanguageModel(V, D, H, mask_padding=False, dtype=np.float64, cell=cell)
    randomise(model.params)
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
    assert_grads_match(grads, (emb, rnn, lin))
    t_dh0 = np.concatenate([p.grad.numpy()[0] for p in parts], axis=1)
    np.testing.assert_allclose(model.dh0, t_dh0, atol=1e-9, err_msg="start state")
    last = [last] if cell == "gru" else list(last)
    t_last = np.concatenate([s.detach().numpy()[0] for s in last], axis=1)
    np.testing.assert_allclose(model.last_state, t_last, atol=1e-12)
