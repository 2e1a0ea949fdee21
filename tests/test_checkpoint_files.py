"""Where a model is saved: refused up front when it cannot be written, leftovers of
killed saves removed, and the file's mode that of a normal file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from rnnviz import RNNClassifier, Tokenizer, checkpoint
from rnnviz.checkpoint import CheckpointError
from rnnviz.config import Config


def save(path):
    tok = Tokenizer().fit(["a b c", "d e"])
    checkpoint.save(path, RNNClassifier(tok.vocab_size, 4, 5, 2), tok, Config(), ["x", "y"])


@pytest.mark.parametrize(
    "where, message",
    [
        ("{tmp}/missing/m.npz", "does not exist"),
        ("{tmp}", "is a folder"),
        ("{tmp}/sub", "is a folder"),
        ("{tmp}/file.txt/m.npz", "is not a folder"),
        ("/dev/null", "not a regular file"),
        ("/dev/full", "not a regular file"),
    ],
)
def test_places_a_model_cannot_go_are_refused(tmp_path, where, message):
    (tmp_path / "sub").mkdir()
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(CheckpointError, match=message):
        checkpoint.check_writable(where.format(tmp=tmp_path))
    with pytest.raises(CheckpointError, match=message):
        save(where.format(tmp=tmp_path))
    if where.startswith("/dev/"):
        assert stat.S_ISCHR(os.stat(where).st_mode), "the device is still a device"


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux's /sys")
def test_a_folder_nobody_may_write_in_is_refused():
    with pytest.raises(CheckpointError, match=r"cannot save to /sys/m\.npz"):
        checkpoint.check_writable("/sys/m.npz")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(CheckpointError, match="cannot save"):
            checkpoint.check_writable(folder / "m.npz")
    finally:
        folder.chmod(0o755)


def test_saved_file_has_the_mode_of_a_normal_file(tmp_path):
    old = os.umask(0o022)
    try:
        save(tmp_path / "a.npz")
        os.umask(0o077)
        save(tmp_path / "b.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.npz").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.npz").stat().st_mode) == 0o600  # umask respected
    (tmp_path / "a.npz").chmod(0o640)
    save(tmp_path / "a.npz")  # replacing a file keeps its mode, as writing over it would
    assert stat.S_IMODE((tmp_path / "a.npz").stat().st_mode) == 0o640


def test_leftovers_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    killed = tmp_path / f".m.npz.{dead}.k1ll3d_x.tmp"  # its writer is gone
    killed.write_bytes(b"half a model")
    old_style = tmp_path / ".m.npz.abcd1234.tmp"  # no pid: stale once old
    old_style.write_bytes(b"half a model")
    os.utime(old_style, (1, 1))
    live = tmp_path / f".m.npz.{os.getppid()}.alive000.tmp"  # a live process's: kept
    live.write_bytes(b"being written")
    other = tmp_path / ".other.npz.abcd1234.tmp"  # another model's: kept
    other.write_bytes(b"x")
    save(tmp_path / "m.npz")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["m.npz", live.name, other.name])
