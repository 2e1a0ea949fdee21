"""State space: visited states, fixed and slow points, their linearisation, the readout.

After Sussillo & Barak (2013) and Maheswaranathan et al. (2019): with the input held at
a neutral token x, the recurrent step is a map h -> F(h, x). Its fixed points (and slow
points) are the minima of q(h) = 1/2 ||F(h, x) - h||^2, found from many starts taken
from the states a corpus visits. Around each one the dynamics is linear with Jacobian
dF/dh; its eigenvalues say how fast each direction forgets. A sentiment network that
integrates evidence shows a line attractor: fixed points on a line, one eigenvalue near
1 there and the rest well inside the unit circle, and the readout along the line.

Any cell plugs in through `StepFunctions` (a step F and its Jacobian); `step_functions`
is the one place that picks them for a model. An LSTM's state is [h, c] (2H numbers):
its visited states, fixed points, PCA and Jacobians are of [h, c], and its readout (which
reads h only) is padded with zeros for c. No Qt here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnnviz.tokenizer import PAD_ID

StepFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # h (N, H), x (D,) -> h' (N, H)
JacobianFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # h (N, H), x (D,) -> (N, H, H)


# --------------------------------------------------------------------------- the seam
@dataclass(frozen=True)
class StepFunctions:
    """One recurrent step F(h, x) and its Jacobian dF/dh, vectorised over N states."""

    step: StepFn  # h (N, H), x (D,) -> F (N, H)
    jacobian: JacobianFn  # h (N, H), x (D,) -> J (N, H, H), J[n, i, j] = dF_i / dh_j
    vjp: Callable | None = None  # (h, x, v (N, H)) -> v J (N, H); default from `jacobian`

    def vector_jacobian(self, h: np.ndarray, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        """v^T dF/dh for each row: (N, H)."""
        if self.vjp is not None:
            return self.vjp(h, x, v)
        return np.einsum("ni,nij->nj", v, self.jacobian(h, x))


def tanh_rnn_steps(W: np.ndarray, W_h: np.ndarray, b_h: np.ndarray) -> StepFunctions:
    """F(h, x) = tanh(x W + h W_h + b_h) with its analytic Jacobian (float64)."""
    W, W_h, b_h = (np.asarray(a, np.float64) for a in (W, W_h, b_h))

    def step(h, x):
        return np.tanh(np.asarray(x, np.float64) @ W + h @ W_h + b_h)  # (N, H)

    def jacobian(h, x):
        slope = 1.0 - step(h, x) ** 2  # (N, H) tanh'(a)
        return slope[:, :, None] * W_h.T[None]  # (N, H, H): (1 - F_i^2) W_h[j, i]

    def vjp(h, x, v):
        return (v * (1.0 - step(h, x) ** 2)) @ W_h.T  # (N, H)

    return StepFunctions(step, jacobian, vjp)


def finite_difference_jacobian(step: StepFn, eps: float = 1e-6) -> Callable:
    """dF/dh by central differences, all N states and H directions in one call of `step`."""

    def jacobian(h, x):
        N, H = h.shape
        shift = eps * np.eye(H)  # (H, H) one direction per row
        probes = np.concatenate([h[:, None, :] + shift, h[:, None, :] - shift], axis=1)
        out = step(probes.reshape(N * 2 * H, H), x).reshape(N, 2, H, H)  # (N, +-, j, i)
        return ((out[:, 0] - out[:, 1]) / (2 * eps)).transpose(0, 2, 1)  # (N, i, j)

    return jacobian


def generic_steps(step: StepFn) -> StepFunctions:
    """Any step function, with a finite-difference Jacobian (gated cells, custom maps)."""
    return StepFunctions(step, finite_difference_jacobian(step))


def step_functions(model) -> StepFunctions:
    """The step and Jacobian of a model's recurrent cell, input held fixed.

    The tanh RNN's, the GRU's and the LSTM's are analytic (rnnviz.cells: `step`,
    `step_jacobian`); the LSTM's act on [h, c] (N, 2H). Any other model supplies its own
    step as `model.state_step(h (N, S), x (D,)) -> (N, S)` and gets a finite-difference
    Jacobian.
    """
    cell = getattr(model, "cell", "rnn")
    if cell in ("rnn", None):
        p = model.params
        return tanh_rnn_steps(p["W"], p["W_h"], p["b_h"])
    state_step = getattr(model, "state_step", None)
    if cell in ("gru", "lstm") and state_step is None:
        from rnnviz.cells import cell_module

        module = cell_module(cell)
        p64 = {name: np.asarray(value, np.float64) for name, value in model.params.items()}
        return StepFunctions(
            lambda h, x: module.step(p64, h, np.asarray(x, np.float64)),
            lambda h, x: module.step_jacobian(p64, h, np.asarray(x, np.float64)),
            lambda h, x, v: module.step_vjp(p64, h, np.asarray(x, np.float64), v),
        )
    if state_step is None:
        raise ValueError(f"no step function for cell {cell!r}: give the model a state_step")
    return generic_steps(lambda h, x: np.asarray(state_step(h, x), np.float64))


def token_input(model, token_id: int | None = None) -> np.ndarray:
    """(D,) the input held during the search: the zero vector ([PAD]) or a token's vector."""
    E = np.asarray(model.params["embedding"], np.float64)
    return np.zeros(E.shape[1]) if token_id is None else E[int(token_id)].copy()


