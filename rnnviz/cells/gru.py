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


def step_vjp(params: dict, h: np.ndarray, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """v^T dh'/dh for each of the N states (N, H), without forming the Jacobian."""
    H = h.shape[-1]
    a_x = np.broadcast_to(x @ params["W"] + params["b_h"], (len(h), 3 * H))
    r, z, n, hn = _gates(params, a_x, h)
    da_n = v * (1 - z) * (1 - n**2)
    da_h = np.concatenate([da_n * hn * r * (1 - r), v * (h - n) * z * (1 - z), da_n * r], axis=1)
    return v * z + da_h @ params["W_h"].T


class GRU(Cell):
    """Gated recurrent unit; see the module docstring for the equations.

    With a padding mask, a [PAD] step is a step whose update gate is 1: h' = h, and the
    gradient passes straight back (backward needs no mask of its own).
    """

    gates = 3

    def forward(self, x, mask=None, h0=None, tokens=None) -> np.ndarray:
        W, W_h, b_h, b_hn = (self.params[k] for k in ("W", "W_h", "b_h", "b_hn"))
        T, B, D = x.shape
        H = self.hidden_size
        hs = np.empty((T + 1, B, H), W.dtype)  # hs[t + 1] = h after step t
        (hs[0],) = self.start_state(h0, B)
        a_x = np.dot(x.reshape(T * B, D), W).reshape(T, B, 3 * H)  # input side, all steps
        a_x += b_h
        # s(a) = (1 + tanh(a / 2)) / 2: r and z's pre-activations halved up front, on the
        # input side and in a copy of W_h (the candidate's block stays whole)
        a_x[..., : 2 * H] *= 0.5
        W_h_scaled = W_h.copy()
        W_h_scaled[:, : 2 * H] *= 0.5
        gates = np.empty((T, B, 3 * H), W.dtype)  # r, z, n of every step
        hn = np.empty((T, B, H), W.dtype)  # h W_hn + b_hn, which r multiplies
        a_h = np.empty((B, 3 * H), W.dtype)
        if mask is not None and np.count_nonzero(mask) == mask.size:
            mask = None  # no [PAD] in this batch
        pad = None if mask is None else ~mask  # (T, B)
        partial = None if mask is None else pad.any(axis=1)  # (T,) steps with [PAD] rows
        for t in range(T):
            np.dot(hs[t], W_h_scaled, out=a_h)  # all three gates in one matmul
            rz, n, h = gates[t, :, : 2 * H], gates[t, :, 2 * H :], hs[t + 1]
            np.tanh(np.add(a_x[t, :, : 2 * H], a_h[:, : 2 * H], out=rz), out=rz)
            rz *= 0.5
            rz += 0.5  # r, z = s(...)
            r, z = rz[:, :H], rz[:, H:]
            np.add(a_h[:, 2 * H :], b_hn, out=hn[t])
            np.multiply(r, hn[t], out=n)
            n += a_x[t, :, 2 * H :]
            np.tanh(n, out=n)
            np.subtract(hs[t], n, out=h)
            h *= z
            h += n  # h' = (1 - z) * n + z * h
            if partial is not None and partial[t]:
                z[pad[t]] = 1.0  # a [PAD] step: keep the state, exactly
                np.copyto(h, hs[t], where=pad[t][:, None])
        self.x, self.hs, self.gate_values, self.hn = x, hs, gates, hn
        return hs

    def backward(self, dh_seq=None, dh_last=None) -> tuple[np.ndarray, np.ndarray]:
        W, W_h = self.params["W"], self.params["W_h"]
        x, hs, gates, hn = self.x, self.hs, self.gate_values, self.hn
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        r, z, n = (gates[..., k * H : (k + 1) * H] for k in range(3))  # (T, B, H) each
        # Every step's local derivatives at once (they need no gradient yet); the loop
        # then only chains them. Per unit of dL/dh':
        da_n = (1.0 - z) * (1.0 - n**2)  # candidate pre-activation x W_n + b_n + r * hn
        local = np.empty((T, B, 3, H), W.dtype)  # of the recurrent side h W_h (+ b_hn)
        local[:, :, 0] = da_n * hn * r * (1.0 - r)  # r
        local[:, :, 1] = (hs[:-1] - n) * z * (1.0 - z)  # z
        local[:, :, 2] = da_n * r  # h W_hn + b_hn
        dh = np.zeros((B, H), W.dtype) if dh_last is None else dh_last.astype(W.dtype)
        dhs = np.empty((T, B, H), W.dtype)  # dL/dh_t, everything that reaches h_t
        da_h = np.empty((T, B, 3 * H), W.dtype)  # dL/d(h W_h), the n block with b_hn
        W_h_T = np.ascontiguousarray(W_h.T) if B > 1 else W_h.T
        for t in reversed(range(T)):
            if dh_seq is not None:
                dh += dh_seq[t]
            dhs[t] = dh
            np.multiply(dh[:, None, :], local[t], out=da_h[t].reshape(B, 3, H))
            dh *= z[t]  # through h' = ... + z * h
            dh += np.dot(da_h[t], W_h_T)  # through the gates
        da_x = da_h.copy()  # dL/d(x W + b_h): the same but for the candidate's block
        np.multiply(dhs, da_n, out=da_x[..., 2 * H :])
        da_x_flat, da_h_flat = da_x.reshape(T * B, 3 * H), da_h.reshape(T * B, 3 * H)
        np.dot(x.reshape(T * B, -1).T, da_x_flat, out=self.grads["W"])
        np.dot(hs[:-1].reshape(T * B, H).T, da_h_flat, out=self.grads["W_h"])
        np.add.reduce(da_x_flat, axis=0, out=self.grads["b_h"])
        np.add.reduce(da_h_flat[:, 2 * H :], axis=0, out=self.grads["b_hn"])
        self._record(dhs if self.track_state_grads else None)
        return np.dot(da_x_flat, W.T).reshape(T, B, -1), dh  # (T, B, D), (B, H)
