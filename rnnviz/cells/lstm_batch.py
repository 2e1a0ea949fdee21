"""The LSTM's batch path: the same maths as rnnviz.cells.lstm.LSTM, tuned for B > 1.

What it adds to the textbook cell (tests/test_cells.py checks it equal):
- states as columns, as rnnviz.cells.gru_fast: h_t and c_t are (H, B), a step's gates
  (4H, B), each gate a contiguous block of rows, so the step's element-wise work runs
  on contiguous blocks (~2.5x faster at B = 64 than on (B, H) blocks of (B, 4H) rows).
  The gates lie in the order [i, f, o, g] inside the forward, so that the three
  sigmoids are one block;
- input, bias and recurrent side in one matmul a step, a_t = S @ [h_{t-1}; x_t; 1], S =
  [W_h; W; b_h]^T, and every step's column [h_{t-1}; x_t; 1] kept in one (H+D+1, T+1, B)
  array, so that [dW_h; dW; db_h] is one product over all T*B columns;
- a backward of four NumPy calls a step. A step is linear in (dh_t, dc_t): every
  step's coefficients are written at once into `per_dh` (T, 2, H, B), [da_o, dc_t] per
  unit of dh_t, and `per_dc` (T, 4, H, B), [da_i, da_f, da_g, dc_{t-1}] per unit of
  dc_t. A step's gradients lie in contiguous (6, H, B) blocks [o, i, f, g, dc_{t-1},
  dh_t's part of dc_t], so that one multiply by dh_t writes blocks 0 and 5, one by dc_t
  blocks 1-4, and blocks 0-3 are the step's dL/da, a (4H, B) matrix whose rows follow
  W_h's columns taken as [o, i, f, g]; one matmul [W_h; W] dL/da then gives both
  dh_{t-1} and dx_t. dL/da is copied once into (4H, T*B) for [dW_h; dW; db_h].
Measured at the small benchmark size (B = 64, H = 128, T = 32), the step is bound by
its matmuls (bench/README.md, "What limits the LSTM").
"""

from __future__ import annotations

import numpy as np

