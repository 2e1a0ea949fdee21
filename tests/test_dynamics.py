"""State-space analysis: the fixed-point search on hand-built networks whose fixed points
are known, Jacobians against finite differences, PCA and readout sanity (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz.dynamics import (
    StateSpace,
    analyse,
    find_fixed_points,
    finite_difference_jacobian,
    generic_steps,
    principal_axes,
    readout_direction,
    step_functions,
    tanh_rnn_steps,
    token_effect,
    token_input,
    visited_states,
)
from rnnviz.model import RNNClassifier
from rnnviz.tokenizer import PAD_ID
from tests.gradcheck import numerical_grad, relative_error

rng = np.random.default_rng(7)
D, H = 3, 5


def random_tanh_rnn(scale: float = 0.6):
    W, W_h = rng.normal(0, scale, (D, H)), rng.normal(0, scale, (H, H))
    return W, W_h, rng.normal(0, 0.3, H)


def line_matrix(u: np.ndarray, rest: float = 0.5) -> np.ndarray:
    """Symmetric (H, H): eigenvalue 1 along unit u, `rest` across it."""
    P = np.outer(u, u)
    return P + rest * (np.eye(len(u)) - P)


def test_tanh_jacobian_matches_finite_differences():
    W, W_h, b = random_tanh_rnn()
    steps = tanh_rnn_steps(W, W_h, b)
    h, x = rng.uniform(-0.9, 0.9, (4, H)), rng.normal(size=D)
    J = steps.jacobian(h, x)  # (4, H, H)
    for n in range(len(h)):
        for i in range(H):
            row = h[n].copy()
            numeric = numerical_grad(
                lambda row=row, i=i: float(steps.step(row[None], x)[0, i]), row
            )
            assert relative_error(J[n, i], numeric) < 1e-7
    fallback = finite_difference_jacobian(steps.step)(h, x)
    assert relative_error(J, fallback) < 1e-7
    v = rng.normal(size=h.shape)
    assert np.allclose(steps.vector_jacobian(h, x, v), np.einsum("ni,nij->nj", v, J))
    assert np.allclose(generic_steps(steps.step).vector_jacobian(h, x, v), steps.vjp(h, x, v))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("rows", [2, 1])
def test_step_functions_follow_the_model_forward_pass(cell, rows):
    """Visited states (an LSTM's [h, c]) equal the step function run token by token;
    one row takes the cells' one-row paths."""
    model = RNNClassifier(12, D, H, 2, dtype=np.float64, seed=1, cell=cell)
    ids = np.array([[0, 0, 4, 7, 2], [3, 5, 5, 9, 11]])[:rows]
    S = 2 * H if cell == "lstm" else H
    states, where = visited_states(model, ids)
    assert states.shape == (3 + 5 * (rows - 1), S)
    assert np.all(ids[where[:, 0], where[:, 1]] != PAD_ID)
    steps = step_functions(model)
    for row in range(len(ids)):
        h = np.zeros((1, S))
        mine = states[where[:, 0] == row]
        for k, token in enumerate(ids[row][ids[row] != PAD_ID]):
            h = steps.step(h, token_input(model, token))
            assert np.allclose(h[0], mine[k], atol=1e-12)


def test_a_cell_without_a_step_function_is_a_clear_error():
    class Gated:
        cell = "custom"
        params = None

    with pytest.raises(ValueError, match="no step function for cell 'custom'"):
        step_functions(Gated())
    Gated.state_step = staticmethod(lambda h, x: 0.5 * h)
    J = step_functions(Gated()).jacobian(np.ones((2, 3)), np.zeros(1))
    assert np.allclose(J, 0.5 * np.eye(3))


def test_exact_line_of_fixed_points_through_the_generic_seam():
    u = np.array([1.0, 2.0, -1.0, 0.5, 0.0])
    u /= np.linalg.norm(u)
    A = line_matrix(u)
    steps = generic_steps(lambda h, x: h @ A)  # linear: every multiple of u is fixed
    starts = np.outer(np.linspace(-1, 1, 40), u) + 0.3 * rng.normal(size=(40, H))
    fixed = find_fixed_points(steps, starts, np.zeros(D), q_tol=1e-12, merge_tol=1e-3)
    assert len(fixed) > 20  # many distinct points, not one
    off_line = fixed.points - np.outer(fixed.points @ u, u)
    assert np.abs(off_line).max() < 1e-5
    assert np.ptp(fixed.points @ u) > 1.0  # spread along the line
    mags = np.abs(fixed.eigenvalues)
    assert np.allclose(mags[:, 0], 1.0, atol=1e-5) and np.allclose(mags[:, 1:], 0.5, atol=1e-5)
    axes = principal_axes(fixed.points, 2)
    assert axes.explained[0] > 0.9999 and abs(axes.components[0] @ u) > 0.9999


def test_near_linear_tanh_rnn_has_a_line_of_slow_points():
    u = np.array([0.5, -0.5, 0.5, 0.5, 0.0])
    W_h = line_matrix(u)  # tanh(h W_h): along u, tanh(s) ~ s near 0
    W_out = np.stack([-u, u], axis=1)  # (H, 2): the readout is the line
    steps = tanh_rnn_steps(np.zeros((D, H)), W_h, np.zeros(H))
    states = np.outer(rng.uniform(-0.3, 0.3, 400), u) + 0.05 * rng.normal(size=(400, H))
    space = analyse(steps, states, W_out, np.zeros(D), starts=128, q_tol=1e-9, merge_tol=1e-3)
    summary = space.summary()
    assert summary["fixed_points"] > 10
    assert np.abs(space.fixed.points - np.outer(space.fixed.points @ u, u)).max() < 1e-3
    assert summary["fixed_point_pc1_share"] > 0.99 and summary["readout_alignment"] > 0.99
    top, second = summary["top_eigenvalues"]
    assert top > 0.99 and second == pytest.approx(0.5, abs=0.01)
    assert np.all(space.fixed.q <= 1e-9)
    assert summary["line_eigenvalue"] > 0.99  # the line's own direction barely forgets
    assert summary["fixed_point_largest_gap"] < 0.3  # a continuum, not a few points


def test_two_attractors_and_the_saddle_between_them():
    # tanh(2 h1): stable fixed points at +-h*, unstable at 0; h2 decays (gain 0.5).
    steps = tanh_rnn_steps(np.zeros((D, 2)), np.diag([2.0, 0.5]), np.zeros(2))
    h_star = 1.0
    for _ in range(200):
        h_star = np.tanh(2 * h_star)  # 0.9575...
    starts = np.concatenate([rng.uniform(-1, 1, (60, 2)), rng.normal(0, 1e-3, (4, 2))])
    fixed = find_fixed_points(steps, starts, np.zeros(D), q_tol=1e-20, merge_tol=1e-4)
    order = np.argsort(fixed.points[:, 0])
    found = fixed.points[order]
    expected = np.array([[-h_star, 0.0], [0.0, 0.0], [h_star, 0.0]])
    assert found.shape == (3, 2) and np.allclose(found, expected, atol=1e-8)
    radius = fixed.spectral_radius[order]
    assert radius[0] < 1 and radius[2] < 1 and radius[1] == pytest.approx(2.0)
    space = StateSpace(principal_axes(starts, 2), fixed, principal_axes(fixed.points, 2),
                       np.array([1.0, 0.0]), starts)  # fmt: skip
    summary = space.summary()
    assert summary["fixed_point_largest_gap"] == pytest.approx(0.5)  # three isolated points
    line = space.line_eigenvalues()[order].real
    assert line[1] == pytest.approx(2.0) and line[0] == pytest.approx(2 * (1 - h_star**2))


def test_principal_axes_of_a_noisy_line():
    d = np.array([3.0, 4.0, 0.0]) / 5
    rows = np.outer(np.linspace(-2, 2, 200), d) + 0.01 * rng.normal(size=(200, 3))
    axes = principal_axes(rows, 3)
    assert abs(axes.components[0] @ d) > 0.999 and axes.explained[0] > 0.99
    assert axes.explained.sum() == pytest.approx(1.0)
    assert np.allclose(axes.components @ axes.components.T, np.eye(3), atol=1e-10)
    flipped = principal_axes(rows, 3, previous=-axes.components)
    assert np.allclose(flipped.components, -axes.components)
    assert np.allclose(axes.project(rows)[:, 0], (rows - rows.mean(0)) @ axes.components[0])


def test_readout_direction_two_and_more_classes():
    W = rng.normal(size=(H, 2))
    d = readout_direction(W)
    assert np.allclose(d, (W[:, 1] - W[:, 0]) / np.linalg.norm(W[:, 1] - W[:, 0]))
    u = rng.normal(size=H)
    W3 = np.outer(u, [2.0, -1.0, -1.0]) + rng.normal(size=(H, 1))  # + a shift shared by classes
    assert abs(readout_direction(W3) @ u) / np.linalg.norm(u) == pytest.approx(1.0)


def test_token_effect_along_the_readout():
    W, W_h, b = random_tanh_rnn()
    steps = tanh_rnn_steps(W, W_h, b)
    h, x, r = (
        rng.uniform(-0.5, 0.5, (6, H)),
        rng.normal(size=D),
        readout_direction(rng.normal(size=(H, 2))),
    )
    assert np.allclose(token_effect(steps, h, x, r), (steps.step(h, x) - h) @ r)


def test_lstm_state_space_is_of_h_and_c():
    """An LSTM: the analytic Jacobian of [h, c] against finite differences, a fixed point
    found (F(p) = p) with its linearisation, the readout reading h only (zeros for c)."""
    model = RNNClassifier(12, D, H, 2, dtype=np.float64, seed=3, cell="lstm")
    steps = step_functions(model)
    x = token_input(model, 4)
    h = rng.normal(0, 0.5, (3, 2 * H))
    J = steps.jacobian(h, x)
    assert J.shape == (3, 2 * H, 2 * H)
    assert relative_error(J, finite_difference_jacobian(steps.step)(h, x)) < 1e-7
    v = rng.normal(size=h.shape)  # the search's gradient: analytic, equal to v J
    assert steps.vjp is not None
    assert np.allclose(steps.vector_jacobian(h, x, v), np.einsum("ni,nij->nj", v, J))
    ids = rng.integers(2, 12, size=(6, 5))
    ids[:2, :2] = PAD_ID
    states, _ = visited_states(model, ids)
    space = analyse(steps, states, model.params["W_out"], x, starts=32, q_tol=1e-12)
    assert len(space.fixed) >= 1 and space.fixed.points.shape[1] == 2 * H
    p = space.fixed.points
    assert np.abs(steps.step(p, x) - p).max() < 1e-5
    assert space.fixed.jacobians.shape == (len(p), 2 * H, 2 * H)
    assert np.allclose(space.fixed.jacobians, steps.jacobian(p, x))
    readout = readout_direction(model.params["W_out"])
    np.testing.assert_allclose(space.readout, np.concatenate([readout, np.zeros(H)]))
    assert space.visited.components.shape == (3, 2 * H)
    assert space.summary()["fixed_points"] == len(space.fixed)
