"""The tanh RNN's fast path: the same maths as rnnviz.cells.rnn.TanhRNN, tuned for speed.

What it adds to the textbook cell (tests/test_cells.py checks it equal):
- the one-row path (B = 1, the interactive size): input and bias join the recurrent
  matmul, h_t = tanh([x_t, h_{t-1}, 1] @ [W; W_h; b_h]), in buffers kept between calls;
- the input as the batch's distinct tokens (rnnviz.layers.Embedding.distinct): x W + b_h
  a lookup in a (U, H) table, the weight gradients from per-token sums of dL/da;
- leading all-[PAD] steps skipped, the masked `where` only on steps that need it.
"""

from __future__ import annotations

import numpy as np

from rnnviz.cells.base import Cell, OneRowRows
from rnnviz.layers import DistinctTokens, scatter_add_rows
from rnnviz.params import ParamDict


class OneRowBuffers(OneRowRows):
    """The tanh RNN's one-row arrays and per-step views (rnnviz.cells.base.OneRowRows)."""

    def __init__(self, steps: int, embed_dim: int, hidden_size: int, dtype) -> None:
        super().__init__(steps, embed_dim, hidden_size, dtype)
        T, D, H = steps, embed_dim, hidden_size
        self.pre = np.empty(H, dtype)  # one step's pre-activation
        self.slopes = np.empty((T, 1, H), dtype)  # tanh' = 1 - h_t^2
        self.da = np.empty((T, 1, H), dtype)  # dL/da_t
        self.forward_steps = list(zip(self.rows[:T], self.rows[1:, D : D + H], strict=True))
        self.backward_steps = list(zip(self.da[::-1], self.slopes[::-1], strict=True))
        self._seal()


