"""gui/poll_loop.py: the event loop behind --screenshot and the profiles ends when the
check returns a code, or after the timeout with one line on stderr."""

import pytest
from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QWidget

from gui.poll_loop import poll_until

pytestmark = pytest.mark.gui


class LocalApp:
    """Stands in for the QApplication: its own event loop, so that quitting it does not
    quit the tests' application (the later tests' windows then never loaded)."""

    def __init__(self) -> None:
        self.loop = QEventLoop()

    def exec(self) -> int:
        return self.loop.exec()

    def quit(self) -> None:
        self.loop.quit()


def shown_window(qtbot) -> QWidget:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    return window


def test_the_loop_ends_with_the_code_the_check_returns(qtbot, capsys):
    window = shown_window(qtbot)
    answers = iter([None, None, 3])
    calls = []

    def poll():
        calls.append(window.isVisible())  # the window is still up while it is polled
        return next(answers)

    assert poll_until(LocalApp(), window, poll, 1, 30.0, "timed out") == 3
    assert calls == [True, True, True]
    assert not window.isVisible(), "the window is closed when the loop ends"
    assert capsys.readouterr().err == ""


def test_the_loop_gives_up_after_the_timeout(qtbot, capsys):
    window = shown_window(qtbot)
    code = poll_until(LocalApp(), window, lambda: None, 1, 0.05, "it took too long")
    assert code == 1
    assert not window.isVisible()
    assert capsys.readouterr().err == "rnnviz: it took too long\n"
