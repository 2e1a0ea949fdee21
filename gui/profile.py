"""`--profile-ui SECONDS`: measure the app while it trains, and the same model headless.

Prints one JSON line: gui_steps_per_second, headless_steps_per_second (same corpus and
config, measured in the same process after the window closed), the event-loop stalls
(a 5 ms timer on the GUI thread: how late each tick fires), frames drawn, and the
seconds from process start to the window's first paint.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer

from gui import stall_trace
from gui.poll_loop import poll_until

TICK_MS = 5
POLL_MS = 20  # how often the probes look at the window
SETTLE_SECONDS = 0.5  # --profile-load: after the first paint, before the load starts


def seconds_since_process_start(fallback_t0: float) -> float:
    """Wall time since the process was created (Linux /proc), else since `fallback_t0`."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - fallback_t0


class FirstPaint(QObject):
    """Records when a widget is first painted."""

    def __init__(self, fallback_t0: float) -> None:
        super().__init__()
        self.fallback_t0 = fallback_t0
        self.seconds: float | None = None

    def eventFilter(self, obj, event) -> bool:
        if self.seconds is None and event.type() == QEvent.Paint:
            self.seconds = seconds_since_process_start(self.fallback_t0)
        return False


class StallMonitor(QObject):
    """A 5 ms precise timer on the GUI thread; lateness of each tick is a stall."""

    def __init__(self) -> None:
        super().__init__()
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last: float | None = None
        self.trace = None  # RNNVIZ_STALL_TRACE: gui/stall_trace.py

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()
        self.trace = stall_trace.from_environment()

    def stop(self) -> None:
        self.timer.stop()
        if self.trace is not None:
            self.trace.stop()
            self.trace = None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.trace is not None:
            self.trace.beat()
        if self._last is not None:
            self.gaps.append(max(0.0, (now - self._last) * 1000 - TICK_MS))
        self._last = now


def headless_rate(source: str, config, seconds: float) -> float:
    """Steps per second of a fresh trainer (of config.task) on the same corpus, no GUI."""
    from gui.worker import make_trainer
    from rnnviz.data import load_corpus

    trainer = make_trainer(load_corpus(source, task=config.task), config)
    for _ in range(20):  # warm-up, as the GUI run had
        trainer.step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds and not trainer.finished:
        trainer.step()
        steps += 1
    return steps / (time.perf_counter() - start)


def run_profile(app, window, source: str, config, seconds: float, t0: float) -> int:
    """Show the window, train for `seconds`, print the JSON line; returns the exit code."""
    first_paint = FirstPaint(t0)
    window.installEventFilter(first_paint)
    monitor = StallMonitor()
    state: dict = {"phase": "loading"}
    worker = window.worker

    def poll() -> int | None:
        if state["phase"] == "loading" and window.info is not None:
            state["phase"] = "warmup"
            window.start()
            state["t"] = time.perf_counter()
        elif state["phase"] == "warmup" and time.perf_counter() - state["t"] > 0.5:
            state.update(
                phase="measuring",
                t=time.perf_counter(),
                steps=worker._steps_done,
                frames=window.frames_drawn,
                redraw=window.redraw_seconds,
                cpu=time.thread_time(),
            )
            monitor.start()
        elif state["phase"] == "measuring" and time.perf_counter() - state["t"] >= seconds:
            monitor.stop()
            elapsed = time.perf_counter() - state["t"]
            state.update(
                gui_rate=(worker._steps_done - state["steps"]) / elapsed,
                frames=window.frames_drawn - state["frames"],
                redraw_ms=(window.redraw_seconds - state["redraw"]) * 1000,
                elapsed=elapsed,
                gui_cpu=(time.thread_time() - state["cpu"]) / elapsed,
            )
            return 0
        return None

    window.show()
    window.load_source(source)
    code = poll_until(app, window, poll, POLL_MS, seconds + 60, "--profile-ui timed out")
    if code:
        return code
    gaps = np.array(monitor.gaps or [0.0])
    cfg = window.info.config if window.info is not None else config
    headless = headless_rate(source, cfg, min(max(seconds / 2, 2.0), 10.0))
    elapsed = state["elapsed"]
    result = {
        "gui_steps_per_second": round(state["gui_rate"], 1),
        "headless_steps_per_second": round(headless, 1),
        "gui_vs_headless": round(state["gui_rate"] / headless, 3) if headless else None,
        "max_event_loop_stall_ms": round(float(gaps.max()), 2),
        "p99_event_loop_stall_ms": round(float(np.percentile(gaps, 99)), 2),
        "frames_drawn": state["frames"],
        "frames_per_second": round(state["frames"] / elapsed, 1),
        "mean_redraw_ms": round(state["redraw_ms"] / max(state["frames"], 1), 2),
        "gui_thread_cpu_fraction": round(state["gui_cpu"], 3),
        "seconds_to_first_frame": round(first_paint.seconds or -1.0, 3),
        "seconds": round(elapsed, 2),
        "data": source,
        "platform": app.platformName(),
    }
    sample_seconds = window.sample_panel.seconds_log
    if sample_seconds:  # a language model: its live sample was generated on the GUI thread
        result["samples_generated"] = len(sample_seconds)
        result["max_sample_ms"] = round(max(sample_seconds) * 1000, 1)
    print(json.dumps(result))
    return 0


