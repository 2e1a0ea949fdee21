"""Loss and gradients equal PyTorch's Embedding + RNN + Linear (float64), when torch exists."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import RNNClassifier

torch = pytest.importorskip("torch", reason="PyTorch is optional; parity tests need it")

V, D, H, C = 20, 6, 9, 4


def torch_model(params):
    emb = torch.nn.Embedding(V, D, padding_idx=0).double()
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True).double()
    lin = torch.nn.Linear(H, C).double()
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(params["embedding"]))
        rnn.weight_ih_l0.copy_(torch.from_numpy(params["W"].T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(params["W_h"].T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(params["b_h"]))
        rnn.bias_hh_l0.zero_()
        lin.weight.copy_(torch.from_numpy(params["W_out"].T))
        lin.bias.copy_(torch.from_numpy(params["b_out"]))
    return emb, rnn, lin


@pytest.mark.parametrize("head", ["softmax", "tanh"])
def test_matches_torch(head):
    rng = np.random.default_rng(0)
    model = RNNClassifier(V, D, H, C, head=head, mask_padding=False, dtype=np.float64)
    for name, p in model.params.items():
        if name != "embedding":
            p[...] = rng.normal(0, 0.4, p.shape)
    ids = rng.integers(1, V, size=(5, 7))
    ids[:, :2] = 0  # pre-padding: torch runs through it, as the unmasked model does
    labels = rng.integers(0, C, size=5)
    loss, grads = model.loss_and_grads(ids, labels)

    emb, rnn, lin = torch_model(model.params)
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
    expected = {
        "embedding": emb.weight.grad.numpy(),
        "W": rnn.weight_ih_l0.grad.numpy().T,
        "W_h": rnn.weight_hh_l0.grad.numpy().T,
        "b_h": rnn.bias_ih_l0.grad.numpy(),
        "W_out": lin.weight.grad.numpy().T,
        "b_out": lin.bias.grad.numpy(),
    }
    for name, value in expected.items():
        np.testing.assert_allclose(grads[name], value, atol=1e-9, rtol=0, err_msg=name)
    np.testing.assert_allclose(
        model.forward(ids).hidden, out.detach().numpy(), atol=1e-12, err_msg="hidden states"
    )