from rnnviz.cells.lstm import LSTM


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
        stacked = np.concatenate([W_h, W, b_h[None]])  # (H+D+1, 4H), columns [i, f, g, o]
        S = np.empty((4 * H, H + D + 1), dtype)  # its transpose, rows [i, f, o, g]
        S[: 2 * H], S[2 * H : 3 * H] = stacked[:, : 2 * H].T, stacked[:, 3 * H :].T
        S[3 * H :] = stacked[:, 2 * H : 3 * H].T
        S[: 3 * H] *= 0.5  # s(a) = (1 + tanh(a / 2)) / 2: i, f, o halved
        # column t: [h_{t-1}; x_t; 1], step t's whole input (the last x is never read)
        xh = np.empty((H + D + 1, T + 1, B), dtype)
        xh[H : H + D, :T] = x.transpose(2, 0, 1)
        xh[H : H + D, T] = 0.0
        xh[H + D] = 1.0
        hs = xh[:H]  # (H, T+1, B): hs[:, t + 1] = h after step t, as columns
        cs = np.empty((T + 1, H, B), dtype)
        h_start, c_start = self.start_state(h0, B)
        hs[:, 0], cs[0] = h_start.T, c_start.T
        gates = np.empty((T, 4 * H, B), dtype)  # i, f, o, g of every step
        tanh_c = np.empty((T, H, B), dtype)
        if mask is not None and np.count_nonzero(mask) == mask.size:
            mask = None  # no [PAD] in this batch
        pad = None if mask is None else ~mask  # (T, B)
        partial = None if mask is None else pad.any(axis=1)  # (T,) steps with [PAD] rows
        i_g, pre = np.empty((H, B), dtype), np.empty((4 * H, B), dtype)
        dot, tanh, multiply = np.dot, np.tanh, np.multiply
        for t in range(T):
            a = gates[t]
            dot(S, xh[:, t], out=pre)  # all four gates, input, bias and h in one matmul
            tanh(pre, out=a)  # (the matmul writes to a buffer in cache: ~3 % faster)
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
        self.pad, self.xh, self.c_columns, self.tanh_c_columns = pad, xh, cs, tanh_c
        self._gate_values, self._gate_columns = None, gates
        self.cs, self.tanh_c = cs.transpose(0, 2, 1), tanh_c.transpose(0, 2, 1)
        self.hs = hs.transpose(1, 2, 0)  # (T+1, B, H)
        return self.hs

    def final_state(self) -> np.ndarray:
        return np.concatenate([self.hs[-1], self.cs[-1]], axis=1)  # (B, 2H)

    def _step_coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """per_dh (T, 2, H, B) [da_o, dc_t] per unit of dh_t, and per_dc (T, 4, H, B)
        [da_i, da_f, da_g, dc_{t-1}] per unit of dc_t (the textbook's local derivatives)."""
        cs, tc, gates, pad = self.c_columns, self.tanh_c_columns, self._gate_columns, self.pad
        T, H, B = tc.shape
        i, f, o, g = (gates[:, k * H : (k + 1) * H] for k in range(4))  # (T, H, B) each
        per_dh = np.empty((T, 2, H, B), tc.dtype)
        per_dc = np.empty((T, 4, H, B), tc.dtype)
        slope = np.subtract(1.0, gates[:, : 3 * H])  # s (1 - s) of i, f, o
        slope *= gates[:, : 3 * H]
        np.multiply(g, slope[:, :H], out=per_dc[:, 0])  # g i (1 - i)
        np.multiply(cs[:-1], slope[:, H : 2 * H], out=per_dc[:, 1])  # c f (1 - f)
        np.multiply(g, g, out=per_dc[:, 2])
        np.subtract(1.0, per_dc[:, 2], out=per_dc[:, 2])
        per_dc[:, 2] *= i  # i (1 - g^2)
        per_dc[:, 3] = f  # dc_{t-1} = dc_t f
        np.multiply(tc, slope[:, 2 * H :], out=per_dh[:, 0])  # tanh(c') o (1 - o)
        np.multiply(tc, tc, out=per_dh[:, 1])
        np.subtract(1.0, per_dh[:, 1], out=per_dh[:, 1])
        per_dh[:, 1] *= o  # dc' += dh' o (1 - tanh^2 c')
        if pad is not None:  # [PAD] columns: i = 0 and f = 1 pass dc on; dh skips the gates
            per_dh *= (~pad)[:, None, None, :]
        return per_dh, per_dc

    def backward(self, dh_seq=None, dh_last=None) -> tuple[np.ndarray, np.ndarray]:
        """dh_seq (T, B, H) and/or dh_last (B, H) -> (dx (T, B, D), d[h0, c0] (B, 2H))."""
        W, W_h, pad, xh = self.params["W"], self.params["W_h"], self.pad, self.xh
        T, H, B = self.tanh_c_columns.shape
        D, dtype = W.shape[0], W.dtype
        per_dh, per_dc = self._step_coefficients()
        partial = None if pad is None else pad.any(axis=1)
        dh_seq = None if dh_seq is None else np.ascontiguousarray(dh_seq.transpose(0, 2, 1))
        # blocks [o, i, f, g, dc_{t-1}, dh_t's part of dc_t] of every step (module docstring)
        grad = np.empty((T + 1, 6, H, B), dtype)
        grad[T, 4] = 0.0  # no dc beyond the last step
        # dxh[t] = [dh_{t-1}; dx_t] = [W_h; W] da_t, one matmul a step; dxh[T, :H] = dh_T
        dxh = np.empty((T + 1, H + D, B), dtype)
        dxh[T, :H] = 0.0 if dh_last is None else dh_last.T
        WW = np.concatenate([W_h, W])  # (H+D, 4H)
        through = np.empty((H + D, 4 * H), dtype)  # [W_h; W], columns [o, i, f, g]
        through[:, :H], through[:, H:] = WW[:, 3 * H :], WW[:, : 3 * H]
        seen = np.zeros((T, H, B), dtype) if self.track_state_grads else None
        seen_c = np.zeros((T, H, B), dtype) if self.track_state_grads else None
        dc = np.empty((H, B), dtype)
        dot, multiply, add = np.dot, np.multiply, np.add
        for t in range(T - 1, -1, -1):
            dh = dxh[t + 1, :H]
            if dh_seq is not None:
                dh += dh_seq[t]
            g_t = grad[t]  # (6, H, B)
            multiply(per_dh[t], dh, out=g_t[0::5])  # da_o, and dh_t's part of dc_t
            add(grad[t + 1, 4], g_t[5], out=dc)  # dc_t
            if seen is not None:
                seen[t], seen_c[t] = dh, dc
            multiply(per_dc[t], dc, out=g_t[1:5])  # da_i, da_f, da_g, dc_{t-1}
            dot(through, g_t[:4].reshape(4 * H, B), out=dxh[t])  # [dh_{t-1}; dx_t]
            if partial is not None and partial[t]:
                dxh[t, :H] += dh * pad[t]  # [PAD] columns carry h
        if seen is not None:
            self._record(seen.transpose(0, 2, 1))
            self.cell_grad_norms = np.sqrt(np.einsum("thb,thb->t", seen_c, seen_c))
        # dL/da as (4H, T*B), rows [o, i, f, g], columns t*B + b: one copy, then products
        da = np.empty((4 * H, T, B), dtype)
        np.copyto(da, grad[:T, :4].reshape(T, 4 * H, B).transpose(1, 0, 2))
        da = da.reshape(4 * H, T * B)
        # [dW_h; dW; db_h]^T = da [h, x, 1] in one product, rows [o, i, f, g]
        all_grads = np.dot(da, xh[:, :T].reshape(H + D + 1, T * B).T)  # (4H, H+D+1)
        for name, columns in (("W_h", all_grads[:, :H]), ("W", all_grads[:, H : H + D])):
            self.grads[name][:, : 3 * H] = columns[H:].T
            self.grads[name][:, 3 * H :] = columns[:H].T
        self.grads["b_h"][: 3 * H] = all_grads[H:, H + D]
        self.grads["b_h"][3 * H :] = all_grads[:H, H + D]
        d_state = np.concatenate([dxh[0, :H].T, grad[0, 4].T], axis=1)  # (B, 2H)
        dx = np.ascontiguousarray(dxh[:T, H:].transpose(0, 2, 1))  # (T, B, D)
        return dx, d_state
