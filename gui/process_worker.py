"""The training session in a child process, behind the same interface as `WorkerThread`.

Why a process: at the sizes people watch, a training step is a few hundred
microseconds of mostly Python, so a trainer on a QThread needs the GIL nearly all the
time, and every millisecond the GUI thread spends drawing (pyqtgraph is Python too) is
a millisecond the trainer waits, and the other way round. In a child process the two
share no GIL: the trainer keeps one core, the window the other.

The child runs the very same `Session` (rnnviz/session.py) with no Qt at all
(rnnviz/session_process.py): commands arrive over one pipe, the session's events leave
over another. In the window a `WorkerProxy` re-emits them as Qt signals on the GUI
thread, so the window and panels cannot tell the two hosts apart.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal

from gui.history import COLUMNS, DecimatedHistory
from gui.worker import COMMANDS, WorkerCommands, WorkerThread
from rnnviz.session import EVENTS
from rnnviz.session_process import (  # noqa: F401 (child_entry: the child's entry point)
    PARENT_ENV,
    PARENT_POLL_SECONDS,
    UP_EVENT,
    child_entry,
    receive_event,
    send_event,
    watch_parent,
)

RESTART_LIMIT = 3  # children that die before they are up, in a row: give up
BACKOFF_SECONDS = 0.25  # wait before the n-th restart in a row: this x 2**(n-1) ...
MAX_BACKOFF_SECONDS = 8.0  # ... at most this
STABLE_SECONDS = 20.0  # a child that lived this long resets the count of deaths in a row

SIGNALS = EVENTS
# The proxy carries exactly the session's events (declared at class creation, as Qt needs).
_ProxyBase = type("_ProxyBase", (QObject,), {n: Signal(*t) for n, t in SIGNALS.items()})


class WorkerProxy(_ProxyBase):
    """Stands in the window for the session's host that lives in the child process."""

    def __init__(self, owner: ProcessWorkerThread) -> None:
        super().__init__()
        self._owner = owner
        self.running = False
        self._steps_done = 0  # steps reported in frames (what --profile-ui counts)
        self._step_budget: int | None = None
        self.running_changed.connect(self._on_running)
        self.snapshot_ready.connect(self._on_frame)

    @property
    def step_budget(self) -> int | None:
        return self._step_budget

    @step_budget.setter
    def step_budget(self, value: int | None) -> None:
        self._step_budget = value
        self._owner.send("set_attribute", ("step_budget", value))

    def _on_running(self, running: bool) -> None:
        self.running = running

    def _on_frame(self, frame) -> None:
        self._steps_done += len(frame.rows)


class _Reader(QThread):
    """Blocks on the event pipe and hands each message to the GUI thread."""

    received = Signal(str, tuple)
    ended = Signal()  # the pipe closed: the child exited (or was told to)

    def __init__(self, connection: Connection) -> None:
        super().__init__()
        self.setObjectName("rnnviz-trainer-events")
        self.connection = connection

    def run(self) -> None:
        while True:
            try:
                name, args = receive_event(self.connection)
            except (EOFError, OSError):
                self.ended.emit()
                return
            self.received.emit(name, args)


