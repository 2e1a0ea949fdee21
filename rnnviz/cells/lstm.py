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


def step_vjp(params: dict, h: np.ndarray, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """v^T d[h', c']/d[h, c] for each of the N states (N, 2H): one step's backward, without
    forming the (N, 2H, 2H) Jacobian (the fixed-point search's gradient)."""
    H = h.shape[-1] // 2
    c = h[:, H:]
    i, f, g, o = np.split(_gates(params, x @ params["W"] + params["b_h"], h[:, :H]), 4, axis=1)
    tc = np.tanh(f * c + i * g)
    dh, dc = v[:, :H], v[:, H:] + v[:, :H] * o * (1 - tc**2)  # dL/dh', dL/dc' (through h')
    da = np.concatenate(
        [dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g**2), dh * tc * o * (1 - o)],
        axis=1,
    )  # (N, 4H)
    return np.concatenate([da @ params["W_h"].T, dc * f], axis=1)


class LSTM(Cell):
    """Long short-term memory; see the module docstring for the equations.

    With a padding mask, a [PAD] step is a step whose input gate is 0 and forget gate 1
    (c' = c exactly), and whose h is carried: h' = h.
    """

    gates = 4
    state_parts = 2

    def __init__(self, params: dict, grads: dict) -> None:
        super().__init__(params, grads)
        self.cell_grad_norms: np.ndarray | None = None  # (T,) ||dL/dc_t||, with the h ones
        self.cs: np.ndarray | None = None

    def forward(self, x, mask=None, h0=None, tokens=None) -> np.ndarray:
        W, W_h, b_h = self.params["W"], self.params["W_h"], self.params["b_h"]
        T, B, D = x.shape
        H = self.hidden_size
        hs = np.empty((T + 1, B, H), W.dtype)  # hs[t + 1] = h after step t
        cs = np.empty((T + 1, B, H), W.dtype)  # cs[t + 1] = c after step t
        hs[0], cs[0] = self.start_state(h0, B)
        # s(a) = (1 + tanh(a / 2)) / 2: all four gates with one tanh a step, the halving
        # of i, f, o's pre-activations folded into the input side and a copy of W_h
        scale = np.full(4 * H, 0.5, W.dtype)
        scale[2 * H : 3 * H] = 1.0  # g: tanh itself
        shift = 1.0 - scale  # 0.5 for i, f, o; 0 for g
        a_x = np.dot(x.reshape(T * B, D), W).reshape(T, B, 4 * H)  # input side, all steps
        a_x += b_h
        a_x *= scale
        W_h_scaled = W_h * scale
        gates = np.empty((T, B, 4 * H), W.dtype)  # i, f, g, o of every step
        tanh_c = np.empty((T, B, H), W.dtype)
        if mask is not None and np.count_nonzero(mask) == mask.size:
            mask = None  # no [PAD] in this batch
        pad = None if mask is None else ~mask  # (T, B)
        partial = None if mask is None else pad.any(axis=1)  # (T,) steps with [PAD] rows
        for t in range(T):
            a = gates[t]
            np.dot(hs[t], W_h_scaled, out=a)  # all four gates in one matmul
            a += a_x[t]
            np.tanh(a, out=a)
            a *= scale
            a += shift  # [i, f, g, o] = [s, s, tanh, s](a)
            if partial is not None and partial[t]:
                a[pad[t], :H], a[pad[t], H : 2 * H] = 0.0, 1.0  # [PAD]: i = 0, f = 1
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            c = cs[t + 1]
            np.multiply(f, cs[t], out=c)
            c += i * g  # c' = f * c + i * g
            np.tanh(c, out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=hs[t + 1])  # h' = o * tanh(c')
            if partial is not None and partial[t]:
                np.copyto(hs[t + 1], hs[t], where=pad[t][:, None])
        self.x, self.pad, self.hs, self.cs = x, pad, hs, cs
        self.gate_values, self.tanh_c = gates, tanh_c
        return hs

    def final_state(self) -> np.ndarray:
        return np.concatenate([self.hs[-1], self.cs[-1]], axis=1)  # (B, 2H)

    def backward(self, dh_seq=None, dh_last=None) -> tuple[np.ndarray, np.ndarray]:
        W, W_h = self.params["W"], self.params["W_h"]
        x, pad, hs, cs, gates, tc = (
            self.x,
            self.pad,
            self.hs,
            self.cs,
            self.gate_values,
            self.tanh_c,
        )
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        i, f, g, o = (gates[..., k * H : (k + 1) * H] for k in range(4))  # (T, B, H) each
        # Every step's local derivatives at once (they need no gradient yet); the loop
        # then only chains them.
        dc_per_dh = o * (1.0 - tc**2)  # dc' += dh' * o (1 - tanh^2 c')
        local = np.empty((T, B, 4, H), W.dtype)  # da per unit of dc' (i, f, g), of dh' (o)
        local[:, :, 0] = g * i * (1.0 - i)
        local[:, :, 1] = cs[:-1] * f * (1.0 - f)
        local[:, :, 2] = i * (1.0 - g**2)
        local[:, :, 3] = tc * o * (1.0 - o)
        partial = None
        if pad is not None:  # [PAD] rows: i = 0 and f = 1 already pass dc on; dh skips o
            real = (~pad)[:, :, None]
            dc_per_dh *= real
            local[:, :, 3] *= real
            partial = pad.any(axis=1)
        dh = np.zeros((B, H), W.dtype) if dh_last is None else dh_last.astype(W.dtype)
        dc = np.zeros((B, H), W.dtype)
        da = np.empty((T, B, 4 * H), W.dtype)  # dL/da of every step, a the pre-activations
        seen = np.zeros((T, B, H), W.dtype) if self.track_state_grads else None
        seen_c = np.zeros((T, B, H), W.dtype) if self.track_state_grads else None
        W_h_T = np.ascontiguousarray(W_h.T) if B > 1 else W_h.T
        for t in reversed(range(T)):
            if dh_seq is not None:
                dh += dh_seq[t]
            dc += dh * dc_per_dh[t]
            if seen is not None:
                seen[t], seen_c[t] = dh, dc
            da_t = da[t].reshape(B, 4, H)
            np.multiply(dc[:, None, :], local[t, :, :3], out=da_t[:, :3])
            np.multiply(dh, local[t, :, 3], out=da_t[:, 3])
            dc *= f[t]  # through c' = f * c + ...
            if partial is not None and partial[t]:
                dh = np.dot(da[t], W_h_T) + dh * pad[t][:, None]  # [PAD] rows carry h
            else:
                dh = np.dot(da[t], W_h_T)  # through the gates
        da_flat = da.reshape(T * B, 4 * H)
        np.dot(x.reshape(T * B, -1).T, da_flat, out=self.grads["W"])
        np.dot(hs[:-1].reshape(T * B, H).T, da_flat, out=self.grads["W_h"])
        np.add.reduce(da_flat, axis=0, out=self.grads["b_h"])
        self._record(seen)
        if seen_c is not None:
            self.cell_grad_norms = np.sqrt(np.einsum("tbh,tbh->t", seen_c, seen_c))
        return np.dot(da_flat, W.T).reshape(T, B, -1), np.concatenate([dh, dc], axis=1)
