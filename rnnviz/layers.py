"""Embedding, RNN and Dense layers: each forward caches what its backward needs.

Inside the layers sequences are time-major, `(T, B, ...)`: the recurrence walks over
time, so each step's slice `x[t]` is then one contiguous block. The models convert
from and to the batch-major `(B, T, ...)` the rest of the code uses.

Every layer reads its weights from, and writes its gradients into, the model's
`params` / `grads` dicts (entries of one flat buffer each), so nothing is copied.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from rnnviz.params import ParamDict
from rnnviz.tokenizer import PAD_ID

# Up to this many (vocabulary x positions) elements the embedding gradient is a one-hot
# product (Embedding.backward).
ONE_HOT_LIMIT = 4096

# What scattering one float into a gradient costs (flat np.add.at, its index included)
# in multiply-adds of a large float32 matmul: measured ~2 ns against ~0.02 ns.
SCATTER_COST = 100.0


def distinct_pays(positions: int, distinct: int, embed_dim: int, hidden_size: int) -> bool:
    """Whether an RNN input of `positions` tokens, `distinct` of them different, is
    cheaper as distinct tokens (see Embedding.distinct): it saves 3*D*H*(positions -
    distinct) matmul multiply-adds and scatters positions*H floats instead of
    positions*D."""
    saved = 3 * embed_dim * hidden_size * (positions - distinct)
    return saved > SCATTER_COST * positions * max(hidden_size - embed_dim, 0)  # also: saved > 0


def scatter_add_rows(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """target[rows[i]] += values[i] for every i, repeated rows summed: (N, K), (M,), (M, K).

    Row-wise add.at is slow; on the flat (N*K,) view with one index per element NumPy
    takes its fast 1-D path (about 3x faster at M = 2048, 1.5x at 20).
    """
    width = target.shape[1]
    flat_index = (rows * width)[:, None] + np.arange(width)
    np.add.at(target.reshape(-1), flat_index.reshape(-1), values.reshape(-1))


@dataclass(frozen=True)
class DistinctTokens:
    """A batch of ids as its distinct tokens: the batch is ids[index]."""

    ids: np.ndarray  # (U,) the distinct token ids, ascending
    index: np.ndarray  # (T, B) each position's row in `ids`
    vectors: np.ndarray  # (U, D) their embedding vectors


class Embedding:
    """ids -> vectors. Row [PAD] is zero and receives no gradient.

    `forward` gives the vectors of every position, (T, B, D). `distinct` gives only the
    batch's distinct tokens (DistinctTokens) when the RNN working on those instead pays:
    its input projection x_t W + b_h becomes a lookup in a (U, H) table, and the
    gradients of W and of the vectors come from the per-token sums of dL/da (U, H),
    three (U, D, H) matmuls instead of three (T*B, D, H) ones. `backward` takes what the
    RNN returns for whichever was used last.
    """

    def __init__(self, params: dict, grads: dict, name: str = "embedding") -> None:
        self.weight = params[name]  # (V, D)
        self.grad = grads[name]  # (V, D)
        self.tokens: DistinctTokens | None = None

    def forward(self, ids: np.ndarray) -> np.ndarray:
        self.ids, self.tokens = ids, None  # (T, B)
        return self.weight.take(ids, axis=0)  # (T, B, D)

    def distinct(self, ids: np.ndarray, hidden_size: int) -> DistinctTokens | None:
        """ids (T, B) as their distinct tokens, or None when the per-position path is the
        cheaper one (few repeats: `distinct_pays`; or one row: the RNN's one-row path
        works on vectors)."""
        self.tokens = None
        V, D = self.weight.shape
        if ids.shape[1] < 2:
            return None
        present = np.zeros(V, dtype=bool)
        present[ids] = True  # raises IndexError on ids >= V, as take does
        unique = np.flatnonzero(present)
        if not distinct_pays(ids.size, len(unique), D, hidden_size):
            return None
        position = np.empty(V, dtype=np.intp)
        position[unique] = np.arange(len(unique))
        self.tokens = DistinctTokens(unique, position.take(ids), self.weight.take(unique, axis=0))
        self.ids = ids
        return self.tokens

    def backward(self, d_input: np.ndarray) -> None:
        """Fill the gradient from dL/dx (T, B, D) after `forward`, or from the distinct
        tokens' dL/dvector (U, D) after `distinct`."""
        grad = self.grad
        V, D = grad.shape
        if self.tokens is not None:
            grad.fill(0)
            grad[self.tokens.ids] = d_input
        elif V * self.ids.size <= ONE_HOT_LIMIT:
            # A few tokens, a small vocabulary (one sentence, say): a one-hot product is
            # fewer NumPy calls than the scatter, and it overwrites instead of adding.
            ids = self.ids.reshape(-1)
            one_hot = np.zeros((V, ids.size), dtype=grad.dtype)
            one_hot[ids, np.arange(ids.size)] = 1.0
            np.dot(one_hot, d_input.reshape(ids.size, D), out=grad)
        else:
            grad.fill(0)
            scatter_add_rows(grad, self.ids.reshape(-1), d_input.reshape(-1, D))
        grad[PAD_ID] = 0