class FastRNN(Cell):
    """Vanilla tanh RNN: h_t = tanh(x_t W + h_{t-1} W_h + b_h), h_0 given (default 0).

    With a padding mask, a step whose token is [PAD] carries the state unchanged:
    h_t = h_{t-1}. Without one, every step is computed, exactly like torch.nn.RNN.
    """

    takes_tokens = True  # forward accepts the input as distinct tokens

    def __init__(self, params: dict, grads: dict) -> None:
        super().__init__(params, grads)
        # [W; W_h; b_h] as one (D+H+1, H) matrix, when they lie back to back in a
        # ParamDict (the models' layout): the one-row path multiplies by it directly.
        stacked = ("W", "W_h", "b_h")
        self._stacked = params.block(stacked) if isinstance(params, ParamDict) else None
        self._stacked_grad = grads.block(stacked) if isinstance(grads, ParamDict) else None
        self._rows = None  # the one-row path's [x_t, h_{t-1}, 1] rows, for backward
        self._one_row: OneRowBuffers | None = None

    def forward(
        self,
        x: np.ndarray | None,
        mask: np.ndarray | None = None,
        h0: np.ndarray | None = None,
        tokens: DistinctTokens | None = None,
    ) -> np.ndarray:
        """x (T, B, D), mask (T, B) bool (True = real token) -> states hs (T+1, B, H).

        hs[0] is h0 and hs[t+1] the state after step t. Instead of x, `tokens` (from
        Embedding.distinct; B > 1) may give the input as distinct tokens.
        """
        T, B = tokens.index.shape if tokens is not None else x.shape[:2]
        start, partial = 0, None
        if mask is not None and np.count_nonzero(mask) == mask.size:
            mask = None  # no [PAD] in this batch: the plain loop is exact and faster
        if mask is not None:
            # Leading steps where every row is [PAD] leave the state at h0: skip them.
            real_any = mask.any(axis=1)
            start = int(real_any.argmax()) if real_any.any() else T
            partial = ~mask.all(axis=1)  # (T,) steps where some rows are [PAD]
            if not partial[start:].any():
                partial = None  # pre-padded batch of equal lengths: no row waits later
        self._rows = self.hs = None  # (let go of the last call's one-row buffers)
        if B == 1 and partial is None and tokens is None:
            hs = self._forward_one_row(x, h0, start)
        else:
            hs = self._forward_batch(x, tokens, (T, B), mask, h0, start, partial)
        self.x, self.tokens = x, tokens
        self.mask, self.hs, self.start, self.partial = mask, hs, start, partial
        return hs

    def _forward_batch(self, x, tokens, shape, mask, h0, start, partial) -> np.ndarray:
        W, W_h, b_h = self.params["W"], self.params["W_h"], self.params["b_h"]
        T, B = shape
        hs = np.empty((T + 1, B, W_h.shape[0]), dtype=W.dtype)
        hs[: start + 1] = 0 if h0 is None else h0
        # The input part of every step at once: one (T*B, D) @ (D, H) matmul, or from
        # distinct tokens a lookup in the (U, H) table of their x W + b_h.
        if tokens is None:
            a = np.dot(x[start:].reshape(-1, x.shape[2]), W).reshape(T - start, B, -1)
            a += b_h
        else:
            table = np.dot(tokens.vectors, W)
            table += b_h
            a = table.take(tokens.index[start:], axis=0)  # (T - start, B, H)
        dot, tanh, where = np.dot, np.tanh, np.where
        product = np.empty_like(hs[0])  # reused: a fresh (B, H) result may be an mmap each step
        for t, a_t in enumerate(a, start):
            a_t += dot(hs[t], W_h, out=product)
            if partial is not None and partial[t]:
                hs[t + 1] = where(mask[t][:, None], tanh(a_t), hs[t])
            else:
                tanh(a_t, out=hs[t + 1])
        return hs

    def _forward_one_row(self, x, h0, start) -> np.ndarray:
        """One sequence (B = 1, the interactive case): NumPy's per-call cost, not
        arithmetic, sets the time, so the input and bias join the recurrent matmul:
        h_t = tanh([x_t, h_{t-1}, 1] @ [W; W_h; b_h]), two calls a step instead of three.
        The states are written into those rows directly; hs is a (T+1, 1, H) view."""
        W, W_h, b_h = self.params["W"], self.params["W_h"], self.params["b_h"]
        T, _, D = x.shape
        H = W_h.shape[0]
        buffers = self._one_row
        if buffers is None or not buffers.fits(T, D, H, W.dtype) or buffers.in_use():
            self._one_row = None
            self._one_row = buffers = OneRowBuffers(T, D, H, W.dtype)
        rows = buffers.rows
        rows[:T, :D] = x[:, 0]
        rows[: start + 1, D : D + H] = 0 if h0 is None else h0
        stacked = self._stacked
        if stacked is None:
            stacked = np.concatenate([W, W_h, b_h[None]])
        dot, tanh, pre = np.dot, np.tanh, buffers.pre
        for row, h_t in buffers.forward_steps[start:]:
            tanh(dot(row, stacked, pre), h_t)  # out= given by position: ~0.03 us less a call
        self._rows = rows
        return rows[:, None, D : D + H]

    def backward(
        self, dh_seq: np.ndarray | None = None, dh_last: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Backpropagation through time.

        dh_seq (T, B, H): loss gradient on every state h_1..h_T (language model), and/or
        dh_last (B, H): on the last state only (classifier). Fills grads W, W_h, b_h and
        returns (dx (T, B, D), dh0 (B, H)); after a forward on distinct tokens, their
        dL/dvector (U, D) in place of dx.
        """
        W, W_h = self.params["W"], self.params["W_h"]
        x, mask, hs, start, partial = self.x, self.mask, self.hs, self.start, self.partial
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        dh = np.zeros((B, H), W.dtype) if dh_last is None else dh_last.astype(W.dtype, copy=True)
        if self._rows is not None:  # one-row path: its kept buffers and step views
            buffers = self._one_row
            da_all, one_minus_h2 = buffers.da, buffers.slopes[start:]
            np.square(hs[start + 1 :], out=one_minus_h2)
            lean_steps = buffers.backward_steps[: T - start]
        else:
            da_all = np.empty((T, B, H), dtype=W.dtype)
            one_minus_h2 = np.square(hs[start + 1 :])
            lean_steps = zip(da_all[start:][::-1], one_minus_h2[::-1], strict=True)
        if start:
            da_all[:start] = 0  # skipped all-[PAD] steps; the loop writes every later one
        np.subtract(1.0, one_minus_h2, out=one_minus_h2)  # tanh' = 1 - h^2, all steps at once
        # BLAS is ~10% faster on a contiguous W_h^T than on the view (not worth a copy
        # for one row)
        W_h_T = np.ascontiguousarray(W_h.T) if B > 1 else W_h.T
        seen = np.zeros((T, B, H), dtype=W.dtype) if self.track_state_grads else None
        dot, multiply = np.dot, np.multiply
        if partial is None and seen is None and dh_seq is None:
            # The common case as lean as it gets: two NumPy calls a step, views pre-made.
            for da, g in lean_steps:
                multiply(dh, g, da)  # out by position, as in _forward_one_row
                dot(da, W_h_T, dh)
        else:
            for t in range(T - 1, start - 1, -1):
                if dh_seq is not None:
                    dh += dh_seq[t]
                if seen is not None:
                    seen[t] = dh  # dL/dh_t: from the output at t and from every later step
                da = da_all[t]
                multiply(dh, one_minus_h2[t - start], out=da)
                if partial is not None and partial[t]:
                    keep = ~mask[t][:, None]  # [PAD] rows pass their gradient straight on
                    da[keep[:, 0]] = 0
                    dh = dot(da, W_h_T) + dh * keep
                else:
                    dot(da, W_h_T, out=dh)
        # All-[PAD] leading steps carry h0 unchanged: each passes the gradient on, plus
        # what its own output sends (a language model's).
        if start and dh_seq is not None:
            passed = dh + dh_seq[:start][::-1].cumsum(axis=0)[::-1]  # (start, B, H)
            dh = passed[0]
        else:
            passed = dh
        if seen is not None:
            seen[:start] = passed
            self._record(seen)
        # Weight gradients of all steps at once: one matmul each.
        da_flat = da_all[start:].reshape(-1, H)
        if self._rows is not None and self._stacked_grad is not None:
            # [dW; dW_h; db_h] = [x_t, h_{t-1}, 1]^T da in one matmul (one-row path)
            np.dot(self._rows[start:T].T, da_flat, out=self._stacked_grad)
        else:
            np.dot(hs[start:T].reshape(-1, H).T, da_flat, out=self.grads["W_h"])
            if self.tokens is not None:
                # Sum dL/da per distinct token first: then dW, db_h and the tokens'
                # vector gradients are (U, .) products instead of (T*B, .) ones.
                tokens = self.tokens
                per_token = np.zeros((len(tokens.ids), H), dtype=W.dtype)
                scatter_add_rows(per_token, tokens.index[start:].reshape(-1), da_flat)
                np.dot(tokens.vectors.T, per_token, out=self.grads["W"])
                np.add.reduce(per_token, axis=0, out=self.grads["b_h"])
                return np.dot(per_token, W.T), dh
            np.dot(x[start:].reshape(-1, x.shape[2]).T, da_flat, out=self.grads["W"])
            np.add.reduce(da_flat, axis=0, out=self.grads["b_h"])  # np.sum: +1 us of wrapping
        dx = np.dot(da_all.reshape(T * B, H), W.T).reshape(T, B, -1)
        return dx, dh