def run_load_profile(app, window, source: str, timeout: float = 600.0) -> int:
    """`--profile-load PATH`: load `source`, then Reset, with a stall monitor running.

    Prints one JSON line: the event-loop stalls while loading (from the request to the
    first drawn frame of the new run) and while resetting, and the seconds each took.
    Returns the exit code (1 when the load failed or timed out).
    """
    np.percentile([0.0], 99)  # its first call imports numpy.ma (~30 ms): not in a phase
    monitor = StallMonitor()
    first_paint = FirstPaint(time.perf_counter())
    window.installEventFilter(first_paint)
    state: dict = {"phase": "show", "phases": {}}

    def begin(phase: str) -> None:
        state.update(phase=phase, t=time.perf_counter(), info=window.info, gaps=len(monitor.gaps))
        state["drawn"] = window.frames_drawn

    def end(phase: str) -> None:
        gaps = np.array(monitor.gaps[state["gaps"] :] or [0.0])
        steps = window.run_setup.seconds  # the views' set-up of the new run, per step
        slowest = max(steps, key=steps.get) if steps else ""
        state["phases"][phase] = {
            "max_event_loop_stall_ms": round(float(gaps.max()), 1),
            "p99_event_loop_stall_ms": round(float(np.percentile(gaps, 99)), 1),
            "seconds": round(time.perf_counter() - state["t"], 2),
            "slowest_setup_step": slowest,
            "slowest_setup_ms": round(steps.get(slowest, 0.0) * 1000, 1),
        }

    def poll() -> int | None:
        phase = state["phase"]
        if window.message.isVisible() and window.message.kind == "error":
            print(f"rnnviz: {window.message.label.text()}", file=sys.stderr)
            return 1
        if phase == "show":  # the window's first paint is not the load's: let it settle
            if first_paint.seconds is None:
                return None
            state.setdefault("painted", time.perf_counter())
            if time.perf_counter() - state["painted"] < SETTLE_SECONDS:
                return None
            monitor.start()
            begin("load")
            window.load_source(source)
        elif phase in ("load", "reset") and _settled(window, state):
            end(phase)
            if phase == "load":
                begin("reset")
                window.reset()
            else:
                monitor.stop()
                return 0
        return None

    window.show()
    code = poll_until(app, window, poll, POLL_MS, timeout, "--profile-load timed out")
    monitor.stop()
    if code:
        return code
    info = window.info
    result = {"data": source, "texts": info.num_texts, "vocabulary": len(info.words)}
    for phase, figures in state["phases"].items():
        result.update({f"{phase}_{k}": v for k, v in figures.items()})
    print(json.dumps(result))
    return 0


def _settled(window, state: dict) -> bool:
    """A new run arrived and a frame was drawn after it, SETTLE_SECONDS ago."""
    if window.info is None or window.info is state["info"] or window.last_captured is None:
        return False
    if "settled_at" not in state:
        if window.frames_drawn > state["drawn"]:
            state["settled_at"] = time.perf_counter()
        return False
    if time.perf_counter() - state["settled_at"] < SETTLE_SECONDS:
        return False
    del state["settled_at"]
    return True
