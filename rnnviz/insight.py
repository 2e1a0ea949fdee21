"""Why this prediction, and what each unit does: salience, unit statistics, confusion.

No Qt here. Everything is batched: one forward (and one backward) pass per question,
never a Python loop of passes. The layers are called directly so the model's own
training path stays untouched:

- `input_gradient` / `gradient_x_input`: d score / d x_t for the embedded inputs x,
  where the score is log p(class) for the softmax head and the logit z_c for the tanh
  head; gradient x input sums (dscore/dx_t) * x_t over the embedding dimension.
- `occlusion`: how the predicted class's probability moves when each real token is
  replaced by [UNK] or dropped (the row re-padded), all 2n variants in one forward.
- `top_activations`: for every unit, the (row, step) positions that drive it most.
- `confusion_matrix`, `misclassified`: the errors on a labelled split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.losses import softmax, tanh_scores_to_proba
from rnnviz.model import RNNClassifier
from rnnviz.tokenizer import PAD_ID, UNK_ID


def _run_inputs(model: RNNClassifier, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ids (B, T) -> (embedded inputs x (T, B, D), logits z (B, C)), caching for backward."""
    ids_tm = np.ascontiguousarray(np.asarray(ids).T)  # (T, B)
    x = model.embedding.forward(ids_tm)  # (T, B, D)
    mask = ids_tm != PAD_ID if model.mask_padding else None
    hs = model.rnn.forward(x, mask)  # (T+1, B, H)
    z = model.dense.forward(hs[-1])  # (B, C)
    return x, z


