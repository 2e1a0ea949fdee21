"""The seed's tanh RNN in textbook form.

Forward, for t = 1..T:   h_t = tanh(x_t W + h_{t-1} W_h + b_h)
Backward through time, dh_t being everything the loss sends to h_t:
    da_t = dh_t * (1 - h_t^2)            (tanh' written with the output)
    dW += x_t^T da_t,  dW_h += h_{t-1}^T da_t,  db_h += sum_b da_t
    dh_{t-1} = da_t W_h^T  (+ what the output at t-1 sends)
With a padding mask a [PAD] step carries the state, h_t = h_{t-1}, and passes its
gradient straight back. Models train with rnnviz.cells.rnn_fast.FastRNN, the same
maths tuned for speed (tests/test_cells.py checks them equal).
"""

from __future__ import annotations

import numpy as np

from rnnviz.cells.base import Cell


def step(params: dict, h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One step of a batch of states h (N, H) on one input vector x (D,) -> (N, H)."""
    return np.tanh(x @ params["W"] + h @ params["W_h"] + params["b_h"])


def step_jacobian(params: dict, h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dh'/dh for each of the N states: (N, H, H), J[n, i, j] = dh'_i / dh_j."""
    h_next = step(params, h, x)  # (N, H)
    return (1.0 - h_next**2)[:, :, None] * params["W_h"].T[None]


class TanhRNN(Cell):
    """h_t = tanh(x_t W + h_{t-1} W_h + b_h): W (D, H), W_h (H, H), b_h (H,)."""

    gates = 1

    def forward(self, x, mask=None, h0=None, tokens=None) -> np.ndarray:
        W, W_h, b_h = self.params["W"], self.params["W_h"], self.params["b_h"]
        T, B, D = x.shape
        H = W_h.shape[0]
        hs = np.empty((T + 1, B, H), W.dtype)  # hs[t + 1] = h after step t
        (hs[0],) = self.start_state(h0, B)
        a_x = (x.reshape(T * B, D) @ W + b_h).reshape(T, B, H)  # every step's input at once
        for t in range(T):
            h = np.tanh(a_x[t] + hs[t] @ W_h)  # (B, H)
            hs[t + 1] = h if mask is None else np.where(mask[t][:, None], h, hs[t])
        self.x, self.mask, self.hs = x, mask, hs
        return hs

    def backward(self, dh_seq=None, dh_last=None) -> tuple[np.ndarray, np.ndarray]:
        W, W_h = self.params["W"], self.params["W_h"]
        x, mask, hs = self.x, self.mask, self.hs
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        dh = np.zeros((B, H), W.dtype) if dh_last is None else dh_last.astype(W.dtype)
        da = np.zeros((T, B, H), W.dtype)  # dL/da_t, a_t the pre-activation
        seen = np.zeros((T, B, H), W.dtype) if self.track_state_grads else None
        for t in reversed(range(T)):
            if dh_seq is not None:
                dh = dh + dh_seq[t]
            if seen is not None:
                seen[t] = dh
            da[t] = dh * (1.0 - hs[t + 1] ** 2)
            if mask is None:
                dh = da[t] @ W_h.T
            else:
                real = mask[t][:, None]  # (B, 1): [PAD] rows pass dh straight back
                da[t] *= real
                dh = da[t] @ W_h.T + dh * ~real
        da_flat = da.reshape(T * B, H)
        self.grads["W"][...] = x.reshape(T * B, -1).T @ da_flat
        self.grads["W_h"][...] = hs[:-1].reshape(T * B, H).T @ da_flat
        self.grads["b_h"][...] = da_flat.sum(axis=0)
        self._record(seen)
        return da @ W.T, dh  # (T, B, D), (B, H)
