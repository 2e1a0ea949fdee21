"""Inverted dropout masks and word dropout, shared by the classifier and the language model."""

from __future__ import annotations

import math

import numpy as np

from rnnviz.tokenizer import PAD_ID, UNK_ID


def dropout_mask(rng: np.random.Generator, shape: tuple, rate: float, dtype) -> np.ndarray | None:
    """Inverted dropout: 0 with probability `rate`, else 1 / (1 - rate); None when rate is 0.

    One random byte per element (2.5x faster than float draws; a mask is drawn every
    step): `rate` is rounded to a multiple of 1/256, the scale uses the rounded rate.
    """
    cut = round(rate * 256)
    if cut <= 0:
        return None
    dtype = np.dtype(dtype)
    random_bytes = np.frombuffer(rng.bytes(math.prod(shape)), np.uint8)
    keep = random_bytes.reshape(shape) >= cut
    mask = np.empty(shape, dtype)
    np.multiply(keep, dtype.type(256 / (256 - cut)), out=mask)
    return mask


def word_dropout(rng: np.random.Generator, ids: np.ndarray, rate: float) -> np.ndarray:
    """A copy of ids (B, T) with each real token replaced by [UNK] with probability `rate`.

    [PAD] stays [PAD]. Training on such batches teaches the [UNK] vector what an unseen
    word means (about nothing), so texts of unseen words get answers near the prior.
    """
    if rate <= 0:
        return ids
    hit = rng.random(ids.shape) < rate  # (B, T)
    hit &= ids != PAD_ID
    return np.where(hit, UNK_ID, ids)