def input_gradient(
    model: RNNClassifier, ids: np.ndarray, target: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gradient of each row's class score with respect to its embedded inputs.

    Parameters
    ----------
    model : the classifier (its `grads` buffer is overwritten).
    ids : (B, T) padded token ids.
    target : (B,) the class to explain per row; default the predicted class.

    Returns
    -------
    (dx (B, T, D), x (B, T, D), proba (B, C), target (B,)). The score is log p(target)
    for the softmax head and the logit z_target for the tanh head.
    """
    ids = np.atleast_2d(np.asarray(ids))
    B = ids.shape[0]
    x, z = _run_inputs(model, ids)
    if model.head == "softmax":
        proba = softmax(z)
    else:
        proba = tanh_scores_to_proba(np.tanh(z))
    target = proba.argmax(axis=1) if target is None else np.asarray(target)
    onehot = np.zeros_like(z)
    onehot[np.arange(B), target] = 1.0
    dz = onehot - proba if model.head == "softmax" else onehot  # d log p_c / dz, or d z_c / dz
    dh_last = model.dense.backward(dz.astype(z.dtype, copy=False))
    dx, _ = model.rnn.backward(dh_last=dh_last)  # (T, B, D)
    return dx.transpose(1, 0, 2), x.transpose(1, 0, 2), proba, target


def gradient_x_input(
    model: RNNClassifier, ids: np.ndarray, target: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(B, T) gradient x input per token (0 on [PAD]) and the (B, C) probabilities."""
    ids = np.atleast_2d(np.asarray(ids))
    dx, x, proba, _ = input_gradient(model, ids, target)
    scores = np.einsum("btd,btd->bt", dx, x)
    scores[ids == PAD_ID] = 0.0
    return scores, proba


@dataclass(frozen=True)
class Occlusion:
    """How one sentence's prediction moves when each of its real tokens is taken away."""

    positions: np.ndarray  # (n,) indices into the padded row of the real tokens
    predicted: int  # the class explained (predicted on the full sentence)
    base: float  # its probability on the full sentence
    unk: np.ndarray  # (n,) base - p(class) with the token replaced by [UNK]
    drop: np.ndarray  # (n,) base - p(class) with the token removed and the row re-padded
    proba: np.ndarray  # (C,) the full sentence's probabilities


def occlusion_variants(ids: np.ndarray, unk_id: int = UNK_ID) -> tuple[np.ndarray, np.ndarray]:
    """One padded row (T,) -> (variants (1 + 2n, T), positions (n,)).

    Row 0 is the sentence itself; rows 1..n replace real token i by [UNK]; rows n+1..2n
    drop it (the tokens before it shift right by one and a [PAD] enters at the front).
    """
    ids = np.asarray(ids)
    (T,) = ids.shape
    positions = np.flatnonzero(ids != PAD_ID)  # (n,)
    n = len(positions)
    variants = np.repeat(ids[None, :], 1 + 2 * n, axis=0)  # (1+2n, T)
    rows = np.arange(n)
    variants[1 + rows, positions] = unk_id
    # Dropping token p: out[t] = ids[t - 1] for t <= p, out[t] = ids[t] after it.
    cols = np.arange(T)
    shifted = np.where(cols[None, :] <= positions[:, None], cols[None, :] - 1, cols[None, :])
    dropped = np.where(shifted >= 0, ids[np.maximum(shifted, 0)], PAD_ID)  # (n, T)
    variants[1 + n :] = dropped
    return variants, positions


def occlusion(model: RNNClassifier, ids: np.ndarray, unk_id: int = UNK_ID) -> Occlusion:
    """Occlusion salience of one padded row (T,), in one batched forward pass."""
    variants, positions = occlusion_variants(ids, unk_id)
    n = len(positions)
    proba = model.forward(variants).proba  # (1+2n, C)
    c = int(proba[0].argmax())
    p = proba[:, c]
    return Occlusion(positions, c, float(p[0]), p[0] - p[1 : 1 + n], p[0] - p[1 + n :], proba[0])


def top_activations(
    hidden: np.ndarray, ids: np.ndarray, k: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit, the k real-token positions with the largest activation.

    hidden (B, T, H), ids (B, T) -> (rows (H, k), steps (H, k), values (H, k)), sorted by
    value, largest first. [PAD] positions never count.
    """
    B, T, H = hidden.shape
    flat = hidden.reshape(B * T, H).astype(np.float64)  # (B*T, H)
    flat = np.where((np.asarray(ids).reshape(-1) != PAD_ID)[:, None], flat, -np.inf)
    k = min(k, B * T)
    part = np.argpartition(-flat, k - 1, axis=0)[:k]  # (k, H) unordered top k
    vals = np.take_along_axis(flat, part, axis=0)
    order = np.argsort(-vals, axis=0, kind="stable")
    part = np.take_along_axis(part, order, axis=0).T  # (H, k)
    vals = np.take_along_axis(vals, order, axis=0).T
    return part // T, part % T, vals


def unit_strength(hidden: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """(T, H) states of one sentence -> (H,) how strongly each unit responds to it.

    The spread (max - min) over the real tokens: a unit that stays put, saturated or
    not, says nothing about this sentence; one that swings does.
    """
    real = np.asarray(ids) != PAD_ID
    if not real.any():
        return np.zeros(hidden.shape[1])
    h = hidden[real]  # (n, H)
    return h.max(axis=0) - h.min(axis=0) + 1e-3 * np.abs(h).mean(axis=0)


def unit_variance(states: np.ndarray) -> np.ndarray:
    """(n, H) states over a text's real tokens -> (H,) each unit's variance over them
    (a saturated network's units all swing -1..1; the variance tells the ones that
    mostly sit at one end from the ones that switch often)."""
    states = np.asarray(states, np.float64)
    return states.var(axis=0) if len(states) else np.zeros(states.shape[1])


def unit_output_correlation(states: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """(n, H) states and (n, K) outputs at the same points -> (H,) the largest
    |Pearson correlation| of each unit with any output (0 where either is constant)."""
    x = np.asarray(states, np.float64)
    y = np.asarray(outputs, np.float64)
    if len(x) < 2:
        return np.zeros(x.shape[1])
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    sx, sy = np.sqrt((x * x).sum(axis=0)), np.sqrt((y * y).sum(axis=0))  # (H,), (K,)
    with np.errstate(all="ignore"):
        corr = (x.T @ y) / np.outer(sx, sy)  # (H, K)
    corr = np.where(np.isfinite(corr), np.abs(corr), 0.0)
    return corr.max(axis=1) if corr.shape[1] else np.zeros(x.shape[1])


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    C = num_classes
    return np.bincount(labels * C + predicted, minlength=C * C).reshape(C, C)


def misclassified(labels: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Indices of the wrong predictions, most confidently wrong first."""
    predicted = proba.argmax(axis=1)
    wrong = np.flatnonzero(predicted != np.asarray(labels))
    confidence = proba[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")]
