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
    params: dict,
    scheme: str,
    rng: np.random.Generator,
    recurrent_gain: float = 1.0,
    gate_init: str = "chrono",
    t_max: int = 100,
) -> None:
    """Fill embedding, W, W_h, b_h (b_hn), W_out, b_out in place, for any cell.

    scheme: "uniform" (the seed's: every weight Uniform(0, 0.1)), "xavier", or
    "orthogonal" (Xavier input and output weights, orthogonal W_h), applied to each
    gate's (D, H) / (H, H) block. The embedding is always the seed's Uniform(0, 0.1)
    with a zero [PAD] row; biases start at zero, except a gated cell's with `gate_init`
    "chrono" (see `chrono_biases`; "zero" leaves them at zero).
    `recurrent_gain` scales W_h: above 1 the backward pass multiplies dL/dh_t by up to
    that much per step (exploding gradients), below 1 it shrinks them (vanishing).
    """
    params["embedding"][...] = uniform_embedding(rng, params["embedding"].shape)
    D, H = params["W"].shape[0], params["W_h"].shape[0]
    G = params["W"].shape[1] // H
    C = params["W_out"].shape[1]
    if scheme == "uniform":
        for name in ("W", "W_h", "W_out"):
            params[name][...] = rng.uniform(0.0, 0.1, size=params[name].shape)
    elif scheme in ("xavier", "orthogonal"):
        params["W"][...] = np.concatenate([xavier(rng, D, H) for _ in range(G)], axis=1)
        blocks = [
            orthogonal(rng, H) if scheme == "orthogonal" else xavier(rng, H, H) for _ in range(G)
        ]
        params["W_h"][...] = np.concatenate(blocks, axis=1)
        params["W_out"][...] = xavier(rng, H, C)
    else:
        raise ValueError(f"init must be 'uniform', 'xavier' or 'orthogonal'; got {scheme!r}")
    params["W_h"][...] *= recurrent_gain
    params["b_h"][...] = 0.0
    if "b_hn" in params:
        params["b_hn"][...] = 0.0
    params["b_out"][...] = 0.0
    if gate_init == "chrono" and G > 1:
        params["b_h"][...] = chrono_biases(G, H, t_max, rng)
    elif gate_init not in ("chrono", "zero"):
        raise ValueError(f"gate_init must be 'chrono' or 'zero'; got {gate_init!r}")


def chrono_biases(gates: int, hidden_size: int, t_max: int, rng: np.random.Generator) -> np.ndarray:
    """b_h (G*H,) of a gated cell by chrono initialisation (Tallec & Ollivier, ICLR 2018).

    The keep gate's bias is log U(1, T_max - 1): at the start each unit remembers over a
    time scale between 1 and T_max steps. GRU (r, z, n): the update gate z's bias (z
    keeps the state); LSTM (i, f, g, o): the forget gate's, and the input gate's its
    negative. Other biases are zero.
    """
    H = hidden_size
    bias = np.zeros(gates * H)
    keep = np.log(rng.uniform(1.0, max(t_max - 1.0, 1.0), size=H))
    if gates == 3:
        bias[H : 2 * H] = keep
    elif gates == 4:
        bias[H : 2 * H] = keep
        bias[:H] = -keep
    return bias
