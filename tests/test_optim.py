"""The optimisers against their textbook formulas, in float64."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import SGD, Adam, Momentum
from rnnviz.params import ParamDict


def params_and_grads(seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"a": (4, 3), "b": (3,)}
    params = ParamDict.allocate(shapes, np.float64)
    params.flat[...] = rng.normal(size=params.flat.size)
    grads = params.zeros_like()
    return params, grads, rng


@pytest.mark.parametrize("beta1", [0.9, 0.0])
def test_adam_is_the_textbook_update(beta1):
    params, grads, rng = params_and_grads()
    lr, b2, eps = 1e-2, 0.999, 1e-8
    opt = Adam(lr=lr, beta1=beta1, beta2=b2, eps=eps)
    p = params.flat.copy()
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t in range(1, 8):
        g = rng.normal(size=p.size) * 10.0 ** rng.integers(-3, 2)
        grads.flat[...] = g
        opt.step(params, grads)
        m = beta1 * m + (1 - beta1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - b2**t)
        p -= lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(params.flat, p, rtol=1e-12, atol=1e-15)


def test_adam_check_can_fail():
    params, grads, rng = params_and_grads(1)
    opt = Adam(lr=1e-2)
    p = params.flat.copy()
    g = rng.normal(size=p.size)
    grads.flat[...] = g
    opt.step(params, grads)
    wrong = p - 1e-2 * g / (np.abs(g) + 1e-8) * 1.001  # a step 0.1% too long
    assert not np.allclose(params.flat, wrong, rtol=1e-6, atol=0)


def test_sgd_and_momentum_are_the_textbook_updates():
    params, grads, rng = params_and_grads(2)
    sgd, mom = SGD(lr=0.1), Momentum(lr=0.1, momentum=0.9)
    twin = params.copy()
    p, q, vel = params.flat.copy(), params.flat.copy(), np.zeros(params.flat.size)
    for _ in range(5):
        g = rng.normal(size=p.size)
        grads.flat[...] = g
        sgd.step(params, grads)
        grads.flat[...] = g
        mom.step(twin, grads)
        p -= 0.1 * g
        vel = 0.9 * vel + g
        q -= 0.1 * vel
    np.testing.assert_allclose(params.flat, p, rtol=1e-12)
    np.testing.assert_allclose(twin.flat, q, rtol=1e-12)
