"""What every recurrent cell shares: its interface and the state bookkeeping.

A cell reads `W`, `W_h`, `b_h` (and its own extras) from the model's `params` and
writes their gradients into `grads`. Sequences are time-major:

- `forward(x (T, B, D), mask (T, B) | None, h0 (B, S) | None) -> hs (T+1, B, H)`,
  hs[0] the start state's h and hs[t+1] the state after step t; caches what backward
  needs. S is the size of the whole state: H, or 2H for the LSTM ([h, c]).
- `backward(dh_seq (T, B, H) | None, dh_last (B, H) | None) -> (dx (T, B, D), dh0 (B, S))`
  fills the gradients.
- `final_state() -> (B, S)`: the state after the last step (a language model carries it
  into the next window).

Each cell module also has the pure functions `step(params, h, x)` (one step of an
(N, S) batch of states on one input vector (D,)) and `step_jacobian(params, h, x)`
(dh'/dh, (N, S, S)), for sampling and for finding fixed points; the gated cells also
`step_vjp(params, h, x, v)` (v^T dh'/dh, (N, S), without the Jacobian).
"""

from __future__ import annotations

import sys

import numpy as np


def sigmoid(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-a)) written as (1 + tanh(a / 2)) / 2: never overflows."""
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


class OneRowRows:
    """What the one-row paths (B = 1) keep between calls: rows [x_t, h_{t-1}, 1] (T+1,
    D+H+1), so that input, bias and recurrent side are one matmul a step, and h_t is
    written into the next row; plus a subclass's arrays and per-step views of them.

    At the interactive size a step costs a few NumPy calls of ~0.5 us, and making the
    views costs about as much again: they are made once per length T and kept. A cell
    reuses them while nothing outside holds the rows or a view of them (the states it
    returned, say): `in_use` compares the reference count with the one `_seal` took once
    the subclass had made its views.
    """

    def __init__(self, steps: int, embed_dim: int, hidden_size: int, dtype) -> None:
        T, D, H = steps, embed_dim, hidden_size
        self.made_for = (T, D, H, dtype)  # what fits() compares
        self.rows = np.empty((T + 1, D + H + 1), dtype)  # row t: [x_t, h_{t-1}, 1]
        self.rows[:, D + H] = 1.0
        self._refs = 0

    def _seal(self) -> None:
        """Take the reference count of the rows with all the subclass's views made (and
        no local names of its own left holding them)."""
        self._refs = sys.getrefcount(self.rows)

    def fits(self, steps: int, embed_dim: int, hidden_size: int, dtype) -> bool:
        return self.made_for == (steps, embed_dim, hidden_size, dtype)

    def in_use(self) -> bool:
        """Whether anything beyond these buffers' own views refers to them."""
        return sys.getrefcount(self.rows) != self._refs


class Cell:
    """Base of the cells: parameters, gradient-flow recording, state helpers."""

    gates = 1  # G: W is (D, G*H)
    takes_tokens = False  # whether forward accepts the input as distinct tokens
    state_parts = 1  # the state is [h] (1) or [h, c] (2)

    def __init__(self, params: dict, grads: dict) -> None:
        self.params, self.grads = params, grads
        # When True, backward also records ||dL/dh_t|| for every step (gradient flow
        # through time) in `state_grad_norms` (T,); off by default: it costs a copy a step.
        self.track_state_grads = False
        self.state_grad_norms: np.ndarray | None = None
        self.state_grad_squares: np.ndarray | None = None  # (T, B) ||dL/dh_t||^2 per sequence

    @property
    def hidden_size(self) -> int:
        return self.params["W_h"].shape[0]

    def start_state(self, h0: np.ndarray | None, B: int) -> list[np.ndarray]:
        """The start state's parts, each (B, H) (zeros when h0 is None)."""
        H, dtype = self.hidden_size, self.params["W"].dtype
        if h0 is None:
            return [np.zeros((B, H), dtype) for _ in range(self.state_parts)]
        h0 = np.asarray(h0, dtype)
        if h0.shape[-1] != H * self.state_parts:
            raise ValueError(f"the start state must have {H * self.state_parts} columns")
        return [
            np.broadcast_to(h0[..., k * H : (k + 1) * H], (B, H)) for k in range(self.state_parts)
        ]

    def final_state(self) -> np.ndarray:
        return self.hs[-1]  # (B, H)

    def _record(self, seen: np.ndarray | None) -> None:
        if seen is not None:
            self.state_grad_squares = np.einsum("tbh,tbh->tb", seen, seen)  # (T, B)
            self.state_grad_norms = np.sqrt(self.state_grad_squares.sum(axis=1))  # (T,)
