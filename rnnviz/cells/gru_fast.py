"""The GRU's fast path: the same maths as rnnviz.cells.gru.GRU, tuned for speed.

What it adds to the textbook cell (tests/test_cells.py checks it equal):
- one sequence (B = 1, the interactive size): rnnviz.cells.gru_one_row's path;
- states as columns (B > 1): inside the layer h_t is (H, B) and a step's gates (3H, B),
  so that each gate is a contiguous block of rows. A ufunc on an (H, B) block of a (B, 3H)
  array loops over B rows of H; on a contiguous block it runs once, ~2.5x faster at
  B = 64, H = 128. The step's matmul is W_h^T (3H, H+1) @ [h; 1] (H+1, B), as fast.
- biases inside the matmuls: the input side [W; b_h]^T @ [x_t; 1], the recurrent side
  [W_h; 0 0 b_hn]^T @ [h; 1], so h W_hn + b_hn comes out of the step's one matmul, and
  the weight gradients come with the bias gradients in one product each;
- a backward whose step is three NumPy calls and a matmul: every step's local
  derivatives lie in one (T, 4, H, B) array, blocks [n's recurrent side, r, z, n's input
  side], so one multiply by dL/dh' gives all four of a step's gradients; dL/da is kept
  as (4H, T, B) and the states as (H+1, T+1, B), so that the weight gradients are plain
  products over all T*B columns (no transposing copy).
"""

from __future__ import annotations

import numpy as np

from rnnviz.cells import gru_one_row as one_row
from rnnviz.cells.gru import GRU


