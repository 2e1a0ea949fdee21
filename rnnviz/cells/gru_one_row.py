"""The GRU's one-row path (B = 1, the interactive size), as the LSTM's in lstm_fast.py.

NumPy's per-call cost, not arithmetic, sets the time at H = 32, so:
- the input, both biases and the recurrent side are one matmul a step,
  a = [x_t, h_{t-1}, 1] @ S, S's columns [n's input side, r, z, n's recurrent side]:
  [[W_n, W_r/2, W_z/2, 0]; [0, W_hr/2, W_hz/2, W_hn]; [b_n, b_r/2, b_z/2, b_hn]]
  (r, z halved for s(a) = (1 + tanh(a / 2)) / 2), h_t written into the next row: 10
  NumPy calls a step instead of the textbook's 12;
- backward: a step is linear in dh_t, so every step's local derivatives go at once
  into per-step (H, 5H) maps of diagonal blocks, [da_t, dh_t z] = dh_t @ maps[t], and
  dh_{t-1} = [da_r, da_z, da_hn, dh_t z] @ [W_h^T; I]: two matmuls a step;
- arrays and per-step views made once per length T and kept while nobody else holds
  them (the reference count, as OneRowLSTMBuffers).
Tested equal to the textbook GRU (tests/test_cells.py).
"""

from __future__ import annotations

import numpy as np

from rnnviz.cells.base import OneRowRows

MAX_MAP_SIZE = 1 << 21  # numbers in the backward's step maps (8 MB in float32)


class OneRowGRUBuffers(OneRowRows):
    """The GRU's one-row arrays and per-step views (rnnviz.cells.base.OneRowRows)."""

    def __init__(self, steps: int, embed_dim: int, hidden_size: int, dtype) -> None:
        super().__init__(steps, embed_dim, hidden_size, dtype)
        T, D, H = steps, embed_dim, hidden_size
        rows = self.rows
        self.act = act = np.empty((T, 4 * H), dtype)  # row t: [a_xn, r, z, a_hn]
        self.n = n = np.empty((T, H), dtype)
        self.stacked = np.zeros((D + H + 1, 4 * H), dtype)  # S (module docstring)
        self.half = np.full(2 * H, 0.5, dtype)
        self.forward_steps = [
            (rows[t], act[t], act[t, H : 3 * H], act[t, H : 2 * H], act[t, 2 * H : 3 * H],
             act[t, :H], act[t, 3 * H :], n[t], rows[t, D : D + H], rows[t + 1, D : D + H])
            for t in range(T)
        ]  # fmt: skip
        # grad row t: [dh_{t-1} (at hs[t]), da_xn, da_r, da_z, da_hn, dh_t z] of step t
        self.grad = grad = np.zeros((T + 1, 6 * H), dtype)
        self.maps = self.diagonals = self.backward_steps = None
        if 5 * T * H * H <= MAX_MAP_SIZE:
            self.maps = np.zeros((T, H, 5 * H), dtype)
            item = self.maps.itemsize
            self.diagonals = np.lib.stride_tricks.as_strided(  # (T, 5, H): the diagonals
                self.maps, (T, 5, H), (5 * H * H * item, H * item, (5 * H + 1) * item)
            )
            self.through = np.zeros((4 * H, H), dtype)  # [W_h^T; I]
            self.through[3 * H :] = np.eye(H, dtype=dtype)
            self.backward_steps = [
                (grad[t + 1, :H], self.maps[t], grad[t, H:], grad[t, 2 * H :], grad[t, :H])
                for t in reversed(range(T))
            ]
        del rows, act, n, grad  # (the count below must see only the kept views)
        self._seal()


