"""The training worker in a child process, behind the same interface as `WorkerThread`.

Why a process: at the sizes people watch, a training step is a few hundred
microseconds of mostly Python, so a trainer on a QThread needs the GIL nearly all the
time, and every millisecond the GUI thread spends drawing (pyqtgraph is Python too) is
a millisecond the trainer waits, and the other way round. In a child process the two
share no GIL: the trainer keeps one core, the window the other.

The child runs the very same `TrainingWorker` (gui/worker.py) under a QCoreApplication;
commands arrive over one pipe, the worker's signals leave over another, pickled (our
own two processes; checkpoint files are still never unpickled). In the window a
`WorkerProxy` re-emits them as Qt signals on the GUI thread, so the window and panels
cannot tell the two apart.
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

from PySide6.QtCore import QMetaMethod, QObject, QThread, Signal

from gui.worker import COMMANDS, TrainingWorker, WorkerCommands, WorkerThread

QUICK_DEATH_SECONDS = 3.0  # a replacement child that dies this fast is not retried
_PY_TYPES = {"bool": bool, "double": float, "int": int, "QString": str}


def _worker_signals() -> dict[str, tuple[type, ...]]:
    """The TrainingWorker's signals and their argument types, read from its metaobject."""
    meta = TrainingWorker.staticMetaObject
    out = {}
    for i in range(meta.methodOffset(), meta.methodCount()):
        method = meta.method(i)
        if method.methodType() == QMetaMethod.MethodType.Signal:
            name = bytes(method.name()).decode()
            types = [_PY_TYPES.get(bytes(t).decode(), object) for t in method.parameterTypes()]
            out[name] = tuple(types)
    return out


SIGNALS = _worker_signals()
# The proxy carries exactly the worker's signals (declared at class creation, as Qt needs).
_ProxyBase = type("_ProxyBase", (QObject,), {n: Signal(*t) for n, t in SIGNALS.items()})


class WorkerProxy(_ProxyBase):
    """Stands in the window for the TrainingWorker that lives in the child process."""

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
                name, args = self.connection.recv()
            except (EOFError, OSError):
                self.ended.emit()
                return
            self.received.emit(name, args)


class ProcessWorkerThread(WorkerCommands):
    """Same surface as gui.worker.WorkerThread, with the trainer in a child process.

    Commands are the same signals; `worker` is a WorkerProxy carrying the worker's
    signals. If the child dies (a crash, the OOM killer), a new one is started, the
    last corpus is loaded again, and the window is told.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._closed = False
        self._respawned = False
        self._last_load: tuple | None = None  # (source, config) to replay in a new child
        self.worker = WorkerProxy(self)
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
        fds = (cmd_child.fileno(), evt_child.fileno())
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", f"import gui.process_worker as m; m.child_entry{fds}"],
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
        self.reader = self.thread = _Reader(self._events)  # `thread`: as WorkerThread has
        self.reader.received.connect(self._dispatch)
        self.reader.ended.connect(self._on_child_ended)
        self.reader.start()
        if self.worker.step_budget is not None:
            self.send("set_attribute", ("step_budget", self.worker.step_budget))

    def send(self, command: str, args: tuple = ()) -> None:
        """Queue a command for the child (never blocks on the trainer)."""
        if self._closed:
            return
        if command == "load":
            self._last_load = tuple(args)
        with contextlib.suppress(OSError):  # the child is gone: _on_child_ended restarts it
            self._commands.send((command, tuple(args)))

    def _dispatch(self, name: str, args: tuple) -> None:
        getattr(self.worker, name).emit(*args)

    def _on_child_ended(self) -> None:
        if self._closed:
            return
        self.reader.wait(1000)
        code = self.process.wait()
        self._commands.close()
        self._events.close()
        self.worker.running_changed.emit(False)
        if time.monotonic() - self._spawned_at < QUICK_DEATH_SECONDS and self._respawned:
            self._closed = True  # it cannot even start: do not loop
            self.worker.error.emit(
                f"The training process could not start (exit status {code}). "
                "RNNVIZ_WORKER=thread trains inside the app's own process instead."
            )
            return
        self._respawned = True
        self.worker.error.emit(
            f"The training process ended unexpectedly (exit status {code}); a new one was "
            "started" + (" and the corpus loaded again." if self._last_load else ".")
        )
        self._spawn()
        if self._last_load is not None:
            self.send("load", self._last_load)

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop the child and the reader thread. True when both ended in time."""
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


def child_entry(commands_fd: int, events_fd: int) -> None:
    """Entry point of the child interpreter (see ProcessWorkerThread)."""
    child_main(Connection(commands_fd), Connection(events_fd))


def child_main(commands: Connection, events: Connection) -> None:
    """The child process: a TrainingWorker under a QCoreApplication, driven by a pipe."""
    from PySide6.QtCore import QCoreApplication, QSocketNotifier

    app = QCoreApplication(sys.argv[:1])
    worker = TrainingWorker()

    def forward(name: str, *args) -> None:
        try:
            events.send((name, args))
        except (BrokenPipeError, OSError):  # the window is gone: stop quietly
            worker.request_stop()
            app.quit()

    for name in SIGNALS:
        getattr(worker, name).connect(lambda *args, _name=name: forward(_name, *args))

    def on_commands() -> None:
        while commands.poll():
            try:
                command, args = commands.recv()
            except (EOFError, OSError):
                command, args = "quit", ()
            if command == "quit":
                worker.request_stop()
                app.quit()
                return
            if command == "set_attribute":
                setattr(worker, args[0], args[1])
            else:
                getattr(worker, command)(*args)

    notifier = QSocketNotifier(commands.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(on_commands)
    app.exec()
    notifier.setEnabled(False)
    events.close()


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
