"""The Qt host of a training session on a QThread: commands in as queued slots, the
session's events out as signals.

The session (rnnviz/session.py) owns the trainer, describes the run, captures the
snapshots and trains in time slices of ~25 ms; this QObject lives on its own thread,
turns each of the session's events into the signal of the same name, and re-posts the
next slice with `QTimer.singleShot(0, ...)` so that commands (pause, live changes,
stop) are handled in between. The GUI never touches the trainer.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from rnnviz.config import Config
from rnnviz.run_info import EvalData, Frame, RunInfo  # noqa: F401 (the window's names)
from rnnviz.session import (  # noqa: F401 (names this module has always offered)
    BUSY,
    EVENTS,
    FRAME_SECONDS,
    RATE_WINDOW,
    SLICE_SECONDS,
    Session,
)
from rnnviz.trainers import make_trainer  # noqa: F401

STEP_GRACE_SECONDS = 120.0  # closing: how long to wait on for a step still running

# Request signal of a worker host -> the Session command (and TrainingWorker slot) it calls.
COMMANDS = {
    "load_requested": "load",
    "reset_requested": "reset",
    "start_requested": "start",
    "pause_requested": "pause",
    "step_requested": "step",
    "update_requested": "update",
    "save_requested": "save",
    "load_checkpoint_requested": "load_checkpoint",
    "probe_requested": "set_probe",
}


# One signal per session event (rnnviz.session.EVENTS), declared at class creation as Qt
# needs; the process host's proxy (gui/process_worker.py) is built from the same table.
_Signals = type("_Signals", (QObject,), {n: Signal(*t) for n, t in EVENTS.items()})


class TrainingWorker(_Signals):
    """Lives on its own thread; every slot runs there and hands over to the session."""

    def __init__(self) -> None:
        super().__init__()
        self.session = Session(self._emit)
        self._scheduled = False

    def _emit(self, event: str, *args) -> None:
        getattr(self, event).emit(*args)

    # -- what the window and tests read --------------------------------------------------
    @property
    def trainer(self):
        return self.session.trainer

    @property
    def running(self) -> bool:
        return self.session.running

    @property
    def _steps_done(self) -> int:  # steps trained (what --profile-ui counts)
        return self.session.steps_done

    @property
    def step_budget(self) -> int | None:
        return self.session.step_budget

    @step_budget.setter
    def step_budget(self, value: int | None) -> None:
        self.session.step_budget = value

    def request_stop(self) -> None:
        """Ask the loop to end after the current step (plain flag: safe from any thread)."""
        self.session.stop()

    # -- slots (queued from the GUI thread) ----------------------------------------------
    @Slot(str, object)
    def load(self, source: str, config: Config) -> None:
        self.session.load(source, config)

    @Slot(object)
    def reset(self, config: Config) -> None:
        self.session.reset(config)

    @Slot(str)
    def load_checkpoint(self, path: str) -> None:
        self.session.load_checkpoint(path)

    @Slot(str)
    def save(self, path: str) -> None:
        self.session.save(path)

    @Slot()
    def start(self) -> None:
        self.session.start()
        self._schedule()

    @Slot()
    def pause(self) -> None:
        self.session.pause()

    @Slot()
    def step(self) -> None:
        self.session.step()

    @Slot(dict)
    def update(self, changes: dict) -> None:
        self.session.update(changes)

    @Slot(object)
    def set_probe(self, ids) -> None:
        self.session.set_probe(ids)

    step_once, update_config = step, update  # their names before the session

    # -- the loop ------------------------------------------------------------------------
    def _schedule(self) -> None:
        if self.session.running and not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self._run_slice)

    @Slot()
    def _run_slice(self) -> None:
        self._scheduled = False
        if self.session.run_slice():
            self._schedule()


class WorkerCommands(QObject):
    """The commands the window sends to wherever the trainer lives (see COMMANDS)."""

    load_requested = Signal(str, object)
    reset_requested = Signal(object)
    start_requested = Signal()
    pause_requested = Signal()
    step_requested = Signal()
    update_requested = Signal(dict)
    save_requested = Signal(str)
    load_checkpoint_requested = Signal(str)
    probe_requested = Signal(object)


class WorkerThread(WorkerCommands):
    """Owns the QThread and the worker; sends commands as queued signals."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("rnnviz-trainer")
        self.worker = TrainingWorker()
        self.worker.moveToThread(self.thread)
        for signal_name, slot in COMMANDS.items():
            getattr(self, signal_name).connect(getattr(self.worker, slot))
        self.thread.start()

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop the loop, end the thread and wait for it. True when it ended in time.

        A step cannot be interrupted, and a QThread destroyed while it runs aborts the
        whole process: past `timeout_ms` this waits on for the step to end (up to
        STEP_GRACE_SECONDS); a thread stuck even longer is left to the process's exit.
        """
        if not self.thread.isRunning():
            return True
        self.worker.request_stop()
        self.thread.quit()
        if self.thread.wait(timeout_ms):
            return True
        if not self.thread.wait(int(STEP_GRACE_SECONDS * 1000)):
            _leave_to_exit(self.thread, self.worker)
        return False


_STUCK: list = []  # threads still in a step at shutdown: never destroyed while running


def _leave_to_exit(thread: QThread, worker: QObject) -> None:
    """Keep a stuck thread alive, and end the process without destroying it."""
    import atexit
    import os
    import sys

    if not _STUCK:
        atexit.register(lambda: (sys.stdout.flush(), sys.stderr.flush(), os._exit(0)))
    print("rnnviz: a training step did not end; exiting without it", file=sys.stderr)
    _STUCK.append((thread, worker))