# --------------------------------------------------------------------------- visited states
def visited_states(model, ids: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The state after every real token of every row: h, or an LSTM's [h, c].

    Returns (states (M, S) float64, S = H or 2H; where (M, 2): the (row, step) of each).
    """
    ids = np.asarray(ids)
    where = np.argwhere(ids != PAD_ID)  # (M, 2) row-major: each row's steps in order
    with_cell = getattr(getattr(model, "rnn", None), "state_parts", 1) == 2
    H = model.sizes[2]
    states = np.zeros((len(where), 2 * H if with_cell else H))
    for start in range(0, len(ids), batch):
        hidden = model.forward(ids[start : start + batch]).hidden  # (b, T, H)
        if with_cell:  # [h, c]: the cell states of the same steps
            hidden = np.concatenate([hidden, model.rnn.cs[1:].transpose(1, 0, 2)], axis=2)
        mine = (where[:, 0] >= start) & (where[:, 0] < start + batch)
        states[mine] = hidden[where[mine, 0] - start, where[mine, 1]]  # real tokens only
    return states, where


@dataclass(frozen=True)
class Principal:
    """Principal axes of a cloud of states."""

    mean: np.ndarray  # (H,)
    components: np.ndarray  # (k, H) unit rows, largest variance first
    explained: np.ndarray  # (k,) share of the total variance along each

    def project(self, states: np.ndarray) -> np.ndarray:
        return (np.asarray(states) - self.mean) @ self.components.T  # (N, k)


def principal_axes(rows: np.ndarray, k: int = 3, previous: np.ndarray | None = None) -> Principal:
    """PCA of rows (N, H) by an SVD of the centred rows.

    `previous` (k, H): components of an earlier frame; signs are flipped to agree, so
    a live plot does not mirror itself. Otherwise the largest loading is made positive.
    """
    X = np.asarray(rows, np.float64)
    N, H = X.shape
    mean = X.mean(axis=0) if N else np.zeros(H)
    comps, explained = np.zeros((k, H)), np.zeros(k)
    if N >= 2:
        _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
        n = min(k, len(vt))
        comps[:n] = vt[:n]
        total = float(np.sum(s**2))
        if total > 0:
            explained[:n] = s[:n] ** 2 / total
    if previous is not None and previous.shape == comps.shape:
        signs = np.sign(np.einsum("kh,kh->k", comps, previous))
    else:
        signs = np.sign(comps[np.arange(k), np.abs(comps).argmax(axis=1)])
    comps *= np.where(signs == 0, 1.0, signs)[:, None]
    return Principal(mean, comps, explained)


# --------------------------------------------------------------------------- fixed points
@dataclass(frozen=True)
class FixedPoints:
    """Distinct minima of q found by the search, lowest q first."""

    points: np.ndarray  # (K, H)
    q: np.ndarray  # (K,) 1/2 ||F(h) - h||^2 at each: ~0 for fixed points, small for slow ones
    jacobians: np.ndarray  # (K, H, H) dF/dh there
    eigenvalues: np.ndarray  # (K, H) complex, largest |lambda| first
    input: np.ndarray  # (D,) the input held fixed

    def __len__(self) -> int:
        return len(self.points)

    @property
    def spectral_radius(self) -> np.ndarray:
        """(K,) the largest |lambda| at each point: < 1 stable (attracting), > 1 unstable."""
        return np.abs(self.eigenvalues[:, 0]) if len(self) else np.zeros(0)


def speed_squared(steps: StepFunctions, h: np.ndarray, x: np.ndarray) -> np.ndarray:
    """q(h) = 1/2 ||F(h, x) - h||^2 for each row: (N,)."""
    r = steps.step(h, x) - h
    return 0.5 * np.einsum("nh,nh->n", r, r)


def minimise_q(
    steps: StepFunctions,
    starts: np.ndarray,
    x: np.ndarray,
    q_tol: float = 1e-5,
    iterations: int = 2000,
    lr: float = 1e-2,
    newton_steps: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise q from every start at once until q <= q_tol: Adam, then damped Newton.

    Adam on grad q = (J - I)^T r (r = F(h) - h, one vector-Jacobian product) moves every
    start downhill; a start stops as soon as q <= q_tol, so starts that reach a slow
    stretch of state space (an approximate line attractor) stay there instead of
    crawling along it to one exact fixed point. Starts still above q_tol then get damped
    Newton (Levenberg-Marquardt) steps: (A^T A + mu I) d = -A^T r with A = J - I, kept
    only where they lower q, which finish isolated fixed points quickly.
    Returns (h (N, H), q (N,)).
    """
    h = np.array(starts, np.float64)  # (N, H)
    N, H = h.shape
    m, v = np.zeros_like(h), np.zeros_like(h)
    beta1, beta2 = 0.9, 0.999
    q = speed_squared(steps, h, x)
    active = np.flatnonzero(q > q_tol)
    for t in range(1, iterations + 1):
        if not len(active):
            break
        ha = h[active]
        r = steps.step(ha, x) - ha  # (n, H)
        if t % 10 == 0:  # stop the starts that are slow enough
            qa = 0.5 * np.einsum("nh,nh->n", r, r)
            q[active] = qa
            moving = qa > q_tol
            active, ha, r = active[moving], ha[moving], r[moving]
        grad = steps.vector_jacobian(ha, x, r) - r  # (n, H) (J - I)^T r
        m[active] = beta1 * m[active] + (1 - beta1) * grad
        v[active] = beta2 * v[active] + (1 - beta2) * grad**2
        step_lr = lr * (0.01 ** (t / iterations))  # decays 100x over the run
        mhat, vhat = m[active] / (1 - beta1**t), v[active] / (1 - beta2**t)
        h[active] = ha - step_lr * mhat / (np.sqrt(vhat) + 1e-12)
    q = speed_squared(steps, h, x)
    active = np.flatnonzero(q > q_tol)
    mu = np.full(N, 1e-3)
    eye = np.eye(H)
    for _ in range(newton_steps):
        if not len(active):
            break
        ha = h[active]
        r = steps.step(ha, x) - ha
        A = steps.jacobian(ha, x) - eye  # (n, H, H)
        lhs = A.transpose(0, 2, 1) @ A + mu[active, None, None] * eye  # (n, H, H)
        rhs = -np.einsum("nji,nj->ni", A, r)  # (n, H) -A^T r
        try:
            trial = ha + np.linalg.solve(lhs, rhs[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            break
        q_trial = speed_squared(steps, trial, x)
        better = np.isfinite(q_trial) & (q_trial < q[active])
        h[active[better]], q[active[better]] = trial[better], q_trial[better]
        mu[active] = np.where(better, mu[active] * 0.1, mu[active] * 10.0).clip(1e-12, 1e6)
        active = active[q[active] > q_tol]
    return h, q


def merge_duplicates(points: np.ndarray, q: np.ndarray, tol: float) -> np.ndarray:
    """Indices of distinct points: lowest q first, dropping any within `tol` of a kept one."""
    order = np.argsort(q, kind="stable")
    P = points[order]
    sq = np.einsum("nh,nh->n", P, P)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * P @ P.T, 0.0))  # (N, N)
    keep = np.ones(len(P), bool)
    for i in range(len(P)):
        if keep[i]:
            later = np.arange(len(P)) > i
            keep[later & (dist[i] < tol)] = False
    return order[keep]


def find_fixed_points(
    steps: StepFunctions,
    starts: np.ndarray,
    x: np.ndarray,
    q_tol: float = 1e-5,
    merge_tol: float = 1e-2,
    iterations: int = 2000,
    lr: float = 1e-2,
    newton_steps: int = 10,
) -> FixedPoints:
    """Fixed and slow points of h -> F(h, x) from `starts` (N, H).

    Parameters
    ----------
    steps : the cell's step and Jacobian (`step_functions(model)`).
    starts : (N, H) initial states, e.g. `sample_starts(visited, ...)`.
    x : (D,) the input held fixed (`token_input`).
    q_tol : a start stops once q <= q_tol; only those are kept (fixed points have q ~ 0,
        slow points a small q).
    merge_tol : points closer than this (Euclidean) count as one.

    Returns
    -------
    FixedPoints, lowest q first, with the Jacobian and its eigenvalues at each.
    """
    x = np.asarray(x, np.float64)
    h, q = minimise_q(steps, starts, x, q_tol, iterations, lr, newton_steps)
    ok = np.isfinite(q) & (q <= q_tol) & np.all(np.isfinite(h), axis=1)
    h, q = h[ok], q[ok]
    keep = merge_duplicates(h, q, merge_tol) if len(h) else np.zeros(0, np.int64)
    points, q = h[keep], q[keep]
    H = np.shape(starts)[1]
    if len(points):
        jac = steps.jacobian(points, x)  # (K, H, H)
        eig = np.linalg.eigvals(jac)  # (K, H)
        eig = np.take_along_axis(eig, np.argsort(-np.abs(eig), axis=1, kind="stable"), axis=1)
    else:
        jac, eig = np.zeros((0, H, H)), np.zeros((0, H), complex)
    return FixedPoints(points, q, jac, eig, x)


def sample_starts(states: np.ndarray, n: int, noise: float = 0.01, seed: int = 0) -> np.ndarray:
    """(n, H) starts: visited states drawn at random, jittered by Gaussian noise."""
    rng = np.random.default_rng(seed)
    states = np.asarray(states, np.float64)
    pick = rng.choice(len(states), size=n, replace=len(states) < n)
    return states[pick] + noise * rng.standard_normal((n, states.shape[1]))


# --------------------------------------------------------------------------- readout
def readout_direction(W_out: np.ndarray, state_size: int | None = None) -> np.ndarray:
    """(H,) unit vector the answer reads: w_1 - w_0 for two classes (towards class 1);
    for C > 2 the top left singular vector of W_out with each row's mean removed
    (softmax ignores a shift shared by all classes). With a `state_size` S > H (an
    LSTM's [h, c]), padded with zeros to (S,): the head reads h only."""
    W = np.asarray(W_out, np.float64)  # (H, C)
    if W.shape[1] == 2:
        d = W[:, 1] - W[:, 0]
    else:
        u, _, _ = np.linalg.svd(W - W.mean(axis=1, keepdims=True), full_matrices=False)
        d = u[:, 0]
    norm = np.linalg.norm(d)
    d = d / norm if norm > 0 else d
    return d if state_size is None else np.pad(d, (0, state_size - len(d)))


def token_effect(
    steps: StepFunctions, states: np.ndarray, x: np.ndarray, readout: np.ndarray
) -> np.ndarray:
    """(N,) how far one step with input x moves each state along the readout."""
    states = np.asarray(states, np.float64)
    return (steps.step(states, np.asarray(x, np.float64)) - states) @ readout


# --------------------------------------------------------------------------- summary
def abs_cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(abs(a @ b) / (na * nb)) if na > 0 and nb > 0 else 0.0


@dataclass(frozen=True)
class StateSpace:
    """Everything one analysis finds (what the CLI prints and the tab draws)."""

    visited: Principal  # PCA of the visited states (3 axes)
    fixed: FixedPoints
    fixed_axes: Principal  # PCA of the fixed points (their first axis = the line)
    readout: np.ndarray  # (H,) unit readout direction
    visited_states: np.ndarray  # (M, S) the states analysed (S = 2H: an LSTM's [h, c])

    def line_eigenvalues(self) -> np.ndarray:
        """(K,) at each fixed point, the eigenvalue whose eigenvector lies most along the
        fixed points' line: ~1 on a line attractor, < 1 at an attractor's end of it,
        > 1 at a saddle between two attractors."""
        if len(self.fixed) < 2:
            return np.zeros(0)
        lam, vecs = np.linalg.eig(self.fixed.jacobians)  # (K, H), (K, H, H) columns
        along = np.abs(np.einsum("h,khj->kj", self.fixed_axes.components[0], vecs))
        along /= np.linalg.norm(vecs, axis=1)
        return lam[np.arange(len(lam)), along.argmax(axis=1)]

    def summary(self) -> dict:
        """The figures of issue 15 (plain floats and lists, for JSON), plus three that tell
        a continuous line from a few isolated points on one:

        - fixed_point_extent: the fixed points' spread along their line over the visited
          states' spread along it (~1: the line spans the states);
        - fixed_point_largest_gap: the widest empty stretch between neighbouring fixed
          points along the line, as a share of their range (small: a continuum);
        - line_eigenvalue: median of `line_eigenvalues` (real part).
        """
        mags = np.abs(self.fixed.eigenvalues[:, :2]) if len(self.fixed) else np.zeros((0, 2))
        top = [float(np.median(mags[:, k])) for k in range(mags.shape[1])] if len(mags) else []
        enough = len(self.fixed) >= 3  # two points always lie on a line
        line = self.fixed_axes.components[0]
        extent = gap = line_lambda = None
        if enough:
            spread = np.std((self.visited_states - self.visited.mean) @ line)
            position = np.sort((self.fixed.points - self.fixed_axes.mean) @ line)  # (K,)
            extent = float(np.std(position) / spread) if spread > 0 else None
            span = position[-1] - position[0]
            gap = float(np.diff(position).max() / span) if span > 0 else None
            line_lambda = float(np.median(self.line_eigenvalues().real))
        return {
            "fixed_points": len(self.fixed),
            "pc_variance": float(self.visited.explained[:3].sum()),
            "fixed_point_pc1_share": float(self.fixed_axes.explained[0]) if enough else None,
            "top_eigenvalues": top,
            "readout_alignment": abs_cos(self.readout, line) if enough else None,
            "fixed_point_extent": extent,
            "fixed_point_largest_gap": gap,
            "line_eigenvalue": line_lambda,
        }


def analyse(
    steps: StepFunctions,
    states: np.ndarray,
    W_out: np.ndarray,
    x: np.ndarray,
    starts: int = 256,
    seed: int = 0,
    previous: StateSpace | None = None,
    **search,
) -> StateSpace:
    """PCA of `states` (M, S), the fixed-point search from `starts` of them, the readout
    (padded with zeros to S when the state is an LSTM's [h, c]).

    `previous` keeps the PCA signs of an earlier frame (live views); `search` passes
    options to `find_fixed_points`.
    """
    prev_visited = previous.visited.components if previous is not None else None
    visited = principal_axes(states, 3, prev_visited)
    fixed = find_fixed_points(steps, sample_starts(states, starts, seed=seed), x, **search)
    readout = readout_direction(W_out, np.shape(states)[1])
    axes = principal_axes(fixed.points, 2)
    if len(fixed) >= 2 and axes.components[0] @ readout < 0:  # the line points to class 1
        axes = Principal(axes.mean, axes.components * np.array([[-1.0], [1.0]]), axes.explained)
    return StateSpace(visited, fixed, axes, readout, np.asarray(states, np.float64))


def analyse_model(
    model, ids: np.ndarray, token_id: int | None = None, starts: int = 256, seed: int = 0, **search
) -> StateSpace:
    """`analyse` of a classifier on padded ids (B, T), input held at [PAD] or a token."""
    states, _ = visited_states(model, ids)
    if len(states) < 2:
        raise ValueError("too few states to analyse: the texts have fewer than 2 known tokens")
    steps = step_functions(model)
    x = token_input(model, token_id)
    return analyse(steps, states, model.params["W_out"], x, starts, seed, **search)
