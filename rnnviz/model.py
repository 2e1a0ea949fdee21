"""The text classifier: embedding -> recurrent cell -> dense head on the last state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.losses import softmax, softmax_cross_entropy, tanh_scores_to_proba, tanh_squared_error
from rnnviz.model_base import PARAM_NAMES, RecurrentModel, param_shapes
from rnnviz.params import ParamDict
from rnnviz.tokenizer import PAD_ID

__all__ = ["PARAM_NAMES", "ForwardResult", "RNNClassifier", "param_shapes"]


@dataclass(frozen=True)
class ForwardResult:
    hidden: np.ndarray  # (B, T, H) state after each step
    logits: np.ndarray  # (B, C) z = h_T W_out + b_out
    proba: np.ndarray  # (B, C) class probabilities (softmax; tanh head: normalised scores)
    output: np.ndarray  # (B, C) what the head outputs: softmax(z), or tanh(z)


class RNNClassifier(RecurrentModel):
    """Classifies a padded batch of token ids from the recurrent cell's last state.

    Parameters
    ----------
    vocab_size, embed_dim, hidden_size, num_classes : V, D, H, C.
    head : "softmax" (cross-entropy) or "tanh" (the seed's tanh output, squared error
        against one-hot targets).
    mask_padding : carry the state through [PAD] steps (False: exactly torch.nn.RNN on
        the padded input).
    dtype : np.float32 for speed, np.float64 for exact gradient checks.
    seed : seeds the initialisation.
    init : "xavier" (default), "uniform" (the seed's), or "orthogonal".
    recurrent_gain : multiplies W_h after init (see rnnviz.init.init_recurrent).
    cell : "rnn" (the seed's tanh RNN), "gru" or "lstm".
    gate_init, t_max : a gated cell's biases: "chrono" over t_max steps (the longest
        text, maxlen), or "zero".
    """

    settings = ("cell", "mask_padding", "head")

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_size: int,
        num_classes: int,
        head: str = "softmax",
        mask_padding: bool = True,
        dtype=np.float32,
        seed: int = 0,
        init: str = "xavier",
        recurrent_gain: float = 1.0,
        cell: str = "rnn",
        gate_init: str = "chrono",
        t_max: int = 100,
    ) -> None:
        if head not in ("softmax", "tanh"):
            raise ValueError(f"head must be 'softmax' or 'tanh'; got {head!r}")
        if num_classes < 2:
            raise ValueError(f"a classifier needs at least 2 classes; got {num_classes}")
        self.head = head
        sizes = (vocab_size, embed_dim, hidden_size, num_classes)
        super().__init__(
            sizes, cell, mask_padding, dtype, seed, init, recurrent_gain, gate_init, t_max
        )

    @classmethod
    def from_params(
        cls, params: dict, head: str = "softmax", mask_padding: bool = True, cell: str | None = None
    ) -> RNNClassifier:
        """A model holding copies of `params` (e.g. a snapshot's read-only arrays); the
        cell is read from the shapes unless given."""
        return cls._from_arrays(params, cell, head=head, mask_padding=mask_padding)

    @staticmethod
    def loss_share(ids: np.ndarray, labels: np.ndarray) -> int:
        """What the loss of these rows is a mean over (rnnviz.parallel): the rows."""
        return len(ids)

    def join_parts(self, replicas: list, outputs: list, ids, weights: list) -> np.ndarray:
        """The (B, C) outputs of the parts of a split batch, in batch order."""
        return np.concatenate(outputs)

    @property
    def sizes(self) -> tuple[int, int, int, int]:
        """(V, D, H, C)."""
        V, D = self.params["embedding"].shape
        H, C = self.params["W_out"].shape
        return V, D, H, C

    # ------------------------------------------------------------------ forward
    def _run(
        self, ids: np.ndarray, dropout: float = 0.0, output_dropout: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """ids (B, T) -> (states hs (T+1, B, H), logits (B, C)). The dropouts (training
        only) act on the input vectors and on the last state on its way to the head."""
        ids_tm, x, tokens = self._inputs(ids, dropout)  # (T, B); (T, B, D) or distinct tokens
        mask = ids_tm != PAD_ID if self.mask_padding else None
        hs = self.rnn.forward(x, mask, tokens=tokens)  # (T+1, B, H)
        h_last = hs[-1]  # (B, H)
        self._keep_out = self._dropout_mask(h_last.shape, output_dropout, h_last.dtype)
        if self._keep_out is not None:  # only what the head sees; the recurrence is intact
            h_last = h_last * self._keep_out
        z = self.dense.forward(h_last)  # (B, C)
        return hs, z

    def forward(self, ids: np.ndarray) -> ForwardResult:
        """Run the network on ids (B, T); returns states, logits and probabilities."""
        hs, z = self._run(ids)
        if self.head == "softmax":
            output = proba = softmax(z)
        else:
            output = np.tanh(z)
            proba = tanh_scores_to_proba(output)
        return ForwardResult(hs[1:].transpose(1, 0, 2), z, proba, output)

    def predict_proba(self, ids: np.ndarray) -> np.ndarray:
        """(B, C) class probabilities."""
        return self.forward(ids).proba

    def predict(self, ids: np.ndarray) -> np.ndarray:
        """(B,) most likely class per row."""
        return self.predict_proba(ids).argmax(axis=1)

    # ------------------------------------------------------------------ training
    def loss_and_grads(
        self,
        ids: np.ndarray,
        labels: np.ndarray,
        return_output: bool = False,
        dropout: float = 0.0,
        output_dropout: float = 0.0,
    ) -> tuple[float, ParamDict]:
        """Mean loss over the batch and its gradient for every parameter.

        The returned grads are the model's own buffer (same keys and shapes as
        `params`), overwritten by the next call: copy them to keep them. With
        `return_output`, a third value holds the head's (B, C) output. `dropout` drops
        this share of the input vectors' elements, `output_dropout` of the last state's
        on its way to the head (training only; masks from `self.rng`).
        """
        labels = np.asarray(labels)
        _, z = self._run(ids, dropout, output_dropout)
        if self.head == "softmax":
            loss, dz, output = softmax_cross_entropy(z, labels)
        else:
            loss, dz, output = tanh_squared_error(z, labels)
        dh_last = self.dense.backward(dz.astype(z.dtype, copy=False))  # (B, H)
        if self._keep_out is not None:
            dh_last *= self._keep_out
        d_input, _ = self.rnn.backward(dh_last=dh_last)
        if self._keep is not None:
            d_input *= self._keep  # (T, B, D)
        self.embedding.backward(d_input)
        if return_output:
            return loss, self.grads, output
        return loss, self.grads
