"""The slices of a run's data that the insight views keep (copied where the trainer lives)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_VAL_ROWS = 2000  # validation rows kept for the errors view
SAMPLE_ROWS = 300  # training rows kept for "tokens that drive a unit"


@dataclass(frozen=True)
class EvalData:
    """Copies of the validation split and a training sample (never live arrays)."""

    val_ids: np.ndarray  # (N, T)
    val_labels: np.ndarray  # (N,)
    val_texts: list[str]
    sample_ids: np.ndarray  # (S, T) an even sample of the training rows
    sample_labels: np.ndarray  # (S,)


def eval_data(trainer) -> EvalData | None:
    """Copy what the views need from a classifier's trainer (None for other trainers)."""
    if not hasattr(trainer, "val_labels") or not hasattr(trainer, "train_labels"):
        return None
    n = min(len(trainer.val_ids), MAX_VAL_ROWS)
    rows = np.linspace(0, len(trainer.train_ids) - 1, min(SAMPLE_ROWS, len(trainer.train_ids)))
    rows = np.unique(rows.astype(np.int64))
    return EvalData(
        val_ids=np.array(trainer.val_ids[:n]),
        val_labels=np.array(trainer.val_labels[:n]),
        val_texts=list(trainer.val_texts[:n]),
        sample_ids=np.array(trainer.train_ids[rows]),
        sample_labels=np.array(trainer.train_labels[rows]),
    )
