"""The LSTM's fast paths: the same maths as rnnviz.cells.lstm.LSTM, tuned for speed.

Batches (B > 1, or [PAD] after a real token) take rnnviz.cells.lstm_batch's path.

One sequence: at the interactive size (B = 1, H = 32) NumPy's per-call cost, not
arithmetic, sets the time, so the one-row path (tests/test_cells.py checks it equal to
the textbook cell):
- joins the input and bias to the recurrent matmul, a = [x_t, h_{t-1}, 1] @ [W; W_h; b_h]
  (the sigmoid's halving folded into a copy), and writes h_t into the next row directly;
- lays each step's row out as [c_{t-1}, i, f, g, o], so that f * c and i * g are one
  multiply of [f, g] by [c_{t-1}, i] and c_t the sum of its halves: 8 calls a step;
- makes its arrays and per-step views once per length T and keeps them (OneRowBuffers'
  reference-count check) while nobody else holds them;
- in backward, writes every step's local derivatives at once into per-step linear maps,
  [dc_{t-1}, da_t] = [dh_t, dc_t] @ maps[t], so that a step is two matmuls (through the
  map, then through W_h); the weight gradients are one matmul [x, h, 1]^T dL/da.
"""

from __future__ import annotations

import sys

import numpy as np

from rnnviz.cells.lstm import LSTM
from rnnviz.cells.lstm_batch import BatchLSTM
from rnnviz.params import ParamDict

MAX_MAP_SIZE = 1 << 21  # numbers in the backward's step maps (8 MB in float32)


class OneRowLSTMBuffers:
    """The one-row path's arrays and their per-step views, made once per length T."""

    def __init__(self, steps: int, embed_dim: int, hidden_size: int, dtype) -> None:
        T, D, H = steps, embed_dim, hidden_size
        self.rows = rows = np.empty((T + 1, D + H + 1), dtype)  # row t: [x_t, h_{t-1}, 1]
        rows[:, D + H] = 1.0
        self.act = act = np.empty((T + 1, 5 * H), dtype)  # row t: [c_{t-1}, i, f, g, o]
        self.tanh_c = tanh_c = np.empty((T, H), dtype)  # tanh c_t
        self.stacked = np.empty((D + H + 1, 4 * H), dtype)  # [W; W_h; b_h], i, f, o halved
        # s(a) = (1 + tanh(a / 2)) / 2: i, f, o's columns halved in `stacked`, g's kept
        self.scale = np.full(4 * H, 0.5, dtype)
        self.scale[2 * H : 3 * H] = 1.0
        self.shift = 1.0 - self.scale
        product = np.empty(2 * H, dtype)  # [f * c_{t-1}, i * g]
        self.forward_steps = [
            (rows[t], act[t, H:], act[t, 2 * H : 4 * H], act[t, : 2 * H], product, product[:H],
             product[H:], act[t + 1, :H], tanh_c[t], act[t, 4 * H :], rows[t + 1, D : D + H])
            for t in range(T)
        ]  # fmt: skip
        # Backward: one step is linear in s_t = [dh_t, dc_t] (dc_t what c_t passes back):
        # [dc_{t-1}, da_t] = s_t @ maps[t], a (2H, 5H) matrix of diagonal blocks; then
        # dh_{t-1} = da_t W_h^T. grad row t: [dh_{t-1}, dc_{t-1}, da_t] (dh_{t-1} at hs[t]).
        # The maps take 10 T H^2 numbers: past MAX_MAP_SIZE, the textbook backward.
        self.maps = self.diagonals = self.backward_steps = None
        self.grad = grad = np.zeros((T + 1, 6 * H), dtype)
        if 10 * T * H * H <= MAX_MAP_SIZE:
            self.maps = np.zeros((T, 2 * H, 5 * H), dtype)
            self.slope, self.scratch = np.empty((T, 4 * H), dtype), np.empty((T, H), dtype)
            self.dc_per_dh = np.empty((T, H), dtype)
            self.values = np.zeros((T, 2, 5, H), dtype)  # the diagonals, contiguous
            item = self.maps.itemsize
            self.diagonals = np.lib.stride_tricks.as_strided(  # (T, 2, 5, H): the diagonals
                self.maps, (T, 2, 5, H),
                (10 * H * H * item, 5 * H * H * item, H * item, (5 * H + 1) * item),
            )  # fmt: skip
            self.backward_steps = [
                (grad[t + 1, : 2 * H], self.maps[t], grad[t, H:], grad[t, 2 * H :], grad[t, :H])
                for t in reversed(range(T))
            ]
        del rows, act, tanh_c, grad  # (the counts below must see only the kept views)
        self._refs = sys.getrefcount(self.rows), sys.getrefcount(self.act)

    def fits(self, steps: int, embed_dim: int, hidden_size: int, dtype) -> bool:
        T, D, H = steps, embed_dim, hidden_size
        shapes = (self.rows.shape, self.act.shape)
        return shapes == ((T + 1, D + H + 1), (T + 1, 5 * H)) and self.rows.dtype == dtype

    def in_use(self) -> bool:
        """Whether anything beyond these buffers' own views refers to them."""
        return (sys.getrefcount(self.rows), sys.getrefcount(self.act)) != self._refs