def forward(buffers: OneRowGRUBuffers, params: dict, x: np.ndarray, h0) -> None:
    """Run x (T, 1, D) from h0 (H,) or zeros; the states land in buffers.rows."""
    W, W_h, b_h, b_hn = (params[k] for k in ("W", "W_h", "b_h", "b_hn"))
    T, _, D = x.shape
    H = W_h.shape[0]
    rows, S = buffers.rows, buffers.stacked
    rows[:T, :D] = x[:, 0]
    rows[0, D : D + H] = 0.0 if h0 is None else h0
    S[:D, :H] = W[:, 2 * H :]
    np.multiply(W[:, : 2 * H], 0.5, out=S[:D, H : 3 * H])
    np.multiply(W_h[:, : 2 * H], 0.5, out=S[D : D + H, H : 3 * H])
    S[D : D + H, 3 * H :] = W_h[:, 2 * H :]
    S[D + H, :H] = b_h[2 * H :]
    np.multiply(b_h[: 2 * H], 0.5, out=S[D + H, H : 3 * H])
    S[D + H, 3 * H :] = b_hn
    dot, tanh, multiply, add, subtract = np.dot, np.tanh, np.multiply, np.add, np.subtract
    half = buffers.half
    for row, a, rz, r, z, a_xn, a_hn, n, h_prev, h in buffers.forward_steps:
        dot(row, S, a)  # all gates, input, biases and recurrent side at once
        tanh(rz, rz)
        multiply(rz, half, rz)
        add(rz, half, rz)  # r, z = s(...)
        multiply(r, a_hn, n)
        add(n, a_xn, n)
        tanh(n, n)  # n = tanh(x W_n + b_n + r * (h W_hn + b_hn))
        subtract(h_prev, n, h)
        multiply(h, z, h)
        add(h, n, h)  # h' = n + z * (h - n)


def backward(buffers: OneRowGRUBuffers, params: dict, grads: dict, dh_seq, dh_last):
    """Fill grads; -> (dx (T, 1, D), dh0 (1, H)). Needs buffers.maps (not None)."""
    W, W_h = params["W"], params["W_h"]
    T, H = buffers.n.shape
    D = W.shape[0]
    rows, act, n = buffers.rows, buffers.act, buffers.n
    r, z, a_hn = act[:, H : 2 * H], act[:, 2 * H : 3 * H], act[:, 3 * H :]
    # Every step's map at once (the textbook backward's local derivatives, gru.py)
    per = np.empty((T, 5, H), W.dtype)  # per unit of dh_t: [da_xn, da_r, da_z, da_hn, z]
    da_xn = per[:, 0]
    np.multiply(n, n, out=da_xn)
    np.subtract(1.0, da_xn, out=da_xn)
    da_xn *= 1.0 - z  # (1 - z)(1 - n^2)
    np.multiply(da_xn, r, out=per[:, 3])  # da_n r
    np.multiply(per[:, 3], a_hn, out=per[:, 1])
    per[:, 1] *= 1.0 - r  # da_n a_hn r (1 - r)
    np.subtract(rows[:T, D : D + H], n, out=per[:, 2])
    per[:, 2] *= z * (1.0 - z)  # (h - n) z (1 - z)
    per[:, 4] = z
    buffers.diagonals[...] = per
    buffers.through[: 3 * H] = W_h.T
    grad, through = buffers.grad, buffers.through
    grad[T, :H] = 0.0 if dh_last is None else dh_last[0]
    dot = np.dot
    if dh_seq is None:
        for dh, step_map, out, carried, dh_prev in buffers.backward_steps:  # two calls
            dot(dh, step_map, out)
            dot(carried, through, dh_prev)
    else:
        for t, (dh, step_map, out, carried, dh_prev) in zip(
            range(T - 1, -1, -1), buffers.backward_steps, strict=True
        ):
            dh += dh_seq[t, 0]
            dot(dh, step_map, out)
            dot(carried, through, dh_prev)
    da = grad[:T, H : 5 * H]  # (T, 4H): [da_xn, da_r, da_z, da_hn], S's columns
    dS = np.dot(rows[:T].T, da)  # (D+H+1, 4H)
    grads["W"][:, : 2 * H] = dS[:D, H : 3 * H]
    grads["W"][:, 2 * H :] = dS[:D, :H]
    grads["W_h"][:, : 2 * H] = dS[D : D + H, H : 3 * H]
    grads["W_h"][:, 2 * H :] = dS[D : D + H, 3 * H :]
    grads["b_h"][: 2 * H] = dS[D + H, H : 3 * H]
    grads["b_h"][2 * H :] = dS[D + H, :H]
    grads["b_hn"][...] = dS[D + H, 3 * H :]
    dx = np.dot(da[:, H : 3 * H], W[:, : 2 * H].T)  # (T, D)
    dx += np.dot(da[:, :H], W[:, 2 * H :].T)
    return dx[:, None], grad[0, :H][None].copy()  # (T, 1, D), (1, H)
