"""Immutable views of a training run, handed from the trainer to whoever watches it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def frozen_copy(array: np.ndarray) -> np.ndarray:
    """A read-only copy: a snapshot never shares memory with live model arrays."""
    out = np.array(array, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class Snapshot:
    """The state of a run right after one training step.

    Scalars are always present. The arrays (`params`, `grads`, `probe_hidden`,
    `probe_ids`) are filled only when the step was asked to capture them
    (`trainer.step(capture=True)`); they are read-only copies.
    """

    step: int  # optimisation steps done so far (1 after the first step)
    epoch: int  # completed passes over the training data
    epoch_progress: float  # fraction of the current epoch done, 0..1
    loss: float  # training loss of this step's batch (mean over the batch)
    accuracy: float  # batch accuracy (classify) or next-token accuracy (lm)
    lr: float  # learning rate used for this step
    grad_norms: dict[str, float]  # L2 norm of each parameter's gradient, before clipping
    grad_norm: float  # global gradient norm before clipping
    clipped: bool  # whether clipping changed the gradient this step
    tokens: int  # real (non-PAD) tokens processed in this step
    seconds: float  # wall-clock seconds spent in training steps so far
    val_loss: float | None = None  # set on steps that ran a validation pass
    val_accuracy: float | None = None
    best_val_loss: float | None = None  # best validation loss so far
    finished: bool = False  # the run reached its epoch budget or early-stopping point
    stop_reason: str = ""  # why it finished ("epochs", "early stopping", "non-finite loss")
    diverged: bool = False  # the loss became NaN/inf or exploded: paused, with advice
    params: dict[str, np.ndarray] = field(default_factory=dict)  # read-only copies
    grads: dict[str, np.ndarray] = field(default_factory=dict)  # read-only copies (clipped)
    probe_ids: np.ndarray | None = None  # (P, T) token ids of the probe batch
    probe_hidden: np.ndarray | None = None  # (P, T, H) hidden states of the probe batch
    probe_proba: np.ndarray | None = None  # (P, C) class probabilities of the probe batch
    state_grad_norms: np.ndarray | None = None  # (T,) ||dL/dh_t|| of this step's batch
    cell_grad_norms: np.ndarray | None = None  # (T,) ||dL/dc_t|| (LSTM) of this step's batch
    cell: str = "rnn"  # the recurrent cell: "rnn", "gru" or "lstm"
    probe_cells: np.ndarray | None = None  # (P, T, H) the LSTM's cell states c_t of the probe
    probe_gates: np.ndarray | None = None  # (P, T, G*H) a gated cell's gates of the probe
    #                                        (GRU r, z, n; LSTM i, f, g, o; see rnnviz.cells)

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.loss))
