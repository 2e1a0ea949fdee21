"""Run the event loop until a check says it is done: the one loop behind --screenshot,
--profile-ui and --profile-load, which each drive the window from a timer and read it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QTimer


def poll_until(
    app, window, poll: Callable[[], int | None], interval_ms: int, timeout: float, timed_out: str
) -> int:
    """Call `poll` every `interval_ms` in `app`'s event loop until it returns an exit code.

    The window is then closed and the loop left; returns that code. After `timeout`
    seconds the `timed_out` line goes to stderr and the code is 1.
    """
    deadline = time.monotonic() + timeout
    outcome = {"code": 1}

    def tick() -> None:
        if time.monotonic() > deadline:
            print(f"rnnviz: {timed_out}", file=sys.stderr)
            code = 1
        else:
            code = poll()
        if code is None:
            return
        outcome["code"] = code
        timer.stop()
        window.close()
        app.quit()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(interval_ms)
    app.exec()
    return outcome["code"]