class ProcessWorkerThread(WorkerCommands):
    """Same surface as gui.worker.WorkerThread, with the trainer in a child process.

    Commands are the same signals; `worker` is a WorkerProxy carrying the worker's
    signals. If the child dies (a crash, the OOM killer, kill -9), a new one is started
    after a back-off that grows with each death in a row, the last corpus is loaded
    again with the latest settings, and the run goes on where it was: the weights of the
    last captured snapshot, the optimiser's moments of the child's last resume state
    (at most RESUME_SECONDS older), and the curves drawn so far (kept here, decimated).
    A crash loses at most the steps since that snapshot. A child that dies
    before it says it is up, RESTART_LIMIT times in a row, cannot start: that is
    reported and every later command is answered with that message.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._closed = False
        self._shut = False  # shutdown() was called: no more children
        self.failed = ""  # why no child can run (given up); "" while one can
        self._deaths = 0  # children that died in a row, each soon after it started
        self._silent_deaths = 0  # ... of them before saying they were up
        self._up = False  # the current child said it is up
        self._loading = False  # a load was sent and has not been answered yet
        self._last_load: tuple | None = None  # (source, config) to replay in a new child
        self._weights: tuple | None = None  # (params, step, epoch) of the last captured frame
        self._resume: dict | None = None  # the child's last trainer.resume_state()
        self._curves = (DecimatedHistory(), DecimatedHistory())  # train, validation rows
        self._restore: tuple | None = None  # (state, rows, val_rows) sent to a new child ...
        self._restore_infos = 0  # ... confirmed after this many more info_ready events
        self.child_qt_modules: list[str] | None = None  # Qt modules the child loaded
        self.worker = WorkerProxy(self)
        self.worker.snapshot_ready.connect(self._remember_weights)
        self.worker.info_ready.connect(self._on_info)
        self.worker.resume_ready.connect(self._remember_resume)
        for name in ("info_ready", "load_failed", "plain_text_found"):
            getattr(self.worker, name).connect(self._on_load_answered)
        self._spawn()
        for signal_name, slot in COMMANDS.items():
            getattr(self, signal_name).connect(lambda *args, _slot=slot: self.send(_slot, args))

    def _spawn(self) -> None:
        # A fresh interpreter (not multiprocessing's spawn, which would re-run the
        # parent's __main__), talking over two socket pairs: commands in, events out.
        cmd_parent, cmd_child = socket.socketpair()
        evt_parent, evt_child = socket.socketpair()
        package_root = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        env[PARENT_ENV] = str(os.getpid())
        fds = (cmd_child.fileno(), evt_child.fileno())
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", f"import rnnviz.session_process as m; m.child_entry{fds}"],
                pass_fds=fds,
                env=env,
                stdin=subprocess.DEVNULL,
            )
        finally:
            cmd_child.close()
            evt_child.close()
        self._commands = Connection(cmd_parent.detach())
        self._events = Connection(evt_parent.detach())
        self._spawned_at = time.monotonic()
        self._up = False
        self.reader = self.thread = _Reader(self._events)  # `thread`: as WorkerThread has
        self.reader.received.connect(self._dispatch)
        self.reader.ended.connect(self._on_child_ended)
        self.reader.start()
        if self.worker.step_budget is not None:
            self.send("set_attribute", ("step_budget", self.worker.step_budget))

    def send(self, command: str, args: tuple = ()) -> None:
        """Queue a command for the child (never blocks on the trainer)."""
        if self.failed:
            self._refuse(command)
            return
        if self._closed:
            return
        self._remember(command, args)
        with contextlib.suppress(OSError):  # the child is gone: _on_child_ended restarts it
            self._commands.send((command, tuple(args)))

    def _remember(self, command: str, args: tuple) -> None:
        """Keep what a replacement child needs: the corpus and the latest settings."""
        if command in ("load", "reset", "load_checkpoint"):
            self._weights = self._resume = None  # a new run: nothing of the last to keep
            self._restore, self._restore_infos = None, 0
        if command == "load":
            self._last_load, self._loading = tuple(args), True
        elif command == "reset" and self._last_load is not None:
            self._last_load = (self._last_load[0], args[0])
        elif command == "update" and self._last_load is not None:
            source, config = self._last_load
            with contextlib.suppress(Exception):  # a refused value stays refused
                known = {k: v for k, v in args[0].items() if k in config.live_fields()}
                self._last_load = (source, config.replace(**known))

    def _refuse(self, command: str) -> None:
        """No child can run: answer the command so that no control waits for it."""
        self.worker.running_changed.emit(False)
        if command == "load":
            self.worker.load_failed.emit(self.failed)
        elif command not in ("pause", "set_probe", "set_attribute", "quit"):
            self.worker.error.emit(self.failed)

    def _dispatch(self, name: str, args: tuple) -> None:
        if name == UP_EVENT:
            self._up = True
            self.child_qt_modules = list(args[0])
            return
        getattr(self.worker, name).emit(*args)

    def _on_info(self, _info) -> None:
        for curve in self._curves:  # as the window does: a new run's curves start empty
            curve.clear()
        if self._restore_infos:
            self._restore_infos -= 1
            if not self._restore_infos:  # the restore's frame (with the curves) comes next
                self._restore = None

    def _remember_resume(self, state: dict) -> None:
        self._resume = state

    def _recovery(self) -> dict | None:
        """What a new child goes on from: the newest weights (the last captured frame's or
        the last resume state's) with the resume state's optimiser moments."""
        state, weights = self._resume, self._weights
        if weights is not None and (state is None or weights[1] > state["step"]):
            params, step, epoch = weights
            moments = state["optimizer"] if state is not None else None
            state = {"params": params, "optimizer": moments, "step": step, "epoch": epoch}
        return state

    def _remember_weights(self, frame) -> None:
        snap = frame.snapshot
        if frame.captured and snap.params:
            self._weights = (snap.params, int(snap.step), int(snap.epoch))
        train, val = self._curves
        if len(frame.rows):
            train.append(frame.rows)
        if len(frame.val_rows):
            val.append(frame.val_rows)
        if time.monotonic() - self._spawned_at > STABLE_SECONDS:
            self._deaths = self._silent_deaths = 0  # this child is well: forget old deaths
        if time.monotonic() - self._spawned_at > STABLE_SECONDS:
            self._deaths = self._silent_deaths = 0  # this child is well: forget old deaths

    def _on_load_answered(self, *_args) -> None:
        self._loading = False

    def _on_child_ended(self) -> None:
        if self._closed:
            return
        self.reader.wait(1000)
        code = self.process.wait()
        self._commands.close()
        self._events.close()
        self.worker.running_changed.emit(False)
        if time.monotonic() - self._spawned_at > STABLE_SECONDS:
            self._deaths = self._silent_deaths = 0
        self._deaths += 1
        self._silent_deaths = 0 if self._up else self._silent_deaths + 1
        if self._silent_deaths >= RESTART_LIMIT:
            self._give_up(f"exit status {code}")
            return
        delay = min(BACKOFF_SECONDS * 2 ** (self._deaths - 1), MAX_BACKOFF_SECONDS)
        self._closed = True  # until the new child is there: commands are dropped
        again = " and the corpus loaded again" if self._last_load else ""
        state = self._restore[0] if self._restore else self._recovery()
        kept = f", from step {state['step']:,}" if state else ""
        self.worker.error.emit(
            f"The training process ended unexpectedly (exit status {code}); a new one is "
            f"started{again}{kept}."
        )
        QTimer.singleShot(int(delay * 1000), self._respawn)

    def _respawn(self) -> None:
        if self._shut:
            return
        self._closed = False
        try:
            self._spawn()
        except OSError as exc:
            self._give_up(str(exc))
            return
        if self._last_load is not None:
            restore = self._restore  # an earlier restore that never took effect, or:
            if restore is None and (state := self._recovery()) is not None:
                restore = (state, *(_rows(curve) for curve in self._curves))
            self.send("load", self._last_load)  # (forgets the last run's state here)
            if restore is not None:
                self._restore, self._restore_infos = restore, 2  # the load's info, the restore's
                self.send("restore", restore)

    def _give_up(self, reason: str) -> None:
        self._closed = True
        self.failed = (
            f"The training process could not start ({reason}; {self._silent_deaths} "
            "times in a row). RNNVIZ_WORKER=thread trains inside the app's own process "
            "instead."
        )
        self.worker.error.emit(self.failed)
        if self._loading:
            self._loading = False
            self.worker.load_failed.emit(self.failed)

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop the child and the reader thread. True when both ended in time."""
        self._shut = True  # a restart still waiting for its back-off must not start one
        if self._closed:
            return self.process.poll() is not None
        self.send("quit")
        self._closed = True
        try:
            self.process.wait(timeout_ms / 1000)
            ended = True
        except subprocess.TimeoutExpired:
            ended = False
            self.process.kill()  # a step stuck in C code: nothing of ours is half-written
            self.process.wait(1.0)
        self._commands.close()
        self.reader.wait(max(timeout_ms, 1000))  # the pipe closed with the child: run() ends
        self._events.close()
        return ended


def _rows(curve: DecimatedHistory) -> np.ndarray:
    """A history's points as (N, 4) rows (decimated: a point per bin)."""
    columns = curve.arrays()
    return np.column_stack([columns[c] for c in COLUMNS]).reshape(-1, len(COLUMNS))


def make_worker_thread(parent: QObject, mode: str | None = None) -> QObject:
    """The trainer's home: "process" (a child process) or "thread" (a QThread here).

    `mode` None reads RNNVIZ_WORKER (default "process"). A process that cannot be
    started falls back to a thread.
    """
    mode = mode or os.environ.get("RNNVIZ_WORKER", "process")
    if mode not in ("process", "thread"):
        raise ValueError(f"worker mode must be 'process' or 'thread'; got {mode!r}")
    if mode == "process" and os.name == "posix":
        try:
            return ProcessWorkerThread(parent)
        except OSError as exc:
            print(f"rnnviz: training in a thread ({exc})", file=sys.stderr)
    return WorkerThread(parent)
