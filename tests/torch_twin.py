"""The same network in PyTorch, with our weights: for the parity tests (torch is passed in,
so importing this module never needs it)."""

from __future__ import annotations


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
