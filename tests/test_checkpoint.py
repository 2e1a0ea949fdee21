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


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_round_trip_of_a_gated_cell(tmp_path, cell):
    tok = Tokenizer().fit(["a b c", "d e"])
    model = RNNClassifier(tok.vocab_size, 4, 5, 2, cell=cell, seed=7)
    path = tmp_path / "m.npz"
    checkpoint.save(path, model, tok, Config(cell=cell), ["no", "yes"])
    ck = checkpoint.load(path)
    assert ck.model.cell == cell and ck.config.cell == cell
    assert set(ck.model.params) == set(model.params)
    for name, value in model.params.items():
        np.testing.assert_array_equal(ck.model.params[name], value)
    ids = np.array([[0, 2, 3, 4]])
    np.testing.assert_allclose(ck.model.predict_proba(ids), model.predict_proba(ids))


def test_a_file_from_before_gated_cells_loads_as_rnn(tmp_path):
    """No cell in the header nor in the config (as written before cells existed)."""
    import json

    path, model, _ = saved(tmp_path)
    with np.load(path) as archive:
        arrays = dict(archive)
    header = json.loads(arrays["header_json"].tobytes())
    del header["cell"], header["config"]["cell"], header["config"]["gate_init"]
    arrays["header_json"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    ck = checkpoint.load(old)
    assert ck.model.cell == "rnn" and ck.config.cell == "rnn"
    np.testing.assert_array_equal(ck.model.params["W_h"], model.params["W_h"])


def test_a_cell_that_does_not_fit_its_weights_is_refused(tmp_path):
    import json

    path, _, _ = saved(tmp_path)  # a tanh RNN's weights
    with np.load(path) as archive:
        arrays = dict(archive)
    header = json.loads(arrays["header_json"].tobytes())
    header["cell"] = "gru"
    arrays["header_json"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(CheckpointError, match=r"lacks|do not fit|missing"):
        checkpoint.load(bad)
