"""Finite-difference gradient checking, shared by the model tests."""

from __future__ import annotations

import numpy as np


def numerical_grad(loss_fn, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of loss_fn() with respect to every element of `array` (in place)."""
    grad = np.zeros_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = loss_fn()
        flat[i] = old - eps
        minus = loss_fn()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max |a - n| / max(|a| + |n|) over the array: scale-free, safe near zero."""
    scale = np.maximum(np.abs(analytic).max(), np.abs(numeric).max())
    if scale == 0:
        return 0.0
    return float(np.abs(analytic - numeric).max() / scale)
