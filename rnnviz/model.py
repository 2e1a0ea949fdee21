"""The RNN text classifier: embedding -> tanh RNN -> dense head on the last state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnviz.dropout import dropout_mask
from rnnviz.init import init_recurrent
from rnnviz.layers import RNN, Dense, Embedding
from rnnviz.losses import softmax, softmax_cross_entropy, tanh_scores_to_proba, tanh_squared_error
from rnnviz.params import ParamDict
from rnnviz.tokenizer import PAD_ID

PARAM_NAMES = ("embedding", "W", "W_h", "b_h", "W_out", "b_out")


@dataclass(frozen=True)
class ForwardResult:
    hidden: np.ndarray  # (B, T, H) state after each step
    logits: np.ndarray  # (B, C) z = h_T W_out + b_out
    proba: np.ndarray  # (B, C) class probabilities (softmax; tanh head: normalised scores)
    output: np.ndarray  # (B, C) what the head outputs: softmax(z), or tanh(z)


def param_shapes(vocab_size: int, embed_dim: int, hidden_size: int, out_size: int) -> dict:
    V, D, H, C = vocab_size, embed_dim, hidden_size, out_size
    return {
        "embedding": (V, D),
        "W": (D, H),
        "W_h": (H, H),
        "b_h": (H,),
        "W_out": (H, C),
        "b_out": (C,),
    }


class RNNClassifier:
    """Classifies a padded batch of token ids from the RNN's last hidden state.

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
    """

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
    ) -> None:
        if head not in ("softmax", "tanh"):
            raise ValueError(f"head must be 'softmax' or 'tanh'; got {head!r}")
        if num_classes < 2:
            raise ValueError(f"a classifier needs at least 2 classes; got {num_classes}")
        self.head = head
        self.mask_padding = mask_padding
        shapes = param_shapes(vocab_size, embed_dim, hidden_size, num_classes)
        self.params = ParamDict.allocate(shapes, np.dtype(dtype))
        self.grads = self.params.zeros_like()
        init_recurrent(self.params, init, np.random.default_rng(seed), recurrent_gain)
        self._build_layers(seed)

    def _build_layers(self, seed: int = 0) -> None:
        self.embedding = Embedding(self.params, self.grads)
        self.rnn = RNN(self.params, self.grads)
        self.dense = Dense(self.params, self.grads)
        self.rng = np.random.default_rng(seed + 7)  # dropout masks
        self._keep = self._keep_out = None  # this batch's dropout masks, for backward

    @classmethod
    def from_params(
        cls, params: dict, head: str = "softmax", mask_padding: bool = True
    ) -> RNNClassifier:
        """A model holding copies of `params` (e.g. a snapshot's read-only arrays)."""
        missing = [name for name in PARAM_NAMES if name not in params]
        if missing:
            raise ValueError(f"parameters missing: {', '.join(missing)}")
        model = cls.__new__(cls)
        model.head, model.mask_padding = head, mask_padding
        model.params = ParamDict.from_arrays({k: params[k] for k in PARAM_NAMES})
        model.grads = model.params.zeros_like()
        model._build_layers()
        return model

    def replica(self) -> RNNClassifier:
        """A model that shares this one's parameter arrays (not copies) but has its own
        gradient buffer and layer caches: one per thread in rnnviz.parallel.BatchSplit."""
        twin = type(self).__new__(type(self))
        twin.head, twin.mask_padding = self.head, self.mask_padding
        twin.params = self.params
        twin.grads = self.params.zeros_like()
        twin._build_layers()
        twin.rng = np.random.default_rng(self.rng.integers(2**63))
        return twin

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
        ids = np.asarray(ids)
        if ids.ndim != 2:
            raise ValueError(f"ids must be a (batch, time) array; got shape {ids.shape}")
        ids_tm = np.ascontiguousarray(ids.T)  # (T, B)
        x = None
        try:
            if ids.size and ids.min() < 0:
                raise IndexError
            # Distinct tokens when the batch repeats enough of them, else (T, B, D)
            # vectors; both raise on ids >= V.
            # Input dropout needs each position's own vector: no distinct tokens then.
            tokens = (
                None if dropout else self.embedding.distinct(ids_tm, self.params["W_h"].shape[0])
            )
            if tokens is None:
                x = self.embedding.forward(ids_tm)
        except IndexError:
            V = self.params["embedding"].shape[0]
            found = f"{ids.min()}..{ids.max()}"
            raise ValueError(f"token ids must be in [0, {V}); got {found}") from None
        dtype = self.params["W"].dtype
        self._keep = self._keep_out = None
        if dropout:
            self._keep = dropout_mask(self.rng, x.shape, dropout, dtype)  # (T, B, D)
            x = x * self._keep if self._keep is not None else x
        mask = ids_tm != PAD_ID if self.mask_padding else None
        hs = self.rnn.forward(x, mask, tokens=tokens)  # (T+1, B, H)
        h_last = hs[-1]  # (B, H)
        if output_dropout:  # only what the head sees; the recurrence is intact
            self._keep_out = dropout_mask(self.rng, h_last.shape, output_dropout, dtype)
            h_last = h_last * self._keep_out if self._keep_out is not None else h_last
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
