"""Save and load a trained model: arrays in a .npz, everything else as JSON inside it.

Written atomically (temporary file, fsync, rename: a crash never leaves half a file
under the real name) and read with `allow_pickle=False` (a model file cannot run code).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
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
    check_writable(path)
    mode = _file_mode(path)
    # The writer's pid in the name tells a later save whether a leftover is still live.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp",
                               dir=path.parent)  # fmt: skip
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fchmod(f.fileno(), mode)  # mkstemp makes 0600; a saved model is a normal file
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _remove_stale_temporaries(path)


def check_writable(path: str | os.PathLike) -> None:
    """Raise CheckpointError (one line) unless a model can be saved at `path`: its
    folder exists and takes new files, and `path` is not a folder or a device. Called
    before training, so a bad --save never throws a trained model away."""
    path = Path(path)
    if path.name in ("", ".", ".."):
        raise CheckpointError(f"{path} is a folder; give a file name such as model.npz")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder; give a file name such as {path / 'model.npz'}")
    if path.exists() and not path.is_file():
        raise CheckpointError(
            f"{path} is not a regular file (a device or a pipe); give a file name"
        )
    folder = path.parent
    if not folder.exists():
        raise CheckpointError(f"cannot save to {path}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise CheckpointError(f"cannot save to {path}: {folder} is not a folder")
    try:  # the only sure test: create (and remove) a file there
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as e:
        raise CheckpointError(f"cannot save to {path}: {e.strerror or e}") from None
    os.close(fd)
    os.unlink(probe)


def _file_mode(path: Path) -> int:
    """The mode a new file would get (0666 less the umask), or the replaced file's."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        pass
    umask = _umask()
    return 0o666 & ~umask


def _umask() -> int:
    try:  # Linux says it without changing it
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


STALE_SECONDS = 600  # a leftover whose writer cannot be told apart is stale after this


def _remove_stale_temporaries(path: Path) -> None:
    """Delete `.NAME.<pid>.*.tmp` files that saves killed mid-write left beside `path`:
    those whose writer process is gone (or, without a pid, untouched for a while)."""
    prefix = f".{path.name}."
    try:
        leftovers = [p for p in path.parent.iterdir()
                     if p.name.startswith(prefix) and p.name.endswith(".tmp")]  # fmt: skip
    except OSError:
        return
    for p in leftovers:
        pid = p.name[len(prefix) :].split(".", 1)[0]
        try:
            if pid.isdigit() and int(pid) != os.getpid():
                if _process_alive(int(pid)):
                    continue
            elif time.time() - p.lstat().st_mtime < STALE_SECONDS:  # perhaps another thread's
                continue
            if p.is_file() and not p.is_symlink():
                p.unlink()
        except OSError:
            continue


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


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
