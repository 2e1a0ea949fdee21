"""What the classifier and the language model share: embedding -> recurrent cell -> head.

One constructor (shapes, initialisation, layers), `from_params`, `replica`, the input
checks, the embedding lookup (distinct tokens when the cell takes them) and inverted
dropout. The subclasses add their head's loss: rnnviz.model (on the last state) and
rnnviz.language_model (on every state).
"""

from __future__ import annotations

import numpy as np

from rnnviz.cells import cell_shapes, check_cell, infer_cell, make_cell
from rnnviz.dropout import dropout_mask
from rnnviz.init import init_recurrent
from rnnviz.layers import Dense, Embedding
from rnnviz.params import ParamDict

# The parameters every cell has; a cell adds its own (the GRU's b_hn) after b_h.
PARAM_NAMES = ("embedding", "W", "W_h", "b_h", "W_out", "b_out")


def param_shapes(
    vocab_size: int, embed_dim: int, hidden_size: int, out_size: int, cell: str = "rnn"
) -> dict[str, tuple[int, ...]]:
    """Every parameter's shape, in the order they lie in the flat buffer."""
    V, D, H, C = vocab_size, embed_dim, hidden_size, out_size
    return {"embedding": (V, D), **cell_shapes(cell, D, H), "W_out": (H, C), "b_out": (C,)}


class RecurrentModel:
    """Embedding (V, D) -> cell (rnn, gru or lstm; hidden size H) -> dense head (H, C).

    Parameters
    ----------
    cell : "rnn" (the seed's tanh RNN), "gru" or "lstm" (rnnviz.cells).
    mask_padding : carry the state through [PAD] steps (False: exactly torch's layer).
    dtype : np.float32 for speed, np.float64 for exact gradient checks.
    seed : seeds the initialisation (and the dropout masks).
    init : "xavier" (default), "uniform" (the seed's), or "orthogonal", per gate block.
    recurrent_gain : multiplies W_h after init (see rnnviz.init.init_recurrent).
    gate_init, t_max : a gated cell's biases, "chrono" over T_max steps or "zero".
    """

    head = "softmax"
    settings = ("cell", "mask_padding")  # what from_params and replica carry over

    def __init__(
        self,
        sizes: tuple[int, int, int, int],
        cell: str = "rnn",
        mask_padding: bool = True,
        dtype=np.float32,
        seed: int = 0,
        init: str = "xavier",
        recurrent_gain: float = 1.0,
        gate_init: str = "chrono",
        t_max: int = 100,
    ) -> None:
        self.cell = check_cell(cell)
        self.mask_padding = mask_padding
        self.params = ParamDict.allocate(param_shapes(*sizes, cell), np.dtype(dtype))
        self.grads = self.params.zeros_like()
        rng = np.random.default_rng(seed)
        init_recurrent(self.params, init, rng, recurrent_gain, gate_init, t_max)
        self._build_layers(seed)

    def _build_layers(self, seed: int = 0) -> None:
        self.embedding = Embedding(self.params, self.grads)
        self.rnn = make_cell(self.cell, self.params, self.grads)
        self.dense = Dense(self.params, self.grads)
        self.last_state: np.ndarray | None = None  # (B, S) state after the last step run
        self.rng = np.random.default_rng(seed + 7)  # dropout masks

    @classmethod
    def _from_arrays(cls, params: dict, cell: str | None, **settings):
        """A model holding copies of `params`; the cell is read from W_h when not given."""
        missing = [name for name in PARAM_NAMES if name not in params]
        if missing:
            raise ValueError(f"parameters missing: {', '.join(missing)}")
        cell = infer_cell(params) if cell is None else check_cell(cell)
        V, D = np.shape(params["embedding"])
        names = param_shapes(V, D, 1, 1, cell)
        missing = [name for name in names if name not in params]
        if missing:
            raise ValueError(f"parameters missing: {', '.join(missing)}")
        model = cls.__new__(cls)
        model.cell = cell
        for name, value in settings.items():
            setattr(model, name, value)
        model.params = ParamDict.from_arrays({name: params[name] for name in names})
        model.grads = model.params.zeros_like()
        model._build_layers()
        return model

    def replica(self):
        """A model sharing this one's parameter arrays (not copies), with its own gradient
        buffer, layer caches and dropout generator: one per thread in rnnviz.parallel."""
        twin = type(self).__new__(type(self))
        for name in self.settings:
            setattr(twin, name, getattr(self, name))
        twin.params = self.params
        twin.grads = self.params.zeros_like()
        twin._build_layers()
        twin.rng = np.random.default_rng(self.rng.integers(2**63))
        return twin

    @property
    def hidden_size(self) -> int:
        return self.params["W_h"].shape[0]

    @property
    def state_size(self) -> int:
        """Columns of a start / final state: H, or 2H for the LSTM ([h, c])."""
        return self.hidden_size * self.rnn.state_parts

    # ------------------------------------------------------------------ inputs
    def _inputs(self, ids, dropout: float = 0.0):
        """ids (B, T) -> (ids_tm (T, B), x (T, B, D) or None, distinct tokens or None).

        The cell gets the batch's distinct tokens when it takes them and that pays, else
        every position's vector. Input dropout needs the vectors; its mask is kept in
        `_keep` for backward. Bad ids raise ValueError with one clear line.
        """
        ids = np.asarray(ids)
        if ids.ndim != 2:
            raise ValueError(f"ids must be a (batch, time) array; got shape {ids.shape}")
        ids_tm = np.ascontiguousarray(ids.T)  # (T, B)
        self._keep, x, tokens = None, None, None
        try:
            if ids.size and ids.min() < 0:
                raise IndexError
            if not dropout and self.rnn.takes_tokens:
                tokens = self.embedding.distinct(ids_tm, self.hidden_size)
            if tokens is None:
                x = self.embedding.forward(ids_tm)  # (T, B, D); both raise on ids >= V
        except IndexError:
            V = self.params["embedding"].shape[0]
            found = f"{ids.min()}..{ids.max()}"
            raise ValueError(f"token ids must be in [0, {V}); got {found}") from None
        if x is not None and dropout:
            self._keep = self._dropout_mask(x.shape, dropout, x.dtype)
            if self._keep is not None:
                x = x * self._keep
        return ids_tm, x, tokens

    def _dropout_mask(self, shape: tuple, rate: float, dtype) -> np.ndarray | None:
        """Inverted dropout mask from this model's generator (rnnviz.dropout)."""
        return dropout_mask(self.rng, shape, rate, dtype)
