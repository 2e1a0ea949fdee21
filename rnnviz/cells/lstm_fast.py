"""The LSTM's fast path: the same maths as rnnviz.cells.lstm.LSTM, tuned for one sequence.

At the interactive size (B = 1, H = 32) NumPy's per-call cost, not arithmetic, sets the
time, so the one-row path (tests/test_cells.py checks it equal to the textbook cell):
- joins the input and bias to the recurrent matmul, a = [x_t, h_{t-1}, 1] @ [W; W_h; b_h]
  (the sigmoid's halving folded into a copy), and writes h_t into the next row directly;
- lays each step's row out as [c_{t-1}, i, f, g, o], so that f * c and i * g are one
  multiply of [f, g] by [c_{t-1}, i] and c_t the sum of its halves: 8 calls a step;
- makes its arrays and per-step views once per length T and keeps them (OneRowBuffers'
  reference-count check) while nobody else holds them;
- in backward, takes every step's local derivatives at once and chains them in 6 calls
  a step; the weight gradients are one matmul [x, h, 1]^T dL/da.
Batches (B > 1) and [PAD] steps after a real one take the textbook path.
"""

from __future__ import annotations

import sys

import numpy as np

from rnnviz.cells.lstm import LSTM
from rnnviz.params import ParamDict


class OneRowLSTMBuffers:
    """The one-row path's arrays and their per-step views, made once per length T."""

    def __init__(self, steps: int, embed_dim: int, hidden_size: int, dtype) -> None:
        T, D, H = steps, embed_dim, hidden_size
        self.rows = rows = np.empty((T + 1, D + H + 1), dtype)  # row t: [x_t, h_{t-1}, 1]
        rows[:, D + H] = 1.0
        self.act = act = np.empty((T + 1, 5 * H), dtype)  # row t: [c_{t-1}, i, f, g, o]
        self.tanh_c = tanh_c = np.empty((T, H), dtype)  # tanh c_t
        self.stacked = np.empty((D + H + 1, 4 * H), dtype)  # [W; W_h; b_h], i, f, o halved
        product = np.empty(2 * H, dtype)  # [f * c_{t-1}, i * g]
        self.forward_steps = [
            (rows[t], act[t, H:], act[t, 2 * H : 4 * H], act[t, : 2 * H], product,
             act[t + 1, :H], tanh_c[t], act[t, 4 * H :], rows[t + 1, D : D + H])
            for t in range(T)
        ]  # fmt: skip
        self.dc_per_dh = np.empty((T, H), dtype)  # o (1 - tanh^2 c_t)
        self.local = np.empty((T, 4, H), dtype)  # da per unit of dc (i, f, g), of dh (o)
        self.da = np.empty((T, 4 * H), dtype)  # dL/da_t, a the pre-activations
        da = self.da.reshape(T, 4, H)
        f = act[:T, 2 * H : 3 * H]
        self.backward_steps = [
            (self.dc_per_dh[t], self.local[t, :3], self.local[t, 3], da[t, :3], da[t, 3],
             f[t], self.da[t])
            for t in reversed(range(T))
        ]  # fmt: skip
        del rows, act, f, tanh_c  # (the counts below must see only the kept views)
        self._refs = sys.getrefcount(self.rows), sys.getrefcount(self.act)

    def fits(self, steps: int, width: int, dtype) -> bool:
        return self.rows.shape == (steps + 1, width) and self.rows.dtype == dtype

    def in_use(self) -> bool:
        """Whether anything beyond these buffers' own views refers to them."""
        return (sys.getrefcount(self.rows), sys.getrefcount(self.act)) != self._refs


