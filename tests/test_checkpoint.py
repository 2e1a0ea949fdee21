"""Checkpoints: round trip, atomic writes, no pickle, clear errors on bad files."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from rnnviz import RNNClassifier, Tokenizer, checkpoint
from rnnviz.checkpoint import CheckpointError
from rnnviz.config import Config


def saved(tmp_path, name="m.npz"):
    tok = Tokenizer().fit(["a b c", "d e"])
    model = RNNClassifier(tok.vocab_size, 4, 5, 2, head="tanh", mask_padding=False, seed=7)
    path = tmp_path / name
    checkpoint.save(path, model, tok, Config(head="tanh"), ["no", "yes"], {"maxlen": 3})
    return path, model, tok


def test_round_trip(tmp_path):
    path, model, tok = saved(tmp_path)
    ck = checkpoint.load(path)
    for name, value in model.params.items():
        np.testing.assert_array_equal(ck.model.params[name], value)
    assert ck.model.head == "tanh" and ck.model.mask_padding is False
    assert ck.tokenizer.vocab == tok.vocab and ck.label_names == ["no", "yes"]
    assert ck.config.head == "tanh" and ck.meta["maxlen"] == 3
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_loaded_without_pickle(tmp_path, monkeypatch):
    path, _, _ = saved(tmp_path)
    calls = []
    real_load = np.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    checkpoint.load(path)
    assert calls == [False]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path, _, tok = saved(tmp_path)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", explode)
    with pytest.raises(OSError):
        checkpoint.save(path, RNNClassifier(tok.vocab_size, 4, 5, 2), tok, Config(), ["a", "b"])
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b""), "not an .npz archive"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100)), "not an .npz archive"),
        (lambda p: np.savez(p, x=np.zeros(3)), "no header"),
        (lambda p: p.write_bytes(b"PK\x03\x04 truncated zip"), "not"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path, make, message):
    path = tmp_path / "bad.npz"
    make(path)
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(path)


def test_truncated_checkpoint(tmp_path):
    path, _, _ = saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        checkpoint.load(path)


def test_mismatched_shapes(tmp_path):
    path, _, _ = saved(tmp_path)
    with zipfile.ZipFile(path) as z:
        arrays = {n[:-4]: np.load(z.open(n)) for n in z.namelist()}
    arrays["param_W_h"] = np.zeros((3, 3), np.float32)
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError, match="do not fit"):
        checkpoint.load(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        checkpoint.load(tmp_path / "nope.npz")
    with pytest.raises(CheckpointError, match="folder"):
        checkpoint.load(tmp_path)
