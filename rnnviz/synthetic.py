"""Synthetic sequence tasks that make a recurrent network's memory visible.

Each task draws `n` sequences of `length` space-separated word tokens from a seeded
NumPy Generator (vectorised: 10k sequences take milliseconds) and returns a Corpus.

- parity: "0 1 1 0 1" -> even / odd number of ones. Every token matters.
- order: filler letters with one "x" and one "y" -> x_first / y_first.
- recall: the first token (a, b, c or d) followed by `length - 1` distractors; the
  label is the first token. A vanilla RNN must carry it across every step, so it
  learns short sequences and fails as `length` grows (vanishing gradients).
"""

from __future__ import annotations

import numpy as np

from rnnviz.corpus import Corpus, CorpusError

DEFAULTS = {  # task -> default parameters
    "parity": {"n": 2000, "length": 8, "seed": 0},
    "order": {"n": 2000, "length": 12, "seed": 0},
    "recall": {"n": 2000, "length": 10, "seed": 0},
}
MAX_N = 1_000_000
MAX_LENGTH = 10_000
FILLER = np.array(list("abcdefgh"))  # order task: tokens around x and y
RECALL_KEYS = np.array(list("abcd"))  # recall task: what must be remembered
RECALL_NOISE = np.array(list("pqrstuvw"))  # recall task: distractors


def _join(tokens: np.ndarray) -> list[str]:
    """Rows of single-character tokens (N, L) -> "t t t" strings, without a Python loop."""
    n, length = tokens.shape
    codes = np.full((n, 2 * length - 1), ord(" "), np.uint8)
    codes[:, ::2] = tokens.astype("S1").view(np.uint8).reshape(n, length)
    return np.ascontiguousarray(codes).view(f"S{2 * length - 1}").ravel().astype(str).tolist()


def parity(n: int = 2000, length: int = 8, seed: int = 0) -> Corpus:
    """Bit strings labelled by the parity of their number of ones."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n, length))  # (N, L)
    labels = (bits.sum(axis=1) % 2).astype(np.int64)
    texts = _join(np.array(["0", "1"])[bits])
    source = f"sample:parity?n={n}&length={length}&seed={seed}"
    return Corpus(texts, labels, ["even", "odd"], source, [], "synthetic")


def order(n: int = 2000, length: int = 12, seed: int = 0) -> Corpus:
    """Filler letters with one x and one y at random places: which comes first?"""
    rng = np.random.default_rng(seed)
    tokens = FILLER[rng.integers(0, len(FILLER), size=(n, length))]  # (N, L)
    pos_x = rng.integers(0, length, size=n)
    pos_y = (pos_x + rng.integers(1, length, size=n)) % length  # distinct from pos_x
    rows = np.arange(n)
    tokens[rows, pos_x] = "x"
    tokens[rows, pos_y] = "y"
    labels = (pos_y < pos_x).astype(np.int64)  # 0: x first, 1: y first
    source = f"sample:order?n={n}&length={length}&seed={seed}"
    return Corpus(_join(tokens), labels, ["x_first", "y_first"], source, [], "synthetic")


def recall(n: int = 2000, length: int = 10, seed: int = 0) -> Corpus:
    """A key token then `length - 1` distractors; the label is the key."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(RECALL_KEYS), size=n).astype(np.int64)
    tokens = RECALL_NOISE[rng.integers(0, len(RECALL_NOISE), size=(n, length))]  # (N, L)
    tokens[:, 0] = RECALL_KEYS[labels]
    source = f"sample:recall?n={n}&length={length}&seed={seed}"
    return Corpus(_join(tokens), labels, RECALL_KEYS.tolist(), source, [], "synthetic")


TASKS = {"parity": parity, "order": order, "recall": recall}


def make(task: str, params: dict[str, str] | None = None) -> Corpus:
    """Build a task from string parameters (as parsed from "sample:NAME?k=v&k=v")."""
    values = dict(DEFAULTS[task])
    for key, raw in (params or {}).items():
        if key not in values:
            raise CorpusError(f"sample:{task}: unknown parameter {key!r}; use {', '.join(values)}")
        try:
            values[key] = int(raw)
        except ValueError:
            raise CorpusError(f"sample:{task}: {key} must be a whole number; got {raw!r}") from None
    low = 2 if task == "order" else 1
    if not low <= values["length"] <= MAX_LENGTH:
        raise CorpusError(f"sample:{task}: length must be in {low}..{MAX_LENGTH}")
    if not 2 <= values["n"] <= MAX_N:
        raise CorpusError(f"sample:{task}: n must be in 2..{MAX_N}")
    return TASKS[task](**values)