class FastLSTM(LSTM):
    """The LSTM with the one-row path; batches run the textbook LSTM's forward/backward."""

    def __init__(self, params: dict, grads: dict) -> None:
        super().__init__(params, grads)
        stacked = ("W", "W_h", "b_h")
        self._stacked = params.block(stacked) if isinstance(params, ParamDict) else None
        self._stacked_grad = grads.block(stacked) if isinstance(grads, ParamDict) else None
        self._one_row: OneRowLSTMBuffers | None = None
        self._rows = None  # set while the last forward took the one-row path

    def forward(self, x, mask=None, h0=None, tokens=None) -> np.ndarray:
        T, B = x.shape[:2]
        start = 0
        if mask is not None and B == 1:
            real = mask[:, 0]
            start = int(real.argmax()) if real.any() else T
            if not real[start:].all():
                start = -1  # a [PAD] after a real token: the textbook path
        self._rows = self.hs = self.cs = self.gate_values = None  # let go of kept buffers
        if B != 1 or start < 0:
            return super().forward(x, mask, h0)
        return self._forward_one_row(x, h0, start)

    def _forward_one_row(self, x, h0, start: int) -> np.ndarray:
        W, W_h, b_h = self.params["W"], self.params["W_h"], self.params["b_h"]
        T, _, D = x.shape
        H = self.hidden_size
        buffers = self._one_row
        if buffers is None or not buffers.fits(T, D + H + 1, W.dtype) or buffers.in_use():
            self._one_row = None
            self._one_row = buffers = OneRowLSTMBuffers(T, D, H, W.dtype)
        rows, act = buffers.rows, buffers.act
        rows[:T, :D] = x[:, 0]
        h_start, c_start = self.start_state(h0, 1)
        rows[: start + 1, D : D + H] = h_start
        act[: start + 1, :H] = c_start
        # s(a) = (1 + tanh(a / 2)) / 2: i, f, o's columns halved, g's kept
        scale = np.full(4 * H, 0.5, W.dtype)
        scale[2 * H : 3 * H] = 1.0
        shift = 1.0 - scale
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
            np.tanh(c_start, out=buffers.tanh_c[:start])
        dot, tanh, multiply, add, weights = np.dot, np.tanh, np.multiply, np.add, buffers.stacked
        for row, a, fg, ci, prod, c, tc, o, h in buffers.forward_steps[start:]:
            dot(row, weights, a)  # all four gates, input and bias included
            tanh(a, a)
            multiply(a, scale, a)
            add(a, shift, a)  # [i, f, g, o]
            multiply(fg, ci, prod)  # [f * c_{t-1}, g * i]
            add(prod[:H], prod[H:], c)  # c_t = f * c_{t-1} + i * g
            tanh(c, tc)
            multiply(o, tc, h)  # h_t = o * tanh(c_t)
        self._rows, self._start, self.x, self.pad = rows, start, x, None
        self.hs = rows[:, None, D : D + H]  # (T+1, 1, H) views of the kept buffers
        self.cs = act[:, None, :H]  # (T+1, 1, H)
        self.gate_values = act[:T, None, H:]  # (T, 1, 4H)
        self.tanh_c = buffers.tanh_c[:, None]  # (T, 1, H)
        return self.hs

    def backward(self, dh_seq=None, dh_last=None) -> tuple[np.ndarray, np.ndarray]:
        if self._rows is None:
            return super().backward(dh_seq, dh_last)
        W, W_h = self.params["W"], self.params["W_h"]
        buffers, start = self._one_row, self._start
        T, H = buffers.tanh_c.shape
        act, tc = buffers.act[:T], buffers.tanh_c
        c_prev, i, f, g, o = (act[:, k * H : (k + 1) * H] for k in range(5))  # (T, H) each
        # Every step's local derivatives at once, as the textbook backward
        k = buffers.dc_per_dh
        np.multiply(tc, tc, out=k)
        np.subtract(1.0, k, out=k)
        k *= o  # dc_t += dh_t o (1 - tanh^2 c_t)
        local = buffers.local
        np.multiply(g * i, 1.0 - i, out=local[:, 0])
        np.multiply(c_prev * f, 1.0 - f, out=local[:, 1])
        np.multiply(i, 1.0 - g * g, out=local[:, 2])
        np.multiply(tc * o, 1.0 - o, out=local[:, 3])
        dh = np.zeros(H, W.dtype) if dh_last is None else dh_last.astype(W.dtype).reshape(H)
        dc = np.zeros(H, W.dtype)
        product = np.empty(H, W.dtype)
        da_all = buffers.da
        W_h_T = W_h.T
        seen = np.zeros((T, 1, H), W.dtype) if self.track_state_grads else None
        seen_c = np.zeros((T, 1, H), W.dtype) if self.track_state_grads else None
        steps = buffers.backward_steps[: T - start]
        dot, multiply, add = np.dot, np.multiply, np.add
        if dh_seq is None and seen is None:
            for k_t, local_ifg, local_o, da_ifg, da_o, f_t, da in steps:
                add(dc, multiply(dh, k_t, product), dc)  # dc += dh o (1 - tanh^2 c)
                multiply(dc, local_ifg, da_ifg)
                multiply(dh, local_o, da_o)
                multiply(dc, f_t, dc)  # through c_t = f * c_{t-1} + ...
                dot(da, W_h_T, dh)  # through the gates
        else:
            for t, (k_t, local_ifg, local_o, da_ifg, da_o, f_t, da) in zip(
                range(T - 1, start - 1, -1), steps, strict=True
            ):
                if dh_seq is not None:
                    dh += dh_seq[t, 0]
                dc += dh * k_t
                if seen is not None:
                    seen[t, 0], seen_c[t, 0] = dh, dc
                multiply(dc, local_ifg, da_ifg)
                multiply(dh, local_o, da_o)
                dc *= f_t
                dh = dot(da, W_h_T)
        if start:  # leading [PAD] steps carry h and c: their gradients pass straight on
            da_all[:start] = 0.0
            passed = np.broadcast_to(dh, (start, H))
            if dh_seq is not None:
                passed = dh + dh_seq[:start, 0][::-1].cumsum(axis=0)[::-1]  # (start, H)
                dh = passed[0].copy()
            if seen is not None:
                seen[:start, 0], seen_c[:start, 0] = passed, dc
        rows = self._rows
        if self._stacked_grad is not None:  # [dW; dW_h; db_h] in one matmul
            np.dot(rows[:T].T, da_all, out=self._stacked_grad)
        else:
            D = W.shape[0]
            np.dot(rows[:T, :D].T, da_all, out=self.grads["W"])
            np.dot(rows[:T, D : D + H].T, da_all, out=self.grads["W_h"])
            np.add.reduce(da_all, axis=0, out=self.grads["b_h"])
        self._record(seen)
        if seen_c is not None:
            self.cell_grad_norms = np.sqrt(np.einsum("tbh,tbh->t", seen_c, seen_c))
        dx = np.dot(da_all, W.T)[:, None]  # (T, 1, D)
        return dx, np.concatenate([dh, dc])[None]  # (1, 2H)
