"""`pip install .` gives an `rnnviz` command and ships the samples: checked on the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_has_the_command_the_packages_and_the_samples(tmp_path):
    setuptools = pytest.importorskip("setuptools", reason="building the wheel needs setuptools")
    major, minor = (int(part) for part in setuptools.__version__.split(".")[:2])
    if (major, minor) < (70, 1):  # older ones need the separate `wheel` package
        pytest.importorskip("wheel", reason="setuptools < 70.1 builds wheels only with `wheel`")
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path / "src"
    junk = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".*cache")
    shutil.copytree(ROOT, source, ignore=junk)
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    (wheel,) = tmp_path.glob("rnnviz-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "main.py",
        "rnnviz/trainer.py",
        "rnnviz/samples/sentiment.tsv",
        "rnnviz/samples/shakespeare.txt",
        "gui/app.py",
        "gui/panels/curves.py",
        "gui/resources/rnnviz.png",
        "rnnviz/lessons/vanishing-gradients.toml",
        "rnnviz-0.1.0.data/data/share/applications/rnnviz.desktop",
        "rnnviz-0.1.0.data/data/share/icons/hicolor/256x256/apps/rnnviz.png",
    ):
        assert required in names, f"{required} missing from the wheel"
    assert not any(name.startswith("tests/") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "rnnviz = main:main" in text
