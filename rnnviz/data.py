"""Corpus loading: formats, encodings, built-in samples, and splits."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class CorpusError(ValueError):
    """A corpus cannot be used; the message says what is wrong and where."""


@dataclass(frozen=True)
class Corpus:
    texts: list[str]
    labels: np.ndarray  # (N,) int64 class ids; empty for plain text
    label_names: list[str]  # label_names[i] is the name of class i
    source: str  # where it came from: a path or "sample:NAME"
    warnings: list[str] = field(default_factory=list)
    format: str = ""  # detected or requested format

    @property
    def num_classes(self) -> int:
        return len(self.label_names)


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int):
    """Indices (train, val), each class split in the same proportion, from a seed."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, val = [], []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        n_val = int(round(len(idx) * val_fraction))
        if val_fraction > 0 and len(idx) > 1:
            n_val = min(max(n_val, 1), len(idx) - 1)
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    train_idx = np.sort(np.concatenate(train)) if train else np.zeros(0, np.int64)
    val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, np.int64)
    return train_idx, val_idx
