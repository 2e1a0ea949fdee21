"""The GRU's fast path: the same maths as rnnviz.cells.gru.GRU, tuned for speed.

What it adds to the textbook cell (tests/test_cells.py checks it equal):
- biases inside the matmuls: the input side is [x_t, 1] @ [W; b_h], the recurrent side
  [h_{t-1}, 1] @ [W_h; 0 0 b_hn], so h W_hn + b_hn comes out of the step's one matmul
  (the states live in a (T+1, B, H+1) buffer whose last column is 1), and the weight
  gradients come with the bias gradients in one product each;
- the input as the batch's distinct tokens (rnnviz.layers.Embedding.distinct): x W + b_h
  a lookup in a (U, 3H) table, the weight gradients from per-token sums of dL/da;
- a backward whose step is three NumPy calls and a matmul: every step's local
  derivatives, the candidate's input side included, lie in one (T, B, 4, H) array,
  blocks [r, z, n (recurrent side), n (input side)], so one multiply by dL/dh' gives
  all four gradients of a step.
"""

from __future__ import annotations

import numpy as np

from rnnviz.cells.gru import GRU
from rnnviz.layers import DistinctTokens, scatter_add_rows


class FastGRU(GRU):
    """The GRU with biases in its matmuls and the input as distinct tokens."""

    takes_tokens = True

    def forward(self, x, mask=None, h0=None, tokens: DistinctTokens | None = None) -> np.ndarray:
        """x (T, B, D) or `tokens`, mask (T, B) bool (True = real token), h0 (B, H)
        -> states hs (T+1, B, H), a view of the (T+1, B, H+1) buffer."""
        W, W_h, b_h, b_hn = (self.params[k] for k in ("W", "W_h", "b_h", "b_hn"))
        T, B = tokens.index.shape if tokens is not None else x.shape[:2]
        H, dtype = self.hidden_size, W.dtype
        # s(a) = (1 + tanh(a / 2)) / 2: r and z's columns halved in the weight copies
        scale = np.ones(3 * H, dtype)
        scale[: 2 * H] = 0.5
        if tokens is None:
            D = x.shape[2]
            x_one = np.empty((T * B, D + 1), dtype)  # rows [x_t, 1]
            x_one[:, :D] = x.reshape(T * B, D)
            x_one[:, D] = 1.0
            W_b = np.empty((D + 1, 3 * H), dtype)  # [W; b_h], halved where r, z
            np.multiply(W, scale, out=W_b[:D])
            np.multiply(b_h, scale, out=W_b[D])
            a_x = np.dot(x_one, W_b).reshape(T, B, 3 * H)  # input side of every step
        else:
            x_one = None
            table = np.dot(tokens.vectors, W)  # (U, 3H): each distinct token's x W
            table += b_h
            table *= scale
            a_x = table.take(tokens.index, axis=0)  # (T, B, 3H)
        W_h_one = np.zeros((H + 1, 3 * H), dtype)  # [W_h; 0 0 b_hn], r and z halved
        np.multiply(W_h, scale, out=W_h_one[:H])
        W_h_one[H, 2 * H :] = b_hn
        h_one = np.empty((T + 1, B, H + 1), dtype)  # row t: [h_t, 1]
        h_one[:, :, H] = 1.0
        (h_one[0, :, :H],) = self.start_state(h0, B)
        hs = h_one[:, :, :H]  # (T+1, B, H)
        gates = np.empty((T, B, 3 * H), dtype)  # r, z, n of every step
        a_h = np.empty((T, B, 3 * H), dtype)  # [h W_hr, h W_hz] / 2, h W_hn + b_hn
        if mask is not None and np.count_nonzero(mask) == mask.size:
            mask = None  # no [PAD] in this batch
        pad = None if mask is None else ~mask  # (T, B)
        partial = None if mask is None else pad.any(axis=1)  # (T,) steps with [PAD] rows
        dot, add, multiply, subtract, tanh = np.dot, np.add, np.multiply, np.subtract, np.tanh
        for t in range(T):
            a_t, g_t, x_t = a_h[t], gates[t], a_x[t]
            dot(h_one[t], W_h_one, out=a_t)  # all three gates and b_hn in one matmul
            rz, n, h = g_t[:, : 2 * H], g_t[:, 2 * H :], hs[t + 1]
            tanh(add(x_t[:, : 2 * H], a_t[:, : 2 * H], out=rz), out=rz)
            rz *= 0.5
            rz += 0.5  # r, z = s(...)
            multiply(rz[:, :H], a_t[:, 2 * H :], out=n)
            n += x_t[:, 2 * H :]
            tanh(n, out=n)  # n = tanh(x W_n + b_n + r * (h W_hn + b_hn))
            subtract(hs[t], n, out=h)
            h *= rz[:, H:]
            h += n  # h' = (1 - z) * n + z * h
            if partial is not None and partial[t]:
                rz[pad[t], H:] = 1.0  # a [PAD] step: keep the state, exactly
                np.copyto(h, hs[t], where=pad[t][:, None])
        self.x_one, self.tokens, self.h_one = x_one, tokens, h_one
        self.hs, self.gate_values, self.hn = hs, gates, a_h[:, :, 2 * H :]
        return hs

    def backward(self, dh_seq=None, dh_last=None) -> tuple[np.ndarray, np.ndarray]:
        """dh_seq (T, B, H) and/or dh_last (B, H) -> (dx (T, B, D), dh0 (B, H)); after a
        forward on distinct tokens, their dL/dvector (U, D) in place of dx."""
        W, W_h = self.params["W"], self.params["W_h"]
        hs, gates, hn = self.hs, self.gate_values, self.hn
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        dtype = W.dtype
        r, z, n = (gates[..., k * H : (k + 1) * H] for k in range(3))  # (T, B, H) each
        # Every step's local derivatives per unit of dL/dh', at once (see gru.py), in
        # blocks [r, z, n's recurrent side (h W_hn + b_hn), n's input side]. Worked out on
        # contiguous (T, B, H) copies: a ufunc on a (T, B, H) block of a wider array loops
        # over T*B rows of H and is ~3x slower.
        r, z, n = (np.ascontiguousarray(gates[..., k * H : (k + 1) * H]) for k in range(3))
        local = np.empty((T, B, 4, H), dtype)
        one_minus_z = np.subtract(1.0, z)
        da_n = np.multiply(n, n)
        np.subtract(1.0, da_n, out=da_n)
        da_n *= one_minus_z  # (1 - z)(1 - n^2)
        local[:, :, 3] = da_n
        np.multiply(da_n, r, out=da_n)  # da_n r
        local[:, :, 2] = da_n
        da_n *= hn
        da_n *= np.subtract(1.0, r, out=r)
        local[:, :, 0] = da_n  # da_n hn r (1 - r)
        np.subtract(hs[:-1], n, out=n)
        n *= z
        n *= one_minus_z
        local[:, :, 1] = n  # (h - n) z (1 - z)
        dh = np.zeros((B, H), dtype) if dh_last is None else dh_last.astype(dtype, copy=True)
        da = np.empty((T, B, 4 * H), dtype)  # dL/da of every step, the blocks of `local`
        da_flat = da.reshape(T * B, 4 * H)
        seen = np.zeros((T, B, H), dtype) if self.track_state_grads else None
        W_h_T = np.ascontiguousarray(W_h.T)  # (3H, H)
        through = np.empty((B, H), dtype)
        dot, multiply = np.dot, np.multiply
        for t in range(T - 1, -1, -1):
            if dh_seq is not None:
                dh += dh_seq[t]
            if seen is not None:
                seen[t] = dh
            multiply(dh[:, None, :], local[t], out=da[t].reshape(B, 4, H))  # all four blocks
            dh *= z[t]  # through h' = ... + z * h
            dh += dot(da[t, :, : 3 * H], W_h_T, out=through)  # through the gates
        self._record(seen)
        # [dW_h; db] = [h, 1]^T da_h: the last row's candidate block is db_hn
        W_h_b = np.dot(self.h_one[:-1].reshape(T * B, H + 1).T, da_flat[:, : 3 * H])
        self.grads["W_h"][...] = W_h_b[:H]
        self.grads["b_hn"][...] = W_h_b[H, 2 * H :]
        # The input side's dL/da, blocks r, z and n's input side, contiguous for BLAS
        da_x = np.empty((T * B, 3 * H), dtype)
        da_x[:, : 2 * H] = da_flat[:, : 2 * H]
        da_x[:, 2 * H :] = da_flat[:, 3 * H :]
        if self.tokens is not None:
            tokens = self.tokens
            per_token = np.zeros((len(tokens.ids), 3 * H), dtype)
            scatter_add_rows(per_token, tokens.index.reshape(-1), da_x)
            np.dot(tokens.vectors.T, per_token, out=self.grads["W"])
            np.add.reduce(per_token, axis=0, out=self.grads["b_h"])
            return np.dot(per_token, W.T), dh  # (U, D), (B, H)
        W_b = np.dot(self.x_one.T, da_x)  # [dW; db_h] (D+1, 3H)
        D = W.shape[0]
        self.grads["W"][...] = W_b[:D]
        self.grads["b_h"][...] = W_b[D]
        return np.dot(da_x, W.T).reshape(T, B, D), dh  # (T, B, D), (B, H)
