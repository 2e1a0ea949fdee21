"""The LSTM's batch path: the same maths as rnnviz.cells.lstm.LSTM, tuned for B > 1.

What it adds to the textbook cell (tests/test_cells.py checks it equal):
- states as columns, as rnnviz.cells.gru_fast: h_t and c_t are (H, B), a step's gates
  (4H, B), each gate a contiguous block of rows, so the step's element-wise work runs
  on contiguous blocks (~2.5x faster at B = 64 than on (B, H) blocks of (B, 4H) rows).
  The gates lie in the order [i, f, o, g] inside the forward, so that the three
  sigmoids are one block; dL/da in PyTorch's [i, f, g, o], W_h's own order, kept as
  (4H, T, B) and h as (H, T+1, B), so that the weight gradients are plain products over
  all T*B columns (no transposing copy);
- the input side with its bias in one matmul, [W; b_h]^T @ [x_t; 1]; [dW; db_h] in
  one product.
"""

from __future__ import annotations

import numpy as np

from rnnviz.cells.lstm import LSTM


def _column_order(H: int) -> np.ndarray:
    """Row indices that take [i, f, g, o] to the forward's [i, f, o, g]."""
    return np.r_[0 : 2 * H, 3 * H : 4 * H, 2 * H : 3 * H]


