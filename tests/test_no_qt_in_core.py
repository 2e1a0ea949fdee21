"""The core never imports Qt: importing every rnnviz module loads no Qt binding."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import importlib, pkgutil, sys
import rnnviz
for info in pkgutil.walk_packages(rnnviz.__path__, "rnnviz."):
    importlib.import_module(info.name)
qt = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6")
bad = sorted(m for m in sys.modules if m.split(".")[0] in qt)
print(",".join(bad))
"""


def test_core_imports_no_qt():
    run = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "", f"rnnviz pulled in Qt modules: {run.stdout.strip()}"


def test_the_check_can_fail():
    run = subprocess.run(
        [sys.executable, "-c", "import pyqtgraph\n" + CHECK],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert "pyqtgraph" in run.stdout
