"""The same network in PyTorch, with our weights: for the parity tests (torch is passed in,
so importing this module never needs it)."""

from __future__ import annotations


def torch_twin(torch, params: dict):
    """(nn.Embedding(padding_idx=0), nn.RNN(tanh, batch_first), nn.Linear) in float64,
    holding `params` (W is torch's weight_ih transposed; torch's two biases sum to b_h)."""
    V, D = params["embedding"].shape
    H, C = params["W_out"].shape
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


def twin_grads(emb, rnn, lin) -> dict:
    """torch's gradients after backward(), under our parameter names and layouts."""
    return {
        "embedding": emb.weight.grad.numpy(),
        "W": rnn.weight_ih_l0.grad.numpy().T,
        "W_h": rnn.weight_hh_l0.grad.numpy().T,
        "b_h": rnn.bias_ih_l0.grad.numpy(),
        "W_out": lin.weight.grad.numpy().T,
        "b_out": lin.bias.grad.numpy(),
    }
