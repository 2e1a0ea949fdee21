"""Recurrent cells: the seed's tanh RNN, the GRU and the LSTM, one module each.

`rnn`, `gru` and `lstm` hold each cell in textbook form (forward and backward side by
side, the padding mask included) with the pure `step` / `step_jacobian` functions;
`rnn_fast`, `gru_fast` and `lstm_fast` (with `lstm_batch`, its batch path) hold the same
cells tuned for speed, which the models train with; all are tested equal to the textbook
cells.
"""

from __future__ import annotations

from types import ModuleType

from rnnviz.cells import gru, lstm, rnn
from rnnviz.cells.base import Cell
from rnnviz.cells.gru import GRU
from rnnviz.cells.gru_fast import FastGRU
from rnnviz.cells.lstm import LSTM
from rnnviz.cells.lstm_fast import FastLSTM
from rnnviz.cells.rnn import TanhRNN
from rnnviz.cells.rnn_fast import FastRNN

CELLS = ("rnn", "gru", "lstm")
GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # G: W is (D, G*H)
GATE_NAMES = {"rnn": (), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}
_CLASSES = {"rnn": FastRNN, "gru": FastGRU, "lstm": FastLSTM}
_MODULES = {"rnn": rnn, "gru": gru, "lstm": lstm}


def check_cell(cell: str) -> str:
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}; got {cell!r}")
    return cell


def cell_shapes(cell: str, embed_dim: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
    """The recurrent parameters' shapes, in the order they lie in the flat buffer."""
    D, H, G = embed_dim, hidden_size, GATES[check_cell(cell)]
    shapes = {"W": (D, G * H), "W_h": (H, G * H), "b_h": (G * H,)}
    if cell == "gru":
        shapes["b_hn"] = (H,)
    return shapes


def make_cell(cell: str, params: dict, grads: dict) -> Cell:
    """The training-path layer of `cell` on these parameter and gradient dicts."""
    return _CLASSES[check_cell(cell)](params, grads)


def cell_module(cell: str) -> ModuleType:
    """The module with `step(params, h, x)` and `step_jacobian(params, h, x)` of `cell`."""
    return _MODULES[check_cell(cell)]


def infer_cell(params: dict) -> str:
    """Which cell a parameter set belongs to, from W_h's shape (H, G*H)."""
    H, columns = params["W_h"].shape[0], params["W_h"].shape[-1]
    by_gates = {G: name for name, G in GATES.items()}
    G = columns // max(H, 1)
    if H == 0 or columns != G * H or G not in by_gates:
        raise ValueError(f"W_h of shape {params['W_h'].shape} fits no cell")
    return by_gates[G]


__all__ = [
    "CELLS", "GATES", "GATE_NAMES", "GRU", "LSTM", "Cell", "FastGRU", "FastLSTM", "FastRNN",
    "TanhRNN",
    "cell_module", "cell_shapes", "check_cell", "infer_cell", "make_cell",
]  # fmt: skip
