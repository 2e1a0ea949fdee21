"""Why the event loop stalled: a watchdog beside `--profile-ui` / `--profile-load`.

Set RNNVIZ_STALL_TRACE=FILE and every event-loop stall longer than
RNNVIZ_STALL_TRACE_MS (default 25) is written to FILE as one JSON line:

- `gap_ms`: how long the GUI thread's 5 ms tick was late;
- `gui_cpu_ms` / `gui_runqueue_ms`: of that gap, the time the GUI thread ran on a CPU and
  the time it was ready but waited for one (Linux /proc schedstat). Neither means it
  slept: waiting for the GIL or in a blocking call;
- `stacks`: the GUI thread's Python stacks sampled every 2 ms during the stall, with a
  count each (an empty stack: inside Qt with no Python frame), and the other threads'
  top frames at the stall's first sample (who held the GIL).

A diagnostic only: nothing in the app depends on it.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from collections import Counter

POLL_SECONDS = 0.002


def _schedstat(native_id: int) -> tuple[float, float]:
    """(ms on a CPU, ms waiting on a run queue) of one thread so far; zeros off Linux."""
    try:
        with open(f"/proc/self/task/{native_id}/schedstat") as f:
            run_ns, wait_ns, _ = f.read().split()
        return int(run_ns) / 1e6, int(wait_ns) / 1e6
    except (OSError, ValueError):
        return 0.0, 0.0


def _stack(frame) -> str:
    """The innermost 8 frames as `file:line function` lines, outermost first."""
    entries = traceback.extract_stack(frame)[-8:]
    return " <- ".join(
        f"{os.path.basename(e.filename)}:{e.lineno} {e.name}" for e in reversed(entries)
    )


class StallTrace:
    """Samples the GUI thread whenever its heartbeat is older than the threshold."""

    def __init__(self, path: str, threshold_ms: float) -> None:
        self.path = path
        self.threshold = threshold_ms / 1000
        self.gui_ident = threading.get_ident()
        self.gui_native = threading.get_native_id()
        self.heartbeat = time.perf_counter()
        self.sched_at_beat = (0.0, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stall-trace", daemon=True)
        self._file = open(path, "a")  # noqa: SIM115 (closed in stop)

    def start(self) -> None:
        self.beat()
        self._thread.start()

    def beat(self) -> None:
        """Called by the GUI thread at each tick."""
        self.sched_at_beat = _schedstat(self.gui_native)
        self.heartbeat = time.perf_counter()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self._file.close()

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            beat = self.heartbeat
            if time.perf_counter() - beat < self.threshold:
                continue
            self._record(beat)

    def _record(self, beat: float) -> None:
        cpu0, wait0 = self.sched_at_beat
        stacks: Counter[str] = Counter()
        others: dict[str, str] = {}
        names = {t.ident: t.name for t in threading.enumerate()}
        while self.heartbeat == beat and not self._stop.is_set():
            frames = sys._current_frames()
            frame = frames.get(self.gui_ident)
            stacks[_stack(frame) if frame is not None else ""] += 1
            if not others:
                others = {
                    names.get(ident, str(ident)): _stack(f)
                    for ident, f in frames.items()
                    if ident not in (self.gui_ident, threading.get_ident())
                }
            time.sleep(POLL_SECONDS)
        cpu1, wait1 = self.sched_at_beat if self.heartbeat != beat else (cpu0, wait0)
        record = {
            "t": round(beat, 4),
            "gap_ms": round((self.heartbeat - beat) * 1000, 1),
            "gui_cpu_ms": round(cpu1 - cpu0, 1),
            "gui_runqueue_ms": round(wait1 - wait0, 1),
            "stacks": stacks.most_common(6),
            "other_threads": others,
        }
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()


def from_environment() -> StallTrace | None:
    """A started trace when RNNVIZ_STALL_TRACE names a file, else None."""
    path = os.environ.get("RNNVIZ_STALL_TRACE")
    if not path:
        return None
    trace = StallTrace(path, float(os.environ.get("RNNVIZ_STALL_TRACE_MS", "25")))
    trace.start()
    return trace
