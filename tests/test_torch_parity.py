"""Loss and gradients equal PyTorch's Embedding + RNN + Linear (float64), when torch exists."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import RNNClassifier
from tests.torch_twin import torch_twin, twin_grads

torch = pytest.importorskip("torch", reason="PyTorch is optional; parity tests need it")

V, D, H, C = 20, 6, 9, 4


@pytest.mark.parametrize("head", ["softmax", "tanh"])
def test_matches_torch(head, token_input):
    rng = np.random.default_rng(0)
    model = RNNClassifier(V, D, H, C, head=head, mask_padding=False, dtype=np.float64)
    for name, p in model.params.items():
        if name != "embedding":
            p[...] = rng.normal(0, 0.4, p.shape)
    ids = rng.integers(1, V, size=(5, 7))
    ids[:, :2] = 0  # pre-padding: torch runs through it, as the unmasked model does
    labels = rng.integers(0, C, size=5)
    loss, grads = model.loss_and_grads(ids, labels)

    emb, rnn, lin = torch_twin(torch, model.params)
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
    expected = twin_grads(emb, rnn, lin)
    for name, value in expected.items():
        np.testing.assert_allclose(grads[name], value, atol=1e-9, rtol=0, err_msg=name)
    np.testing.assert_allclose(
        model.forward(ids).hidden, out.detach().numpy(), atol=1e-12, err_msg="hidden states"
    )
