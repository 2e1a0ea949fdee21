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
import pickle
import socket
import struct
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from PySide6.QtCore import QMetaMethod, QObject, QThread, QTimer, Signal

from gui.worker import COMMANDS, TrainingWorker, WorkerCommands, WorkerThread

RESTART_LIMIT = 3  # children that die before they are up, in a row: give up
BACKOFF_SECONDS = 0.25  # wait before the n-th restart in a row: this x 2**(n-1) ...
MAX_BACKOFF_SECONDS = 8.0  # ... at most this
STABLE_SECONDS = 20.0  # a child that lived this long resets the count of deaths in a row
PARENT_POLL_SECONDS = 0.1  # how often a child checks that the window's process lives
PARENT_ENV = "RNNVIZ_PARENT_PID"  # the window's process id, as the child is told
UP_EVENT = "_up"  # the child's first message: its imports worked, commands are read
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


def send_event(connection: Connection, name: str, args: tuple) -> None:
    """Pickle (name, args) with its arrays' memory out of band: a header (how many
    buffers, their sizes, then the pickle), then each buffer as it is."""
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps((name, args), protocol=5, buffer_callback=buffers.append)
    views = [b.raw() for b in buffers]
    sizes = struct.pack(f"!I{len(views)}Q", len(views), *(v.nbytes for v in views))
    connection.send_bytes(sizes + data)
    for view in views:
        connection.send_bytes(view)


def receive_event(connection: Connection) -> tuple[str, tuple]:
    """The other end of `send_event`. Arrays land in writable memory received straight
    into place, so unpickling copies no array data: a frame carrying a 146k-row
    embedding and its gradient (37 MB) no longer holds the GIL for tens of ms."""
    message = connection.recv_bytes()
    (count,) = struct.unpack_from("!I", message)
    sizes = struct.unpack_from(f"!{count}Q", message, 4)
    buffers = []
    for size in sizes:
        buffer = bytearray(size)
        if size:
            connection.recv_bytes_into(buffer)
        else:
            connection.recv_bytes()
        buffers.append(buffer)
    return pickle.loads(memoryview(message)[4 + 8 * count :], buffers=buffers)


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
    again with the latest settings, and the weights of the last captured snapshot are
    put back: a crash loses at most the steps since that snapshot. A child that dies
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
        self.worker = WorkerProxy(self)
        self.worker.snapshot_ready.connect(self._remember_weights)
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
        if command == "load":
            self._last_load, self._loading, self._weights = tuple(args), True, None
        elif command == "reset" and self._last_load is not None:
            self._last_load, self._weights = (self._last_load[0], args[0]), None
        elif command == "update_config" and self._last_load is not None:
            source, config = self._last_load
            with contextlib.suppress(Exception):  # a refused value stays refused
                known = {k: v for k, v in args[0].items() if hasattr(config, k)}
                self._last_load = (source, config.replace(**known))
        elif command == "load_checkpoint":
            self._weights = None  # its weights are not the last frame's

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
            return
        getattr(self.worker, name).emit(*args)

    def _remember_weights(self, frame) -> None:
        snap = frame.snapshot
        if frame.captured and snap.params:
            self._weights = (snap.params, int(snap.step), int(snap.epoch))
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
        kept = f", with the weights of step {self._weights[1]:,}" if self._weights else ""
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
            weights = self._weights  # sending the load forgets them (a new corpus would)
            self.send("load", self._last_load)
            if weights is not None:
                self._weights = weights
                self.send("restore_weights", weights)

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
            send_event(events, name, args)
        except (BrokenPipeError, OSError):  # the window is gone: stop quietly
            worker.request_stop()
            app.quit()

    for name in SIGNALS:
        getattr(worker, name).connect(lambda *args, _name=name: forward(_name, *args))
    watch_parent(worker)

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
    forward(UP_EVENT)
    app.exec()
    notifier.setEnabled(False)
    events.close()


def watch_parent(worker: TrainingWorker) -> None:
    """End this child as soon as the window's process is gone, whatever it is doing (a
    load or a long step does not read the command pipe until it is over)."""
    parent = int(os.environ.get(PARENT_ENV) or os.getppid())
    with contextlib.suppress(Exception):  # Linux: the kernel signals us when it dies
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(0)

    def poll() -> None:  # elsewhere (and as a second line): a re-parented child polls
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        worker.request_stop()
        os._exit(0)  # nothing of ours is half-written: checkpoints are saved atomically

    threading.Thread(target=poll, name="rnnviz-parent-watch", daemon=True).start()


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
