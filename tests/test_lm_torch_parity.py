"""The language model's loss and gradients equal PyTorch's (float64), when torch exists."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.language_model import RNNLanguageModel
from tests.torch_twin import torch_twin, twin_grads

torch = pytest.importorskip("torch", reason="PyTorch is optional; parity tests need it")

V, D, H = 12, 5, 7


@pytest.mark.parametrize("explicit_targets", [True, False])
def test_lm_matches_torch(explicit_targets, token_input):
    rng = np.random.default_rng(0)
    # Unmasked: torch's RNN runs through [PAD] inputs too.
    model = RNNLanguageModel(V, D, H, mask_padding=False, dtype=np.float64, seed=1)
    for name, p in model.params.items():
        if name != "embedding":
            p[...] = rng.normal(0, 0.4, p.shape)
    ids = rng.integers(1, V, size=(4, 9))
    ids[1, :3] = 0
    if explicit_targets:
        targets = rng.integers(1, V, size=(4, 9))
        targets[0, 5] = targets[3, :2] = 0  # ignored, like ignore_index=0
    else:
        targets = RNNLanguageModel.default_targets(ids)
    h0 = rng.normal(0, 0.5, size=(4, H))
    loss, grads = model.loss_and_grads(ids, targets if explicit_targets else None, h0=h0)

    emb, rnn, lin = torch_twin(torch, model.params)
    t_h0 = torch.from_numpy(h0[None].copy()).requires_grad_(True)
    out, h_last = rnn(emb(torch.from_numpy(ids)), t_h0)
    logits = lin(out)  # (B, T, V): the head on every step
    t_loss = torch.nn.functional.cross_entropy(
        logits.reshape(-1, V), torch.from_numpy(targets).reshape(-1), ignore_index=0
    )
    t_loss.backward()

    assert abs(loss - t_loss.item()) < 1e-9
    expected = twin_grads(emb, rnn, lin)
    for name, value in expected.items():
        np.testing.assert_allclose(grads[name], value, atol=1e-9, rtol=0, err_msg=name)
    np.testing.assert_allclose(model.dh0, t_h0.grad.numpy()[0], atol=1e-9, err_msg="h0")
    np.testing.assert_allclose(model.last_state, h_last.detach().numpy()[0], atol=1e-12)
    result = model.forward(ids, h0=h0)
    np.testing.assert_allclose(result.hidden, out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(result.proba, torch.softmax(logits, -1).detach().numpy(), atol=1e-12)
