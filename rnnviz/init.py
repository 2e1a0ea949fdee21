"""Weight initialisation schemes."""

from __future__ import annotations

import numpy as np

from rnnviz.tokenizer import PAD_ID


def uniform_embedding(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """The seed's embedding: Uniform(0, 0.1), with the [PAD] row zero."""
    weight = rng.uniform(0.0, 0.1, size=shape)
    weight[PAD_ID] = 0.0
    return weight


def xavier(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    """Glorot uniform: keeps activation variance roughly constant through a layer."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def orthogonal(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random orthogonal matrix: all singular values 1, so the recurrence neither
    shrinks nor blows up a state at initialisation."""
    q, r = np.linalg.qr(rng.standard_normal((size, size)))
    return q * np.sign(np.diag(r))


def init_recurrent(
    params: dict, scheme: str, rng: np.random.Generator, recurrent_gain: float = 1.0
) -> None:
    """Fill embedding, W, W_h, b_h, W_out, b_out in place.

    scheme: "uniform" (the seed's: every weight Uniform(0, 0.1)), "xavier", or
    "orthogonal" (Xavier input and output weights, orthogonal W_h). The embedding is
    always the seed's Uniform(0, 0.1) with a zero [PAD] row; biases start at zero.
    `recurrent_gain` scales W_h: above 1 the backward pass multiplies dL/dh_t by up to
    that much per step (exploding gradients), below 1 it shrinks them (vanishing).
    """
    params["embedding"][...] = uniform_embedding(rng, params["embedding"].shape)
    D, H = params["W"].shape
    C = params["W_out"].shape[1]
    if scheme == "uniform":
        for name in ("W", "W_h", "W_out"):
            params[name][...] = rng.uniform(0.0, 0.1, size=params[name].shape)
    elif scheme in ("xavier", "orthogonal"):
        params["W"][...] = xavier(rng, D, H)
        params["W_h"][...] = orthogonal(rng, H) if scheme == "orthogonal" else xavier(rng, H, H)
        params["W_out"][...] = xavier(rng, H, C)
    else:
        raise ValueError(f"init must be 'uniform', 'xavier' or 'orthogonal'; got {scheme!r}")
    params["W_h"][...] *= recurrent_gain
    params["b_h"][...] = 0.0
    params["b_out"][...] = 0.0
