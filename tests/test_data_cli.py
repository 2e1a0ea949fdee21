"""The CLI prints the API's CorpusError message as one stderr line and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rnnviz.data import CorpusError, list_samples, load_corpus

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
    )  # fmt: skip


def bad_inputs(tmp: Path) -> dict[str, str]:
    (tmp / "empty.tsv").write_bytes(b"")
    (tmp / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp / "one.tsv").write_text("pos\tgood\npos\tgreat\n")
    (tmp / "story.txt").write_text("Once upon a time, there was a story.\nThe end.\n")
    (tmp / "nofolders").mkdir()
    return {
        "empty": str(tmp / "empty.tsv"),
        "binary": str(tmp / "image.png"),
        "one class": str(tmp / "one.tsv"),
        "plain text": str(tmp / "story.txt"),
        "missing": str(tmp / "missing.tsv"),
        "empty folder": str(tmp / "nofolders"),
        "unknown sample": "sample:nothing",
    }


def test_bad_inputs_exit_2_with_the_api_message(tmp_path):
    for what, data in bad_inputs(tmp_path).items():
        with pytest.raises(CorpusError) as info:
            load_corpus(data)
        result = run("train", "--data", data, "--epochs", "1")
        assert result.returncode == 2, (what, result.stderr)
        assert "Traceback" not in result.stderr, what
        assert result.stderr.strip().splitlines() == [f"error: {info.value}"], what


def test_samples_are_listed():
    result = run("samples")
    assert result.returncode == 0, result.stderr
    for name, _ in list_samples():
        assert f"sample:{name}" in result.stdout
