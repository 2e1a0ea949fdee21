"""The GRU in textbook form, PyTorch's gate order and equations (torch.nn.GRU).

Gates r (reset), z (update), n (candidate); W (D, 3H), W_h (H, 3H), b_h (3H,) hold
them side by side in that order, and b_hn (H,) is the candidate's recurrent bias:
    r = s(x W_r + b_r + h W_hr)       z = s(x W_z + b_z + h W_hz)
    n = tanh(x W_n + b_n + r * (h W_hn + b_hn))
    h' = (1 - z) * n + z * h          (z near 1 keeps the state: the gradient too)
Backward through one step, dh the gradient reaching h':
    dn = dh (1 - z),  da_n = dn (1 - n^2),  dz = dh (h - n),  dr = da_n (h W_hn + b_hn)
    da_r = dr r (1 - r),  da_z = dz z (1 - z)
    dh_prev = dh z + [da_r, da_z, da_n r] W_h^T
The input side of every step is one (T*B, D) @ (D, 3H) matmul; each step does one
(B, H) @ (H, 3H) matmul for all three gates. A [PAD] step (with a mask) carries h.
"""

from __future__ import annotations

import numpy as np

from rnnviz.cells.base import Cell, sigmoid


def _gates(params: dict, a_x: np.ndarray, h: np.ndarray):
    """r, z, n and h W_hn + b_hn of a (N, H) batch of states, a_x = x W + b_h (N, 3H)."""
    H = h.shape[-1]
    a_h = h @ params["W_h"]  # (N, 3H): all gates in one matmul
    rz = sigmoid(a_x[:, : 2 * H] + a_h[:, : 2 * H])  # (N, 2H)
    hn = a_h[:, 2 * H :] + params["b_hn"]  # (N, H)
    n = np.tanh(a_x[:, 2 * H :] + rz[:, :H] * hn)  # (N, H)
    return rz[:, :H], rz[:, H:], n, hn


def step(params: dict, h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One step of a batch of states h (N, H) on one input vector x (D,) -> (N, H)."""
    a_x = np.broadcast_to(x @ params["W"] + params["b_h"], (len(h), params["b_h"].size))
    _, z, n, _ = _gates(params, a_x, h)
    return n + z * (h - n)


def step_jacobian(params: dict, h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dh'/dh for each of the N states: (N, H, H), J[n, i, j] = dh'_i / dh_j."""
    H = h.shape[-1]
    a_x = np.broadcast_to(x @ params["W"] + params["b_h"], (len(h), 3 * H))
    r, z, n, hn = _gates(params, a_x, h)
    W_hr, W_hz, W_hn = (params["W_h"][:, k * H : (k + 1) * H].T for k in range(3))  # (H, H)
    dn = (1.0 - n**2)[:, :, None] * ((hn * r * (1 - r))[:, :, None] * W_hr + r[:, :, None] * W_hn)
    dz = (z * (1 - z))[:, :, None] * W_hz
    return z[:, :, None] * np.eye(H) + (h - n)[:, :, None] * dz + (1 - z)[:, :, None] * dn


class GRU(Cell):
    """Gated recurrent unit; see the module docstring for the equations."""

    gates = 3

    def forward(self, x, mask=None, h0=None, tokens=None) -> np.ndarray:
        W, b_h = self.params["W"], self.params["b_h"]
        T, B, D = x.shape
        H = self.hidden_size
        hs = np.empty((T + 1, B, H), W.dtype)  # hs[t + 1] = h after step t
        (hs[0],) = self.start_state(h0, B)
        a_x = (x.reshape(T * B, D) @ W + b_h).reshape(T, B, 3 * H)  # input side, all steps
        gates = np.empty((T, B, 3 * H), W.dtype)  # r, z, n of every step
        hn = np.empty((T, B, H), W.dtype)  # h W_hn + b_hn, which r multiplies
        for t in range(T):
            r, z, n, hn[t] = _gates(self.params, a_x[t], hs[t])
            gates[t] = np.concatenate([r, z, n], axis=1)
            h = n + z * (hs[t] - n)  # (1 - z) * n + z * h
            hs[t + 1] = h if mask is None else np.where(mask[t][:, None], h, hs[t])
        self.x, self.mask, self.hs, self.gate_values, self.hn = x, mask, hs, gates, hn
        return hs

    def backward(self, dh_seq=None, dh_last=None) -> tuple[np.ndarray, np.ndarray]:
        W, W_h = self.params["W"], self.params["W_h"]
        x, mask, hs, gates, hn = self.x, self.mask, self.hs, self.gate_values, self.hn
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        dh = np.zeros((B, H), W.dtype) if dh_last is None else dh_last.astype(W.dtype)
        da_x = np.zeros((T, B, 3 * H), W.dtype)  # dL/d(x W + b_h) of every step
        da_h = np.zeros((T, B, 3 * H), W.dtype)  # dL/d(h W_h), the n block with b_hn
        seen = np.zeros((T, B, H), W.dtype) if self.track_state_grads else None
        for t in reversed(range(T)):
            if dh_seq is not None:
                dh = dh + dh_seq[t]
            if seen is not None:
                seen[t] = dh
            carried = 0.0
            if mask is not None:  # [PAD] rows pass dh straight back and touch no weight
                real = mask[t][:, None]
                dh, carried = dh * real, dh * ~real
            r, z, n = gates[t, :, :H], gates[t, :, H : 2 * H], gates[t, :, 2 * H :]
            da_n = dh * (1.0 - z) * (1.0 - n**2)
            da_r = da_n * hn[t] * r * (1.0 - r)
            da_z = dh * (hs[t] - n) * z * (1.0 - z)
            da_x[t] = np.concatenate([da_r, da_z, da_n], axis=1)
            da_h[t] = np.concatenate([da_r, da_z, da_n * r], axis=1)
            dh = dh * z + da_h[t] @ W_h.T + carried
        da_x_flat, da_h_flat = da_x.reshape(T * B, 3 * H), da_h.reshape(T * B, 3 * H)
        self.grads["W"][...] = x.reshape(T * B, -1).T @ da_x_flat
        self.grads["W_h"][...] = hs[:-1].reshape(T * B, H).T @ da_h_flat
        self.grads["b_h"][...] = da_x_flat.sum(axis=0)
        self.grads["b_hn"][...] = da_h_flat[:, 2 * H :].sum(axis=0)
        self._record(seen)
        return da_x @ W.T, dh  # (T, B, D), (B, H)
