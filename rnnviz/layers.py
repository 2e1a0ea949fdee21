"""Embedding and Dense layers: each forward caches what its backward needs.

The recurrent cells (tanh RNN, GRU, LSTM) live in rnnviz.cells.

Inside the layers sequences are time-major, `(T, B, ...)`: the recurrence walks over
time, so each step's slice `x[t]` is then one contiguous block. The models convert
from and to the batch-major `(B, T, ...)` the rest of the code uses.

Every layer reads its weights from, and writes its gradients into, the model's
`params` / `grads` dicts (entries of one flat buffer each), so nothing is copied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