class OneRowBuffers:
    """The one-row path's arrays and their per-step views, made once per length T.

    At the interactive size a step costs a few NumPy calls of ~0.5 us, and making the
    views a Python loop walks (two a step each way) costs about as much again as one of
    them; so they are made once and kept. The layer reuses them while nothing outside it
    holds the arrays or a view of them (the states it returned, say): `in_use` compares
    the reference count with the one taken when they were new.
    """

    def __init__(self, steps: int, embed_dim: int, hidden_size: int, dtype) -> None:
        T, D, H = steps, embed_dim, hidden_size
        self.rows = np.empty((T + 1, D + H + 1), dtype)  # row t: [x_t, h_{t-1}, 1]
        self.rows[:, D + H] = 1.0
        self.pre = np.empty(H, dtype)  # one step's pre-activation
        self.slopes = np.empty((T, 1, H), dtype)  # tanh' = 1 - h_t^2
        self.da = np.empty((T, 1, H), dtype)  # dL/da_t
        self.forward_steps = list(zip(self.rows[:T], self.rows[1:, D : D + H], strict=True))
        self.backward_steps = list(zip(self.da[::-1], self.slopes[::-1], strict=True))
        self._refs = sys.getrefcount(self.rows)

    def fits(self, steps: int, width: int, dtype) -> bool:
        return self.rows.shape == (steps + 1, width) and self.rows.dtype == dtype

    def in_use(self) -> bool:
        """Whether anything beyond these buffers' own views refers to them."""
        return sys.getrefcount(self.rows) != self._refs


class RNN:
    """Vanilla tanh RNN: h_t = tanh(x_t W + h_{t-1} W_h + b_h), h_0 given (default 0).

    With a padding mask, a step whose token is [PAD] carries the state unchanged:
    h_t = h_{t-1}. Without one, every step is computed, exactly like torch.nn.RNN.
    """

    def __init__(self, params: dict, grads: dict) -> None:
        self.params, self.grads = params, grads
        # [W; W_h; b_h] as one (D+H+1, H) matrix, when they lie back to back in a
        # ParamDict (the models' layout): the one-row path multiplies by it directly.
        stacked = ("W", "W_h", "b_h")
        self._stacked = params.block(stacked) if isinstance(params, ParamDict) else None
        self._stacked_grad = grads.block(stacked) if isinstance(grads, ParamDict) else None
        self._rows = None  # the one-row path's [x_t, h_{t-1}, 1] rows, for backward
        self._one_row: OneRowBuffers | None = None
        # When True, backward also records ||dL/dh_t|| for every step (gradient flow
        # through time) in `state_grad_norms` (T,); off by default: it costs a copy a step.
        self.track_state_grads = False
        self.state_grad_norms: np.ndarray | None = None

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
        if buffers is None or not buffers.fits(T, D + H + 1, W.dtype) or buffers.in_use():
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
        if seen is not None:
            seen[:start] = dh  # all-[PAD] leading steps pass the gradient on unchanged
            self.state_grad_norms = np.sqrt(np.einsum("tbh,tbh->t", seen, seen))
        if dh_seq is not None and start > 0:
            dh += dh_seq[:start].sum(axis=0)  # all-[PAD] steps carry h0 unchanged
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


class Dense:
    """z = h W_out + b_out on a (N, H) batch of states."""

    def __init__(self, params: dict, grads: dict) -> None:
        self.params, self.grads = params, grads

    def forward(self, h: np.ndarray) -> np.ndarray:
        self.h = h  # (N, H)
        z = np.dot(h, self.params["W_out"])
        z += self.params["b_out"]
        return z  # (N, C)

    def backward(self, dz: np.ndarray) -> np.ndarray:
        np.dot(self.h.T, dz, out=self.grads["W_out"])
        self.h = None  # it may be a view of the RNN's kept buffers (OneRowBuffers)
        np.add.reduce(dz, axis=0, out=self.grads["b_out"])
        return np.dot(dz, self.params["W_out"].T)  # (N, H)
