"""The LSTM in textbook form, PyTorch's gate order and equations (torch.nn.LSTM).

Gates i (input), f (forget), g (candidate), o (output); W (D, 4H), W_h (H, 4H),
b_h (4H,) hold them side by side in that order. The state is the pair (h, c):
    [i, f, g, o] = [s, s, tanh, s](x W + h W_h + b_h)
    c' = f * c + i * g                (f near 1 keeps c: the gradient too)
    h' = o * tanh(c')
Backward through one step, dh and dc the gradients reaching h' and c':
    dc += dh o (1 - tanh^2 c'),  do = dh tanh c'
    da = [dc g i (1 - i), dc c f (1 - f), dc i (1 - g^2), do o (1 - o)]
    dc_prev = dc f,  dh_prev = da W_h^T
The start state and the final state are [h, c] (B, 2H). The input side of every step
is one matmul; each step does one (B, H) @ (H, 4H) matmul for all four gates. A [PAD]
step (with a mask) carries h and c.
"""

from __future__ import annotations

import numpy as np

from rnnviz.cells.base import Cell, sigmoid


def _gates(params: dict, a_x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """[i, f, g, o] (N, 4H) of a batch of states h (N, H), a_x = x W + b_h (N, 4H)."""
    H = h.shape[-1]
    a = a_x + h @ params["W_h"]  # (N, 4H): all gates in one matmul
    sigmoid(a[:, : 2 * H], out=a[:, : 2 * H])  # i, f
    np.tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])  # g
    sigmoid(a[:, 3 * H :], out=a[:, 3 * H :])  # o
    return a


def step(params: dict, h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """One step of a batch of states [h, c] (N, 2H) on one input vector x (D,) -> (N, 2H)."""
    H = h.shape[-1] // 2
    c = h[:, H:]
    i, f, g, o = np.split(_gates(params, x @ params["W"] + params["b_h"], h[:, :H]), 4, axis=1)
    c_next = f * c + i * g
    return np.concatenate([o * np.tanh(c_next), c_next], axis=1)


def step_jacobian(params: dict, h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """d[h', c']/d[h, c] for each of the N states: (N, 2H, 2H), J[n, i, j] = ds'_i / ds_j."""
    N, H = len(h), h.shape[-1] // 2
    c = h[:, H:]
    i, f, g, o = np.split(_gates(params, x @ params["W"] + params["b_h"], h[:, :H]), 4, axis=1)
    tc = np.tanh(f * c + i * g)
    W_hi, W_hf, W_hg, W_ho = (params["W_h"][:, k * H : (k + 1) * H].T for k in range(4))
    col = lambda v: v[:, :, None]  # noqa: E731 - (N, H) -> (N, H, 1), scales rows
    dc_dh = col(c * f * (1 - f)) * W_hf + col(g * i * (1 - i)) * W_hi + col(i * (1 - g**2)) * W_hg
    dh_dh = col(tc * o * (1 - o)) * W_ho + col(o * (1 - tc**2)) * dc_dh
    eye = np.eye(H)
    J = np.empty((N, 2 * H, 2 * H), dc_dh.dtype)
    J[:, :H, :H], J[:, :H, H:] = dh_dh, col(o * (1 - tc**2) * f) * eye
    J[:, H:, :H], J[:, H:, H:] = dc_dh, col(f) * eye
    return J


class LSTM(Cell):
    """Long short-term memory; see the module docstring for the equations."""

    gates = 4
    state_parts = 2

    def __init__(self, params: dict, grads: dict) -> None:
        super().__init__(params, grads)
        self.cell_grad_norms: np.ndarray | None = None  # (T,) ||dL/dc_t||, with the h ones

    def forward(self, x, mask=None, h0=None, tokens=None) -> np.ndarray:
        W, b_h = self.params["W"], self.params["b_h"]
        T, B, D = x.shape
        H = self.hidden_size
        hs = np.empty((T + 1, B, H), W.dtype)  # hs[t + 1] = h after step t
        cs = np.empty((T + 1, B, H), W.dtype)  # cs[t + 1] = c after step t
        hs[0], cs[0] = self.start_state(h0, B)
        a_x = (x.reshape(T * B, D) @ W + b_h).reshape(T, B, 4 * H)  # input side, all steps
        gates = np.empty((T, B, 4 * H), W.dtype)  # i, f, g, o of every step
        tanh_c = np.empty((T, B, H), W.dtype)
        for t in range(T):
            gates[t] = _gates(self.params, a_x[t], hs[t])
            i, f, g, o = np.split(gates[t], 4, axis=1)
            c = f * cs[t] + i * g
            np.tanh(c, out=tanh_c[t])
            h = o * tanh_c[t]
            if mask is not None:
                real = mask[t][:, None]
                h, c = np.where(real, h, hs[t]), np.where(real, c, cs[t])
            hs[t + 1], cs[t + 1] = h, c
        self.x, self.mask, self.hs, self.cs = x, mask, hs, cs
        self.gate_values, self.tanh_c = gates, tanh_c
        return hs

    def final_state(self) -> np.ndarray:
        return np.concatenate([self.hs[-1], self.cs[-1]], axis=1)  # (B, 2H)

    def backward(self, dh_seq=None, dh_last=None) -> tuple[np.ndarray, np.ndarray]:
        W, W_h = self.params["W"], self.params["W_h"]
        x, mask, hs, cs, gates = self.x, self.mask, self.hs, self.cs, self.gate_values
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        dh = np.zeros((B, H), W.dtype) if dh_last is None else dh_last.astype(W.dtype)
        dc = np.zeros((B, H), W.dtype)
        da = np.zeros((T, B, 4 * H), W.dtype)  # dL/da of every step, a the pre-activations
        seen = np.zeros((T, B, H), W.dtype) if self.track_state_grads else None
        seen_c = np.zeros((T, B, H), W.dtype) if self.track_state_grads else None
        for t in reversed(range(T)):
            if dh_seq is not None:
                dh = dh + dh_seq[t]
            carried_h = carried_c = 0.0
            if mask is not None:  # [PAD] rows pass dh and dc straight back
                real = mask[t][:, None]
                dh, carried_h = dh * real, dh * ~real
                dc, carried_c = dc * real, dc * ~real
            i, f, g, o = np.split(gates[t], 4, axis=1)
            tc = self.tanh_c[t]
            dc = dc + dh * o * (1.0 - tc**2)
            if seen is not None:
                seen[t], seen_c[t] = dh + carried_h, dc + carried_c
            da[t] = np.concatenate(
                [
                    dc * g * i * (1 - i),
                    dc * cs[t] * f * (1 - f),
                    dc * i * (1 - g**2),
                    dh * tc * o * (1 - o),
                ],
                axis=1,
            )
            dc = dc * f + carried_c
            dh = da[t] @ W_h.T + carried_h
        da_flat = da.reshape(T * B, 4 * H)
        self.grads["W"][...] = x.reshape(T * B, -1).T @ da_flat
        self.grads["W_h"][...] = hs[:-1].reshape(T * B, H).T @ da_flat
        self.grads["b_h"][...] = da_flat.sum(axis=0)
        self._record(seen)
        if seen_c is not None:
            self.cell_grad_norms = np.sqrt(np.einsum("tbh,tbh->t", seen_c, seen_c))
        return da @ W.T, np.concatenate([dh, dc], axis=1)  # (T, B, D), (B, 2H)