class FastLSTM(BatchLSTM):
    """The LSTM with the batch path (rnnviz.cells.lstm_batch) and the one-row path."""

    def __init__(self, params: dict, grads: dict) -> None:
        super().__init__(params, grads)
        stacked = ("W", "W_h", "b_h")
        self._stacked = params.block(stacked) if isinstance(params, ParamDict) else None
        self._stacked_grad = grads.block(stacked) if isinstance(grads, ParamDict) else None
        self._one_row: OneRowLSTMBuffers | None = None
        self._rows = None  # set while the last forward took the one-row path

    def forward(self, x, mask=None, h0=None, tokens=None) -> np.ndarray:
        """x (T, B, D), mask (T, B) bool (True = real token), h0 (B, 2H) -> states hs
        (T+1, B, H); c_t in `cs`, the gates in `gate_values`."""
        T, B = x.shape[:2]
        start = 0
        if mask is not None and B == 1 and not mask.all():
            real = mask[:, 0]
            start = int(real.argmax()) if real.any() else T
            if not real[start:].all():
                start = -1  # a [PAD] after a real token: the batch path
        self._rows = self.hs = self.cs = self.gate_values = None  # let go of kept buffers
        if B != 1 or start < 0:
            return super().forward(x, mask, h0)  # the batch path
        return self._forward_one_row(x, h0, start, mask)

    def _forward_one_row(self, x, h0, start: int, mask) -> np.ndarray:
        W, W_h, b_h = self.params["W"], self.params["W_h"], self.params["b_h"]
        T, _, D = x.shape
        H = self.hidden_size
        buffers = self._one_row
        if buffers is None or not buffers.fits(T, D, H, W.dtype) or buffers.in_use():
            self._one_row = None
            self._one_row = buffers = OneRowLSTMBuffers(T, D, H, W.dtype)
        rows, act = buffers.rows, buffers.act
        rows[:T, :D] = x[:, 0]
        if h0 is None:
            rows[: start + 1, D : D + H] = act[: start + 1, :H] = 0.0
        else:
            h_start, c_start = self.start_state(h0, 1)
            rows[: start + 1, D : D + H] = h_start
            act[: start + 1, :H] = c_start
        scale, shift = buffers.scale, buffers.shift
        stacked = self._stacked
        if stacked is None:
            stacked = np.concatenate([W, W_h, b_h[None]])
        np.multiply(stacked, scale, out=buffers.stacked)
        if start:  # leading [PAD] steps: their gates as the textbook's, i = 0, f = 1
            gates = act[:start, H:]
            gates[...] = np.dot(rows[:start], buffers.stacked)
            np.tanh(gates, out=gates)
            gates *= scale
            gates += shift
            gates[:, :H], gates[:, H : 2 * H] = 0.0, 1.0
            np.tanh(act[:start, :H], out=buffers.tanh_c[:start])  # of c_0
        dot, tanh, multiply, add, weights = np.dot, np.tanh, np.multiply, np.add, buffers.stacked
        for row, a, fg, ci, prod, f_c, i_g, c, tc, o, h in buffers.forward_steps[start:]:
            dot(row, weights, a)  # all four gates, input and bias included
            tanh(a, a)
            multiply(a, scale, a)
            add(a, shift, a)  # [i, f, g, o]
            multiply(fg, ci, prod)  # [f * c_{t-1}, g * i]
            add(f_c, i_g, c)  # c_t = f * c_{t-1} + i * g
            tanh(c, tc)
            multiply(o, tc, h)  # h_t = o * tanh(c_t)
        self._rows, self._start, self.x = rows, start, x
        self.pad = ~mask if start else None  # (T, 1), for the textbook backward
        self.hs = rows[:, None, D : D + H]  # (T+1, 1, H) views of the kept buffers
        self.cs = act[:, None, :H]  # (T+1, 1, H)
        self.gate_values = act[:T, None, H:]  # (T, 1, 4H)
        self.tanh_c = buffers.tanh_c[:, None]  # (T, 1, H)
        return self.hs

    def backward(self, dh_seq=None, dh_last=None) -> tuple[np.ndarray, np.ndarray]:
        """dh_seq (T, B, H) and/or dh_last (B, H) -> (dx (T, B, D), d[h0, c0] (B, 2H))."""
        if self._rows is None:
            return super().backward(dh_seq, dh_last)  # the batch path
        if self._one_row.maps is None:
            return LSTM.backward(self, dh_seq, dh_last)  # the textbook's, on the kept buffers
        return self._backward_one_row(dh_seq, dh_last)

    def _backward_one_row(self, dh_seq, dh_last) -> tuple[np.ndarray, np.ndarray]:
        W, W_h = self.params["W"], self.params["W_h"]
        buffers, start = self._one_row, self._start
        T, H = buffers.tanh_c.shape
        act, tc = buffers.act[:T], buffers.tanh_c
        c_prev, i, f = act[:, :H], act[:, H : 2 * H], act[:, 2 * H : 3 * H]  # (T, H) each
        g, o = act[:, 3 * H : 4 * H], act[:, 4 * H :]
        # Every step's map at once, from the textbook backward's local derivatives
        slope, scratch = buffers.slope, buffers.scratch  # (T, 4H), (T, H)
        np.subtract(1.0, act[:, H:], out=slope)
        slope *= act[:, H:]  # s (1 - s) of i, f, (g), o
        k = buffers.dc_per_dh  # (T, H): dc_t += dh_t o (1 - tanh^2 c_t)
        np.multiply(tc, tc, out=k)
        np.subtract(1.0, k, out=k)
        k *= o
        # the maps' diagonals, [dc_{t-1}, da_i, da_f, da_g, da_o] per dh_t (per_dh) and per
        # dc_t (per_dc), made contiguous and then written to the maps in one go
        values = buffers.values  # (T, 2, 5, H)
        per_dh, per_dc = values[:, 0], values[:, 1]
        per_dc[:, 0] = f  # through c_t = f * c_{t-1} + ...
        np.multiply(g, slope[:, :H], out=per_dc[:, 1])
        np.multiply(c_prev, slope[:, H : 2 * H], out=per_dc[:, 2])
        np.multiply(g, g, out=scratch)
        np.subtract(1.0, scratch, out=scratch)
        np.multiply(i, scratch, out=per_dc[:, 3])  # (per_dc[:, 4], da_o, stays 0)
        np.multiply(per_dc[:, :4], k[:, None], out=per_dh[:, :4])  # through dc_t
        np.multiply(tc, slope[:, 3 * H :], out=per_dh[:, 4])  # and o
        buffers.diagonals[...] = values
        grad = buffers.grad
        grad[T, :H] = 0.0 if dh_last is None else dh_last[0]
        grad[T, H : 2 * H] = 0.0
        W_h_T = W_h.T
        steps = buffers.backward_steps[: T - start]
        dot = np.dot
        if dh_seq is None:
            for state, step_map, dc_da, da, dh in steps:  # two calls a step
                dot(state, step_map, dc_da)
                dot(da, W_h_T, dh)
        else:
            for t, (state, step_map, dc_da, da, dh) in zip(
                range(T - 1, start - 1, -1), steps, strict=True
            ):
                state[:H] += dh_seq[t, 0]
                dot(state, step_map, dc_da)
                dot(da, W_h_T, dh)
        dh, dc = grad[start, :H].copy(), grad[start, H : 2 * H]  # at hs[start], cs[start]
        da_all = grad[:T, 2 * H :]  # (T, 4H)
        if start:  # leading [PAD] steps carry h and c: their gradients pass straight on
            da_all[:start] = 0.0
            if dh_seq is not None:
                dh += dh_seq[:start, 0].sum(axis=0)
        if self.track_state_grads:
            seen = grad[1:, :H].copy()  # (T, H): dL/dh_t, at hs[t + 1]
            seen_c = grad[1:, H : 2 * H] + k * seen  # dL/dc_t, c_t's use in h_t included
            if start:
                passed = grad[start, :H]
                if dh_seq is not None:
                    passed = passed + dh_seq[:start, 0][::-1].cumsum(axis=0)[::-1]
                seen[:start], seen_c[:start] = passed, dc
            self._record(seen[:, None])
            self.cell_grad_norms = np.sqrt(np.einsum("th,th->t", seen_c, seen_c))
        rows = self._rows
        if self._stacked_grad is not None:  # [dW; dW_h; db_h] in one matmul
            np.dot(rows[:T].T, da_all, out=self._stacked_grad)
        else:
            D = W.shape[0]
            np.dot(rows[:T, :D].T, da_all, out=self.grads["W"])
            np.dot(rows[:T, D : D + H].T, da_all, out=self.grads["W_h"])
            np.add.reduce(da_all, axis=0, out=self.grads["b_h"])
        dx = np.dot(da_all, W.T)[:, None]  # (T, 1, D)
        return dx, np.concatenate([dh, dc])[None]  # (1, 2H)