class BatchLSTM(LSTM):
    """The LSTM with its states as columns; `gate_values` is made (T, B, 4H) on demand."""

    _gate_values = _gate_columns = None

    @property
    def gate_values(self) -> np.ndarray | None:
        """(T, B, 4H) [i, f, g, o] of every step (made from the columns when asked)."""
        if self._gate_values is None and self._gate_columns is not None:
            H = self.hidden_size
            i, f, o, g = (self._gate_columns[:, k * H : (k + 1) * H] for k in range(4))
            self._gate_values = np.concatenate([i, f, g, o], axis=1).transpose(0, 2, 1)
        return self._gate_values

    @gate_values.setter
    def gate_values(self, value) -> None:
        self._gate_values, self._gate_columns = value, None

    def forward(self, x, mask=None, h0=None, tokens=None) -> np.ndarray:
        """x (T, B, D), mask (T, B) bool (True = real token), h0 (B, 2H)
        -> states hs (T+1, B, H), a transposed view of the (H, T+1, B) columns."""
        W, W_h, b_h = self.params["W"], self.params["W_h"], self.params["b_h"]
        T, B, D = x.shape
        H, dtype = self.hidden_size, W.dtype
        order = _column_order(H)  # [i, f, o, g]
        half = np.ones((4 * H, 1), dtype)  # s(a) = (1 + tanh(a / 2)) / 2: i, f, o halved
        half[: 3 * H] = 0.5
        self.x_one = x_one = np.empty((T * B, D + 1), dtype)  # rows [x_t, 1]
        x_one[:, :D] = x.reshape(T * B, D)
        x_one[:, D] = 1.0
        W_b = np.empty((4 * H, D + 1), dtype)  # [W; b_h]^T, rows [i, f, o, g], halved
        np.multiply(W.T[order], half, out=W_b[:, :D])
        np.multiply(b_h[order, None], half, out=W_b[:, D:])
        a_x = np.matmul(W_b, x_one.reshape(T, B, D + 1).transpose(0, 2, 1))  # (T, 4H, B)
        W_h_T = np.multiply(W_h.T[order], half)  # (4H, H), rows [i, f, o, g]
        hs = np.empty((H, T + 1, B), dtype)  # hs[:, t + 1] = h after step t, as columns
        cs = np.empty((T + 1, H, B), dtype)
        h_start, c_start = self.start_state(h0, B)
        hs[:, 0], cs[0] = h_start.T, c_start.T
        gates = np.empty((T, 4 * H, B), dtype)  # i, f, o, g of every step
        tanh_c = np.empty((T, H, B), dtype)
        if mask is not None and np.count_nonzero(mask) == mask.size:
            mask = None  # no [PAD] in this batch
        pad = None if mask is None else ~mask  # (T, B)
        partial = None if mask is None else pad.any(axis=1)  # (T,) steps with [PAD] rows
        i_g = np.empty((H, B), dtype)
        dot, tanh, multiply = np.dot, np.tanh, np.multiply
        for t in range(T):
            a = gates[t]
            dot(W_h_T, hs[:, t], out=a)  # all four gates in one matmul
            a += a_x[t]
            tanh(a, out=a)
            sig = a[: 3 * H]
            sig *= 0.5
            sig += 0.5  # [i, f, o] = s(...), g = tanh(...)
            if partial is not None and partial[t]:
                a[:H, pad[t]], a[H : 2 * H, pad[t]] = 0.0, 1.0  # [PAD]: i = 0, f = 1
            c = cs[t + 1]
            multiply(a[H : 2 * H], cs[t], out=c)
            c += multiply(a[:H], a[3 * H :], out=i_g)  # c' = f * c + i * g
            tanh(c, out=tanh_c[t])
            multiply(a[2 * H : 3 * H], tanh_c[t], out=hs[:, t + 1])  # h' = o * tanh(c')
            if partial is not None and partial[t]:
                np.copyto(hs[:, t + 1], hs[:, t], where=pad[t])
        self.pad, self.h_columns, self.c_columns, self.tanh_c_columns = pad, hs, cs, tanh_c
        self._gate_values, self._gate_columns = None, gates
        self.cs, self.tanh_c = cs.transpose(0, 2, 1), tanh_c.transpose(0, 2, 1)
        self.hs = hs.transpose(1, 2, 0)  # (T+1, B, H)
        return self.hs

    def final_state(self) -> np.ndarray:
        return np.concatenate([self.hs[-1], self.cs[-1]], axis=1)  # (B, 2H)

    def backward(self, dh_seq=None, dh_last=None) -> tuple[np.ndarray, np.ndarray]:
        """dh_seq (T, B, H) and/or dh_last (B, H) -> (dx (T, B, D), d[h0, c0] (B, 2H))."""
        W, W_h, pad = self.params["W"], self.params["W_h"], self.pad
        hs, cs, tc, gates = self.h_columns, self.c_columns, self.tanh_c_columns, self._gate_columns
        T, H, B = tc.shape
        dtype = W.dtype
        i, f, o, g = (gates[:, k * H : (k + 1) * H] for k in range(4))  # (T, H, B) each
        # Every step's local derivatives at once; the loop then only chains them.
        local = np.empty((T, 4, H, B), dtype)  # da per unit of dc' (i, f, g), of dh' (o)
        np.subtract(1.0, i, out=local[:, 0])
        local[:, 0] *= i
        local[:, 0] *= g  # g i (1 - i)
        np.subtract(1.0, f, out=local[:, 1])
        local[:, 1] *= f
        local[:, 1] *= cs[:-1]  # c f (1 - f)
        np.multiply(g, g, out=local[:, 2])
        np.subtract(1.0, local[:, 2], out=local[:, 2])
        local[:, 2] *= i  # i (1 - g^2)
        np.subtract(1.0, o, out=local[:, 3])
        local[:, 3] *= o
        local[:, 3] *= tc  # tanh(c') o (1 - o)
        dc_per_dh = np.multiply(tc, tc)
        np.subtract(1.0, dc_per_dh, out=dc_per_dh)
        dc_per_dh *= o  # dc' += dh' * o (1 - tanh^2 c')
        partial = None
        if pad is not None:  # [PAD] columns: i = 0 and f = 1 pass dc on; dh skips o
            real = (~pad)[:, None, :]  # (T, 1, B)
            dc_per_dh *= real
            local[:, 3] *= real
            partial = pad.any(axis=1)
        dh = np.zeros((H, B), dtype) if dh_last is None else np.array(dh_last.T, dtype, order="C")
        dh_seq = None if dh_seq is None else np.ascontiguousarray(dh_seq.transpose(0, 2, 1))
        dc = np.zeros((H, B), dtype)
        # dL/da of every step, [i, f, g, o], laid out (4H, T, B): a step's (4H, B) is a
        # strided matrix, and the weight gradients' products need no transposing copy
        da = np.empty((4, H, T, B), dtype)
        seen = np.zeros((T, H, B), dtype) if self.track_state_grads else None
        seen_c = np.zeros((T, H, B), dtype) if self.track_state_grads else None
        through = np.empty((H, B), dtype)
        dot, multiply = np.dot, np.multiply
        for t in range(T - 1, -1, -1):
            if dh_seq is not None:
                dh += dh_seq[t]
            dc += multiply(dh, dc_per_dh[t], out=through)
            if seen is not None:
                seen[t], seen_c[t] = dh, dc
            multiply(local[t, :3], dc, out=da[:3, :, t])
            multiply(local[t, 3], dh, out=da[3, :, t])
            da_t = da[:, :, t].reshape(4 * H, B)  # (a view)
            dc *= f[t]  # through c' = f * c + ...
            if partial is not None and partial[t]:
                dh = dot(W_h, da_t) + dh * pad[t]  # [PAD] columns carry h
            else:
                dot(W_h, da_t, out=dh)  # through the gates
        if seen is not None:
            self._record(seen.transpose(0, 2, 1))
            self.cell_grad_norms = np.sqrt(np.einsum("thb,thb->t", seen_c, seen_c))
        da_rows = da.reshape(4 * H, T * B).T  # (T*B, 4H), rows t*B + b as x_one's
        np.dot(hs[:, :T].reshape(H, T * B), da_rows, out=self.grads["W_h"])
        d_state = np.concatenate([dh.T, dc.T], axis=1)  # (B, 2H)
        D = W.shape[0]
        W_b = np.dot(self.x_one.T, da_rows)  # [dW; db_h] = [x, 1]^T da, (D+1, 4H)
        self.grads["W"][...] = W_b[:D]
        self.grads["b_h"][...] = W_b[D]
        return np.dot(da_rows, W.T).reshape(T, B, D), d_state