class FastGRU(GRU):
    """The GRU with its states as columns and biases in its matmuls (B > 1), and the
    one-row path (B = 1, no [PAD] step)."""

    _rows = _one_row = None  # the one-row path's rows, buffers (rnnviz.cells.gru_one_row)

    def _forward_one_row(self, x, h0) -> np.ndarray:
        T, _, D = x.shape
        H, dtype = self.hidden_size, self.params["W"].dtype
        buffers = self._one_row
        if buffers is None or not buffers.fits(T, D, H, dtype) or buffers.in_use():
            self._one_row = None
            self._one_row = buffers = one_row.OneRowGRUBuffers(T, D, H, dtype)
        start = None if h0 is None else self.start_state(h0, 1)[0][0]
        one_row.forward(buffers, self.params, x, start)
        act = buffers.act
        self.x, self._rows = x, buffers.rows
        self.hs = buffers.rows[:, None, D : D + H]  # (T+1, 1, H) views of the kept buffers
        self.gate_values = np.concatenate([act[:, H : 3 * H], buffers.n], axis=1)[:, None]
        self.hn = act[:, None, 3 * H :]  # (T, 1, H)
        return self.hs

    def _backward_one_row(self, dh_seq, dh_last) -> tuple[np.ndarray, np.ndarray]:
        buffers = self._one_row
        if buffers.maps is None:  # too big for the step maps: the textbook's backward
            return super().backward(dh_seq, dh_last)
        dx, dh0 = one_row.backward(buffers, self.params, self.grads, dh_seq, dh_last)
        if self.track_state_grads:
            H = self.hidden_size
            self._record(buffers.grad[1:, None, :H].copy())  # dL/dh_t at hs[t + 1]
        return dx, dh0

    def forward(self, x, mask=None, h0=None, tokens=None) -> np.ndarray:
        """x (T, B, D), mask (T, B) bool (True = real token), h0 (B, H)
        -> states hs (T+1, B, H), a transposed view of the (H+1, T+1, B) columns."""
        T, B, D = x.shape
        self.columns = self._rows = self.hs = None  # (let go of the kept one-row buffers)
        if B == 1:
            if mask is None or mask.all():
                return self._forward_one_row(x, h0)
            return super().forward(x, mask, h0)  # [PAD] in one sequence: the textbook's
        W, W_h, b_h, b_hn = (self.params[k] for k in ("W", "W_h", "b_h", "b_hn"))
        H, dtype = self.hidden_size, W.dtype
        # s(a) = (1 + tanh(a / 2)) / 2: r and z's rows halved in the weight copies
        scale = np.ones((3 * H, 1), dtype)
        scale[: 2 * H] = 0.5
        x_one = np.empty((T * B, D + 1), dtype)  # rows [x_t, 1]
        x_one[:, :D] = x.reshape(T * B, D)
        x_one[:, D] = 1.0
        W_b = np.empty((3 * H, D + 1), dtype)  # [W; b_h]^T, halved where r, z
        np.multiply(W.T, scale, out=W_b[:, :D])
        np.multiply(b_h[:, None], scale, out=W_b[:, D:])
        # (T, 3H, B): the input side of every step, [W; b_h]^T @ [x_t, 1]^T
        a_x = np.matmul(W_b, x_one.reshape(T, B, D + 1).transpose(0, 2, 1))
        W_h_one = np.zeros((3 * H, H + 1), dtype)  # [W_h; 0 0 b_hn]^T, r and z halved
        np.multiply(W_h.T, scale, out=W_h_one[:, :H])
        W_h_one[2 * H :, H] = b_hn
        h_one = np.empty((H + 1, T + 1, B), dtype)  # h_one[:, t]: [h_t; 1], (H+1, B)
        h_one[H] = 1.0
        (h_start,) = self.start_state(h0, B)
        h_one[:H, 0] = h_start.T
        hs = h_one[:H]  # (H, T+1, B)
        gates = np.empty((T, 3 * H, B), dtype)  # r, z, n of every step
        a_h = np.empty((T, 3 * H, B), dtype)  # [W_hr h, W_hz h] / 2, W_hn h + b_hn
        if mask is not None and np.count_nonzero(mask) == mask.size:
            mask = None  # no [PAD] in this batch
        pad = None if mask is None else ~mask  # (T, B)
        partial = None if mask is None else pad.any(axis=1)  # (T,) steps with [PAD] rows
        dot, add, multiply, subtract, tanh = np.dot, np.add, np.multiply, np.subtract, np.tanh
        for t in range(T):
            a_t, g_t, x_t = a_h[t], gates[t], a_x[t]
            dot(W_h_one, h_one[:, t], out=a_t)  # all three gates and b_hn in one matmul
            rz, n, h = g_t[: 2 * H], g_t[2 * H :], hs[:, t + 1]
            tanh(add(x_t[: 2 * H], a_t[: 2 * H], out=rz), out=rz)
            rz *= 0.5
            rz += 0.5  # r, z = s(...)
            multiply(rz[:H], a_t[2 * H :], out=n)
            n += x_t[2 * H :]
            tanh(n, out=n)  # n = tanh(x W_n + b_n + r * (h W_hn + b_hn))
            subtract(hs[:, t], n, out=h)
            h *= rz[H:]
            h += n  # h' = (1 - z) * n + z * h
            if partial is not None and partial[t]:
                rz[H:, pad[t]] = 1.0  # a [PAD] step: keep the state, exactly
                np.copyto(h, hs[:, t], where=pad[t])
        self.x_one, self.h_one, self.columns = x_one, h_one, gates
        self.hs = hs.transpose(1, 2, 0)  # (T+1, B, H)
        self.gate_values = gates.transpose(0, 2, 1)  # (T, B, 3H)
        self.hn = a_h[:, 2 * H :]  # (T, H, B)
        return self.hs

    def backward(self, dh_seq=None, dh_last=None) -> tuple[np.ndarray, np.ndarray]:
        """dh_seq (T, B, H) and/or dh_last (B, H) -> (dx (T, B, D), dh0 (B, H))."""
        if self._rows is not None:
            return self._backward_one_row(dh_seq, dh_last)
        if self.columns is None:
            return super().backward(dh_seq, dh_last)  # after the textbook's forward
        W, W_h = self.params["W"], self.params["W_h"]
        h_one, gates, hn = self.h_one, self.columns, self.hn  # (H+1, T+1, B), (T, 3H, B)
        T, H, B = gates.shape[0], self.hidden_size, gates.shape[2]
        dtype = W.dtype
        r, z, n = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]  # (T, H, B) each
        # Every step's local derivatives per unit of dL/dh', at once (see gru.py), in
        # blocks [n's recurrent side (W_hn h + b_hn), r, z, n's input side (W_n x + b_n)]:
        # the first three are the recurrent side's (W_h's columns taken in that order),
        # the last three the input side's [r, z, n]
        local = np.empty((T, 4, H, B), dtype)
        da_n, one_minus_z = local[:, 3], np.subtract(1.0, z)
        np.multiply(n, n, out=da_n)
        np.subtract(1.0, da_n, out=da_n)
        da_n *= one_minus_z  # (1 - z)(1 - n^2)
        np.multiply(da_n, r, out=local[:, 0])  # da_n r
        np.multiply(local[:, 0], hn, out=local[:, 1])
        local[:, 1] *= np.subtract(1.0, r)  # da_n hn r (1 - r)
        np.subtract(h_one[:H, :-1].transpose(1, 0, 2), n, out=local[:, 2])
        local[:, 2] *= z
        local[:, 2] *= one_minus_z  # (h - n) z (1 - z)
        dh = np.zeros((H, B), dtype) if dh_last is None else np.array(dh_last.T, dtype, order="C")
        dh_seq = None if dh_seq is None else np.ascontiguousarray(dh_seq.transpose(0, 2, 1))
        # dL/da of every step, the blocks of `local`, laid out (4H, T, B): a step's (4H, B)
        # is a strided matrix, and the weight gradients' products need no transposing copy
        da = np.empty((4, H, T, B), dtype)
        W_h_nrz = np.concatenate([W_h[:, 2 * H :], W_h[:, : 2 * H]], axis=1)  # (H, 3H)
        seen = np.zeros((T, H, B), dtype) if self.track_state_grads else None
        through = np.empty((H, B), dtype)
        dot, multiply = np.dot, np.multiply
        for t in range(T - 1, -1, -1):
            if dh_seq is not None:
                dh += dh_seq[t]
            if seen is not None:
                seen[t] = dh
            multiply(local[t], dh, out=da[:, :, t])  # all four blocks
            dh *= z[t]  # through h' = ... + z * h
            dh += dot(W_h_nrz, da[:3, :, t].reshape(3 * H, B), out=through)  # through gates
        if seen is not None:
            self._record(seen.transpose(0, 2, 1))
        da_h = da[:3].reshape(3 * H, T * B).T  # (T*B, 3H): [n, r, z], rows t*B + b
        da_x = da[1:].reshape(3 * H, T * B).T  # (T*B, 3H): the input side's [r, z, n]
        h_rows = h_one[:, :T].reshape(H + 1, T * B)  # [h_{t-1}; 1] columns
        W_h_b = np.dot(h_rows, da_h)  # [dW_h; db] in columns [n, r, z]: db_hn its last row
        self.grads["W_h"][:, : 2 * H] = W_h_b[:H, H:]
        self.grads["W_h"][:, 2 * H :] = W_h_b[:H, :H]
        self.grads["b_hn"][...] = W_h_b[H, :H]
        dh0 = dh.T  # (B, H)
        D = W.shape[0]
        W_b = np.dot(self.x_one.T, da_x)  # [dW; db_h] = [x, 1]^T da_x, (D+1, 3H)
        self.grads["W"][...] = W_b[:D]
        self.grads["b_h"][...] = W_b[D]
        return np.dot(da_x, W.T).reshape(T, B, D), dh0  # (T, B, D), (B, H)
