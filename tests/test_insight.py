"""Insight maths against naive loops and finite differences (float64, fast)."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.insight import (
    confusion_matrix,
    gradient_x_input,
    input_gradient,
    misclassified,
    occlusion,
    occlusion_variants,
    top_activations,
    unit_strength,
)
from rnnviz.model import RNNClassifier
from rnnviz.projection import cosine_neighbours, pca_2d, word_lean
from rnnviz.tokenizer import PAD_ID, UNK_ID

V, D, H, C, T = 20, 5, 7, 3, 6


def make_model(head: str = "softmax", mask: bool = True, cell: str = "rnn") -> RNNClassifier:
    model = RNNClassifier(V, D, H, C, head=head, mask_padding=mask, dtype=np.float64, seed=3,
                          cell=cell)  # fmt: skip
    rng = np.random.default_rng(1)
    model.params.flat[...] = rng.normal(0, 0.5, model.params.flat.shape)
    model.params["embedding"][PAD_ID] = 0
    return model


def ids_batch() -> np.ndarray:
    return np.array([[0, 0, 4, 5, 6, 7], [3, 9, 9, 2, 11, 12], [0, 0, 0, 0, 0, 8]])


def score_from_inputs(model, x_btd, ids, target):
    """The explained score computed from given embedded inputs (B, T, D)."""
    ids_tm = ids.T
    mask = ids_tm != PAD_ID if model.mask_padding else None
    hs = model.rnn.forward(np.ascontiguousarray(x_btd.transpose(1, 0, 2)), mask)
    z = model.dense.forward(hs[-1])
    rows = np.arange(len(ids))
    if model.head == "softmax":
        logp = z - z.max(axis=1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
        return logp[rows, target].sum()
    return z[rows, target].sum()


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("head,mask", [("softmax", True), ("softmax", False), ("tanh", True)])
def test_input_gradient_matches_finite_differences(head, mask, cell):
    model = make_model(head, mask, cell)
    ids = ids_batch()
    dx, x, proba, target = input_gradient(model, ids)
    assert np.array_equal(target, proba.argmax(axis=1))
    assert np.allclose(x, model.params["embedding"][ids])
    eps = 1e-6
    num = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        num[idx] = (
            score_from_inputs(model, xp, ids, target) - score_from_inputs(model, xm, ids, target)
        ) / (2 * eps)
    if mask:  # masked [PAD] steps do not read their input at all
        num[ids == PAD_ID] = 0
        assert np.all(dx[ids == PAD_ID] == 0)
    err = np.abs(dx - num).max() / max(np.abs(num).max(), 1e-12)
    assert err < 1e-6


def test_gradient_x_input_is_row_sum_and_zero_on_pad():
    model = make_model()
    ids = ids_batch()
    scores, proba = gradient_x_input(model, ids)
    dx, x, _, _ = input_gradient(model, ids)
    expected = (dx * x).sum(axis=2)
    expected[ids == PAD_ID] = 0
    assert np.allclose(scores, expected)
    assert np.allclose(proba, model.predict_proba(ids))
    assert np.all(scores[ids == PAD_ID] == 0)


def test_occlusion_variants_match_a_naive_loop():
    ids = np.array([0, 0, 4, 5, 6, 7])
    variants, positions = occlusion_variants(ids)
    assert list(positions) == [2, 3, 4, 5]
    assert np.array_equal(variants[0], ids)
    for i, p in enumerate(positions):
        unk = ids.copy()
        unk[p] = UNK_ID
        assert np.array_equal(variants[1 + i], unk)
        kept = [t for j, t in enumerate(ids) if t != PAD_ID and j != p]
        dropped = np.array([PAD_ID] * (len(ids) - len(kept)) + kept)
        assert np.array_equal(variants[1 + len(positions) + i], dropped)


def test_occlusion_matches_separate_forward_passes():
    model = make_model()
    ids = np.array([0, 3, 4, 5, 6, 7])
    occ = occlusion(model, ids)
    base = model.predict_proba(ids[None])[0]
    c = int(base.argmax())
    assert occ.predicted == c and occ.base == pytest.approx(base[c])
    for i, p in enumerate(occ.positions):
        unk = ids.copy()
        unk[p] = UNK_ID
        p_unk = model.predict_proba(unk[None])[0, c]
        kept = np.delete(ids, p)
        p_drop = model.predict_proba(np.concatenate([[PAD_ID], kept])[None])[0, c]
        assert occ.unk[i] == pytest.approx(base[c] - p_unk, abs=1e-12)
        assert occ.drop[i] == pytest.approx(base[c] - p_drop, abs=1e-12)


def test_occlusion_of_an_empty_row():
    occ = occlusion(make_model(), np.zeros(T, np.int64))
    assert len(occ.positions) == len(occ.unk) == len(occ.drop) == 0


def test_top_activations_match_a_naive_sort():
    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(4, T, H))
    ids = rng.integers(0, 5, size=(4, T))
    rows, steps, vals = top_activations(hidden, ids, k=3)
    assert rows.shape == steps.shape == vals.shape == (H, 3)
    for u in range(H):
        naive = sorted(
            ((hidden[b, t, u], b, t) for b in range(4) for t in range(T) if ids[b, t] != PAD_ID),
            reverse=True,
        )[:3]
        assert np.allclose(vals[u], [v for v, _, _ in naive])
        assert np.allclose(hidden[rows[u], steps[u], u], vals[u])
        assert np.all(ids[rows[u], steps[u]] != PAD_ID)


def test_unit_strength_ignores_padding():
    hidden = np.zeros((4, 2))
    hidden[0] = [5.0, 5.0]  # a [PAD] step: ignored
    hidden[2:, 0] = [-0.5, 0.5]
    s = unit_strength(hidden, np.array([0, 0, 3, 4]))
    assert s[0] > s[1]
    assert s[0] == pytest.approx(1.0, abs=1e-2)


def test_confusion_and_misclassified():
    labels = np.array([0, 0, 1, 2, 2, 1])
    proba = np.array(
        [[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0, 0.4, 0.6], [0.6, 0.3, 0.1],
         [0.05, 0.05, 0.9]]
    )  # fmt: skip
    cm = confusion_matrix(labels, proba.argmax(axis=1), 3)
    naive = np.zeros((3, 3), int)
    for t, p in zip(labels, proba.argmax(axis=1), strict=True):
        naive[t, p] += 1
    assert np.array_equal(cm, naive)
    assert list(misclassified(labels, proba)) == [5, 1, 4]


def test_pca_matches_covariance_eigenvectors_and_keeps_signs():
    rng = np.random.default_rng(2)
    rows = rng.normal(size=(50, 6)) @ np.diag([5, 3, 1, 0.5, 0.2, 0.1])
    coords, comps, explained = pca_2d(rows)
    centred = rows - rows.mean(axis=0)
    w, v = np.linalg.eigh(np.cov(centred.T))
    for k in range(2):
        assert abs(abs(comps[k] @ v[:, -1 - k]) - 1) < 1e-9
    assert np.allclose(coords, centred @ comps.T)
    assert np.allclose(explained, w[::-1][:2] / w.sum())
    _, flipped, _ = pca_2d(rows, previous=-comps)
    assert np.allclose(flipped, -comps)


def test_cosine_neighbours_match_a_naive_loop():
    rng = np.random.default_rng(4)
    m = rng.normal(size=(12, 4))
    idx, sims = cosine_neighbours(m, 3, k=4, exclude=np.array([0]))
    naive = sorted(
        ((m[i] @ m[3] / np.linalg.norm(m[i]) / np.linalg.norm(m[3]), i) for i in range(12)
         if i not in (0, 3)),
        reverse=True,
    )[:4]  # fmt: skip
    assert list(idx) == [i for _, i in naive]
    assert np.allclose(sims, [s for s, _ in naive])


def test_word_lean_is_the_model_on_each_word_alone():
    model = make_model()
    words = np.arange(2, 9)
    lean = word_lean(model, words)
    for i, w in enumerate(words):
        assert np.allclose(lean[i], model.predict_proba(np.array([[w]]))[0])
