"""Output losses: softmax + cross-entropy (default), and the seed's tanh + squared error."""

from __future__ import annotations

import math

import numpy as np

# Up to this many logits (e.g. one sentence, a few classes) the loss is computed in plain
# Python: a dozen NumPy calls of ~0.5 us each would cost more than the arithmetic.
SMALL_LOGITS = 16


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def softmax_cross_entropy(
    z: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean cross-entropy of logits z (N, C) against integer targets (N,).

    weights (N,) of 0/1 leave rows out (e.g. [PAD] targets); the mean is over the kept
    rows. Returns (loss, dL/dz, probabilities).
    """
    N, C = z.shape
    if z.size <= SMALL_LOGITS and weights is None:
        return _small_softmax_cross_entropy(z, targets)
    # The ufuncs' reduce methods directly: np.sum / .max() add ~1 us of wrapping each,
    # which is most of the cost at the interactive size (one row).
    shifted = z - np.maximum.reduce(z, axis=1, keepdims=True)  # exp cannot overflow
    proba = np.exp(shifted)
    sums = np.add.reduce(proba, axis=1, keepdims=True)
    proba /= sums
    picked = np.arange(0, N * C, C) + targets  # flat index of each row's target
    # -log p from the log-sum-exp: exact even where p itself underflows to 0.
    nll = np.log(sums[:, 0]) - shifted.reshape(-1)[picked]  # (N,)
    dz = proba.copy()
    dz.reshape(-1)[picked] -= 1.0
    if weights is None:
        count = N
    else:
        count = max(float(weights.sum()), 1.0)
        nll *= weights
        dz *= weights[:, None]
    dz *= 1.0 / count
    return float(np.add.reduce(nll)) / count, dz, proba


def _small_softmax_cross_entropy(z: np.ndarray, targets) -> tuple[float, np.ndarray, np.ndarray]:
    """softmax_cross_entropy of a few logits in plain Python floats (same results)."""
    N = len(z)
    total, proba, dz = 0.0, [], []
    for row, target in zip(z.tolist(), np.asarray(targets).tolist(), strict=True):
        top = max(row)
        exps = [math.exp(v - top) for v in row]
        norm = sum(exps)
        p = [e / norm for e in exps]
        total += math.log(norm) - (row[target] - top)
        d = [q / N for q in p]
        d[target] -= 1.0 / N
        proba.append(p)
        dz.append(d)
    both = np.array((dz, proba), dtype=z.dtype)  # one array: one call fewer
    return total / N, both[0], both[1]


def tanh_squared_error(z: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """The seed's head: y = tanh(z) against one-hot targets, mean squared error.

    The loss is the mean over rows and classes of (y - onehot)^2. Returns
    (loss, dL/dz, y).
    """
    N, C = z.shape
    y = np.tanh(z)
    diff = y.copy()
    diff[np.arange(N), targets] -= 1.0  # y - onehot
    loss = float(np.mean(np.square(diff)))
    dz = diff * (1.0 - np.square(y)) * (2.0 / (N * C))
    return loss, dz, y


def tanh_scores_to_proba(y: np.ndarray) -> np.ndarray:
    """Map the tanh head's outputs (-1..1 per class) to a distribution for display."""
    score = np.clip((y + 1.0) / 2.0, 1e-6, None)
    return score / score.sum(axis=-1, keepdims=True)
