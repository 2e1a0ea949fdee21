"""GUI test fixtures: offscreen Qt, and a window factory that always stops its worker."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import

import pytest


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Build a MainWindow (settings in tmp_path), optionally with a corpus loaded.

    Teardown closes every window and checks that its trainer thread has ended.
    """
    from PySide6.QtCore import QSettings

    from gui.window import MainWindow
    from rnnviz.config import Config

    windows = []

    def factory(config=None, source="sample:sentiment", load=True, worker=None):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
        window = MainWindow(config or Config(epochs=0), settings, worker=worker)
        windows.append(window)
        window.show()
        if load:
            window.load_source(source)
            qtbot.waitUntil(
                lambda: window.info is not None and window.last_captured is not None, timeout=15000
            )
            qtbot.waitUntil(lambda: not window.run_setup.pending, timeout=5000)  # every view
        return window

    yield factory
    for window in windows:
        window.close()
        assert not window.workers.thread.isRunning(), "the trainer thread outlived its window"
        process = getattr(window.workers, "process", None)
        assert process is None or process.poll() is not None, "the trainer process outlived it"
