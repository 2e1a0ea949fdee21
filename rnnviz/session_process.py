"""A training session in a child process, driven over a pipe (no Qt here).

The window's process (gui/process_worker.py) starts a fresh interpreter on
`child_entry` with two socket pairs: commands arrive on one as (name, args) tuples,
the session's events leave on the other, pickled with their arrays out of band
(`send_event`). Our own two processes: checkpoint files are still never unpickled.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import sys
import threading
import time
from multiprocessing.connection import Connection

from rnnviz.session import Session, one_line

PARENT_POLL_SECONDS = 0.1  # how often a child checks that the window's process lives
BUILD_COMMANDS = ("load", "reset", "load_checkpoint", "restore")  # they build a new run...
RECEIVE_CHUNK = 1 << 20  # bytes read (and copied under the GIL) at a time
BUILD_NICE = 10  # ... on a thread this much nicer than the trainer's (see `in_background`)
PARENT_ENV = "RNNVIZ_PARENT_PID"  # the window's process id, as the child is told
UP_EVENT = "_up"  # the child's first message: its imports worked, commands are read
QT_MODULES = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6")


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
    into place, a chunk at a time (`_receive_into`), so neither receiving nor unpickling
    holds the GIL for long: a frame carrying a 146k-row embedding and its gradient
    (37 MB) took 66-81 ms of the reader thread's time, most of it under the GIL."""
    message = connection.recv_bytes()
    (count,) = struct.unpack_from("!I", message)
    sizes = struct.unpack_from(f"!{count}Q", message, 4)
    buffers = []
    for size in sizes:
        buffer = bytearray(size)
        _receive_into(connection, buffer)
        buffers.append(buffer)
    return pickle.loads(memoryview(message)[4 + 8 * count :], buffers=buffers)


def _receive_into(connection: Connection, buffer: bytearray) -> None:
    """One `send_bytes` message read into `buffer` (exactly its size), RECEIVE_CHUNK
    bytes at a time. `Connection.recv_bytes_into` gathers the whole message in a BytesIO
    first and then copies it in one call under the GIL; here the GIL is free while the
    kernel copies and held for one chunk's copy at most."""
    fd = connection.fileno()
    (size,) = struct.unpack("!i", _read_exactly(fd, 4))
    if size == -1:  # over 2 GB: multiprocessing sends a second, 8-byte header
        (size,) = struct.unpack("!Q", _read_exactly(fd, 8))
    if size != len(buffer):
        raise OSError(f"expected {len(buffer)} bytes, the message has {size}")
    view, done = memoryview(buffer), 0
    while done < size:
        chunk = os.read(fd, min(size - done, RECEIVE_CHUNK))
        if not chunk:
            raise EOFError("the other process closed the pipe")
        view[done : done + len(chunk)] = chunk
        done += len(chunk)


def _read_exactly(fd: int, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise EOFError("the other process closed the pipe")
        data += chunk
    return data


def child_entry(commands_fd: int, events_fd: int) -> None:
    """Entry point of the child interpreter."""
    child_main(Connection(commands_fd), Connection(events_fd))


def child_main(commands: Connection, events: Connection) -> None:
    """The child's loop: read every waiting command, then train one slice while the
    session runs (or wait for the next command while it does not)."""
    done = threading.Event()

    def emit(name: str, *args) -> None:
        try:
            send_event(events, name, args)
        except OSError:  # the window is gone (a broken pipe): stop quietly
            session.stop()
            done.set()

    session = Session(emit, keep_resume=True)
    watch_parent(session)
    # Its first word: it is up, and which Qt modules it loaded (none: a test checks).
    emit(UP_EVENT, sorted(m for m in sys.modules if m.split(".")[0] in QT_MODULES))
    while not done.is_set():
        if commands.poll(0 if session.running else None):
            while not done.is_set() and commands.poll(0):
                _handle(session, commands, done)
        if session.running and not done.is_set():
            session.run_slice()
    events.close()


def _handle(session: Session, commands: Connection, done: threading.Event) -> None:
    try:
        command, args = commands.recv()
    except (EOFError, OSError):
        command, args = "quit", ()
    if command == "quit":
        session.stop()
        done.set()
    elif command == "set_attribute":
        setattr(session, args[0], args[1])
    else:
        try:
            work = getattr(session, command)
            if command in BUILD_COMMANDS:
                in_background(work, *args)
            else:
                work(*args)
        except Exception as exc:  # a bad command must not end the child (and the run)
            session.emit("error", f"{command} failed: {one_line(exc)}")


def in_background(work, *args) -> None:
    """work(*args) on a thread of lower priority (nice BUILD_NICE more), waited for.

    Building a run (reading, the vocabulary, encoding, the description) takes a core
    for seconds to minutes, while the window sets its views up and paints them with
    Qt's helper threads: on two cores the window's threads waited for a core, tens of
    ms at a time. At a lower priority the build yields to them at once. Linux sets the
    niceness of one thread; elsewhere it would be the whole process's, training too, so
    there the build runs as it is.
    """
    failed: list[BaseException] = []

    def run() -> None:
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError):
                tid = threading.get_native_id()
                os.setpriority(
                    os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + BUILD_NICE
                )
        try:
            work(*args)
        except BaseException as exc:  # raised again on the calling thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="rnnviz-build")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def watch_parent(session: Session) -> None:
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
        session.stop()
        os._exit(0)  # nothing of ours is half-written: checkpoints are saved atomically

    threading.Thread(target=poll, name="rnnviz-parent-watch", daemon=True).start()
