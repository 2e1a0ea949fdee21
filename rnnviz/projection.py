"""The embedding seen from above: PCA to 2-D, cosine neighbours, which class a word leans to.

No Qt, no extra dependency: PCA is an SVD of the centred rows, neighbours are one
matrix product of unit vectors, and a word's lean is the model's answer for that word
alone, for every word in one batched forward pass.
"""

from __future__ import annotations

import numpy as np

from rnnviz.model import RNNClassifier


def pca_2d(
    rows: np.ndarray, previous: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project rows (N, D) on their first two principal components.

    Parameters
    ----------
    rows : (N, D) vectors (e.g. embedding rows).
    previous : (2, D) components of an earlier frame: signs are flipped to agree with
        them, so a live plot does not mirror itself from one frame to the next.

    Returns
    -------
    (coords (N, 2), components (2, D), explained (2,) fraction of variance).
    """
    X = np.asarray(rows, dtype=np.float64)
    N, D = X.shape
    centred = X - X.mean(axis=0)
    if N < 2 or D < 1:
        return np.zeros((N, 2)), np.zeros((2, D)), np.zeros(2)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)  # vt (min(N,D), D)
    comps = np.zeros((2, D))
    k = min(2, len(vt))
    comps[:k] = vt[:k]
    if previous is not None and previous.shape == comps.shape:
        signs = np.sign(np.einsum("kd,kd->k", comps, previous))
    else:  # deterministic: the largest loading of each component is positive
        signs = np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])
    comps *= np.where(signs == 0, 1.0, signs)[:, None]
    total = float(np.sum(s**2))
    explained = np.zeros(2)
    if total > 0:
        explained[:k] = s[:k] ** 2 / total
    return centred @ comps.T, comps, explained


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    m = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms > 0, norms, 1.0)


def cosine_neighbours(
    matrix: np.ndarray, index: int, k: int = 5, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The k rows most similar (cosine) to row `index`, itself and `exclude` left out.

    Returns (indices (k,), similarities (k,)), most similar first. Pass `unit_rows(m)`
    as `matrix` to reuse the normalisation across queries.
    """
    u = unit_rows(matrix)
    sims = u @ u[index]  # (N,) one matrix-vector product
    sims[index] = -np.inf
    if exclude is not None:
        sims[exclude] = -np.inf
    k = min(k, int(np.isfinite(sims).sum()))
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0)
    top = np.argpartition(-sims, k - 1)[:k]
    top = top[np.argsort(-sims[top], kind="stable")]
    return top, sims[top]


def word_lean(model: RNNClassifier, word_ids: np.ndarray) -> np.ndarray:
    """(N, C) the model's class probabilities for each word as a one-token text.

    One forward pass over an (N, 1) batch: the network's own view of what the word
    says, live as it trains.
    """
    ids = np.asarray(word_ids, dtype=np.int64).reshape(-1, 1)
    if not len(ids):
        return np.zeros((0, model.sizes[3]))
    return model.forward(ids).proba
