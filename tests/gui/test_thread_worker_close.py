"""RNNVIZ_WORKER=thread: closing the window during a slow step ends the app cleanly."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.gui

SCRIPT = """
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from rnnviz.config import Config
from rnnviz.trainer import Trainer

step = Trainer.step
def slow_step(self, *args, **kwargs):  # a step as slow as a huge hidden size makes it
    time.sleep(3.0)
    return step(self, *args, **kwargs)

app = QApplication([])
from gui.window import MainWindow
window = MainWindow(Config(epochs=0), QSettings(sys.argv[1], QSettings.IniFormat), "thread")
window.show()
window.load_source("sample:sentiment")

def poll():
    if window.info is not None and not hasattr(poll, "started"):
        poll.started = True
        Trainer.step = slow_step
        window.start()
        QTimer.singleShot(300, window.close)  # mid-step
        QTimer.singleShot(300, app.quit)

timer = QTimer()
timer.timeout.connect(poll)
timer.start(20)
app.exec()
print("closed", flush=True)
"""


def test_closing_during_a_slow_step_in_thread_mode_exits_cleanly(tmp_path):
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "settings.ini")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "QThread: Destroyed" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]
    assert "closed" in done.stdout
