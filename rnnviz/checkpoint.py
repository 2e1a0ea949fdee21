"""Save and load a trained model: arrays in a .npz, everything else as JSON inside it.

Written atomically (temporary file, fsync, rename: a crash never leaves half a file
under the real name) and read with `allow_pickle=False` (a model file cannot run code).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnviz.cells import cell_shapes
from rnnviz.config import Config
from rnnviz.model import PARAM_NAMES, RNNClassifier
from rnnviz.tokenizer import Tokenizer

FORMAT_NAME = "rnnviz-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A model file cannot be read or does not fit; the message says why."""


@dataclass(frozen=True)
class Checkpoint:
    model: object  # RNNClassifier (or a language model, task "lm")
    tokenizer: Tokenizer
    config: Config
    label_names: list[str]
    meta: dict = field(default_factory=dict)  # extras: maxlen, step, epoch, metrics


def save(
    path: str | os.PathLike,
    model,
    tokenizer: Tokenizer,
    config: Config,
    label_names: list[str] | None = None,
    meta: dict | None = None,
) -> None:
    """Write model + tokenizer + config to `path` (.npz), atomically."""
    path = Path(path)
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "task": config.task,
        "head": getattr(model, "head", "softmax"),
        "cell": getattr(model, "cell", "rnn"),
        "mask_padding": bool(model.mask_padding),
        "config": config.to_dict(),
        "tokenizer": tokenizer.to_dict(),
        "label_names": list(label_names or []),
        "meta": meta or {},
    }
    arrays = {f"param_{name}": np.asarray(value) for name, value in model.params.items()}
    arrays["header_json"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint; raises CheckpointError with a clear reason on any problem."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a model file")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path} is not an rnnviz model file (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "header_json" not in archive.files:
                raise CheckpointError(f"{path} is not an rnnviz model file (no header)")
            header = json.loads(archive["header_json"].tobytes().decode("utf-8"))
            arrays = {
                name[len("param_") :]: archive[name]
                for name in archive.files
                if name.startswith("param_")
            }
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise CheckpointError(f"{path} is not a readable rnnviz model file ({exc})") from None
    return _build(path, header, arrays)


def _build(path: Path, header: dict, arrays: dict) -> Checkpoint:
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is not an rnnviz model file")
    if header.get("version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} was written by a newer rnnviz (format {header['version']}); upgrade"
        )
    try:
        config = Config.from_dict(header["config"])
        tokenizer = Tokenizer.from_dict(header["tokenizer"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged settings in the model file ({exc})") from None
    missing = [name for name in PARAM_NAMES if name not in arrays]
    if missing:
        raise CheckpointError(f"{path}: model file lacks parameters {', '.join(missing)}")
    for name, value in arrays.items():
        if value.dtype.kind != "f" or not np.all(np.isfinite(value)):
            raise CheckpointError(f"{path}: parameter {name} is not finite floating point")
    V = arrays["embedding"].shape[0] if arrays["embedding"].ndim == 2 else 0
    if tokenizer.vocab_size != V:
        raise CheckpointError(
            f"{path}: embedding has {V} rows but the vocabulary has {tokenizer.vocab_size} words"
        )
    label_names = list(header.get("label_names", []))
    # Files written before gated cells name no cell: they hold the tanh RNN.
    cell = header.get("cell", config.cell)
    try:
        config = config.replace(cell=cell)
        if config.task == "lm":
            from rnnviz.language_model import RNNLanguageModel

            model = RNNLanguageModel.from_params(
                arrays, mask_padding=header["mask_padding"], cell=cell
            )
        else:
            model = RNNClassifier.from_params(
                arrays, header.get("head", "softmax"), header["mask_padding"], cell
            )
            if model.sizes[3] != len(label_names):
                raise CheckpointError(
                    f"{path}: output layer has {model.sizes[3]} classes but "
                    f"{len(label_names)} label names"
                )
        _check_shapes(model.params, cell)
    except (ValueError, KeyError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{path}: parameters do not fit together ({exc})") from None
    return Checkpoint(model, tokenizer, config, label_names, dict(header.get("meta", {})))


def _check_shapes(params: dict, cell: str) -> None:
    D = params["embedding"].shape[1]
    H = params["W_h"].shape[0]
    if params["W_h"].ndim != 2 or params["W"].ndim != 2:
        raise ValueError("W and W_h must be matrices")
    expected = cell_shapes(cell, D, H)
    if any(params[name].shape != shape for name, shape in expected.items()):
        raise ValueError(f"embedding, W, W_h and b_h shapes disagree (cell {cell})")
    if params["W_out"].shape[0] != H or params["b_out"].shape != (params["W_out"].shape[1],):
        raise ValueError("W_out and b_out shapes disagree with the hidden size")
