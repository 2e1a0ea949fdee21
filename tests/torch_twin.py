"""The same network in PyTorch, with our weights: for the parity tests (torch is passed in,
so importing this module never needs it)."""

from __future__ import annotations

import numpy as np


def torch_twin(torch, params: dict, cell: str = "rnn"):
    """(nn.Embedding(padding_idx=0), nn.RNN(tanh) / nn.GRU / nn.LSTM (batch_first),
    nn.Linear) in float64, holding `params`: W is torch's weight_ih transposed, W_h its
    weight_hh transposed, b_h its bias_ih; bias_hh is zero but for the GRU's candidate
    block, which holds b_hn."""
    V, D = params["embedding"].shape
    H, C = params["W_out"].shape
    emb = torch.nn.Embedding(V, D, padding_idx=0).double()
    if cell == "rnn":
        rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True).double()
    else:
        rnn = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](D, H, batch_first=True).double()
    lin = torch.nn.Linear(H, C).double()
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(params["embedding"]))
        rnn.weight_ih_l0.copy_(torch.from_numpy(params["W"].T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(params["W_h"].T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(params["b_h"]))
        rnn.bias_hh_l0.zero_()
        if cell == "gru":
            rnn.bias_hh_l0[2 * H :] = torch.from_numpy(params["b_hn"])
        lin.weight.copy_(torch.from_numpy(params["W_out"].T))
        lin.bias.copy_(torch.from_numpy(params["b_out"]))
    return emb, rnn, lin


def twin_grads(emb, rnn, lin) -> dict:
    """torch's gradients after backward(), under our parameter names and layouts."""
    grads = {
        "embedding": emb.weight.grad.numpy(),
        "W": rnn.weight_ih_l0.grad.numpy().T,
        "W_h": rnn.weight_hh_l0.grad.numpy().T,
        "b_h": rnn.bias_ih_l0.grad.numpy(),
        "W_out": lin.weight.grad.numpy().T,
        "b_out": lin.bias.grad.numpy(),
    }
    if rnn.mode == "GRU":  # the candidate's recurrent bias; the other blocks equal b_h's
        H = lin.weight.shape[1]
        grads["b_hn"] = rnn.bias_hh_l0.grad.numpy()[2 * H :]
    return grads


def randomise(params: dict, seed: int = 0, scale: float = 0.4) -> None:
    """Signed normal weights (all but the embedding), so every nonlinearity is in its curve."""
    rng = np.random.default_rng(seed)
    for name, p in params.items():
        if name != "embedding":
            p[...] = rng.normal(0, scale, p.shape)


def twin_classifier_loss(torch, params: dict, ids, labels, head: str, cell: str = "rnn"):
    """The classifier's loss in PyTorch with `params`, after backward(): (loss, states
    (B, T, H), (emb, rnn, lin)). head "softmax" (cross-entropy) or "tanh" (squared error
    of tanh(z) against one-hot targets)."""
    emb, rnn, lin = torch_twin(torch, params, cell)
    out, _ = rnn(emb(torch.from_numpy(ids)))
    z = lin(out[:, -1])
    target = torch.from_numpy(np.asarray(labels))
    if head == "softmax":
        loss = torch.nn.functional.cross_entropy(z, target)
    else:
        onehot = torch.nn.functional.one_hot(target, z.shape[1]).double()
        loss = torch.nn.functional.mse_loss(torch.tanh(z), onehot)
    loss.backward()
    return loss.item(), out.detach().numpy(), (emb, rnn, lin)


def assert_grads_match(grads: dict, twin: tuple) -> None:
    """Our gradients equal the twin's (float64, 1e-9), every parameter of ours included."""
    expected = twin_grads(*twin)
    assert set(expected) == set(grads)
    for name, value in expected.items():
        np.testing.assert_allclose(grads[name], value, atol=1e-9, rtol=0, err_msg=name)
