"""A run's steps since its last frame, and its throughput: what a `Frame` carries besides
the snapshot. The session records every step here and asks for a frame when one is due."""

from __future__ import annotations

import time

import numpy as np

from rnnviz.run_info import Frame
from rnnviz.snapshot import Snapshot

RATE_WINDOW = 0.25  # seconds over which steps/s and tokens/s are averaged


class FrameLog:
    """The metric rows of the steps not yet sent, step and token counts, the latest
    snapshot, and the rate measured over the last RATE_WINDOW (one log per run)."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, float, float, float]] = []  # step, epoch, loss, accuracy
        self.val_rows: list[tuple[float, float, float, float]] = []  # the same, validation
        self.steps_done = 0
        self.tokens_done = 0
        self.latest: Snapshot | None = None
        self.last_frame = 0.0  # perf_counter() of the last frame
        self._mark = (time.perf_counter(), 0, 0)  # (time, steps, tokens) at window start
        self._rate = (0.0, 0.0)  # steps/s, tokens/s

    def record(self, snap: Snapshot) -> None:
        """One step's metrics (and its validation pass's, if it made one)."""
        epoch = snap.epoch + snap.epoch_progress
        self.rows.append((snap.step, epoch, snap.loss, snap.accuracy))
        if snap.val_loss is not None:
            self.val_rows.append((snap.step, epoch, snap.val_loss, snap.val_accuracy))
        self.steps_done += 1
        self.tokens_done += snap.tokens
        self.latest = snap

    def extend(self, rows, val_rows) -> None:
        """Earlier rows ((N, 4) each, or None) to send again in the next frame."""
        for target, given in ((self.rows, rows), (self.val_rows, val_rows)):
            if given is not None and len(given):
                target.extend(map(tuple, np.asarray(given, np.float64).reshape(-1, 4)))

    @property
    def unsent(self) -> bool:
        """Whether rows wait for a frame."""
        return bool(self.rows or self.val_rows)

    def start_rate_window(self) -> None:
        """Training starts: the rate counts from here (not over the pause before)."""
        self._mark = (time.perf_counter(), self.steps_done, self.tokens_done)

    def frame(self, snapshot: Snapshot, captured: bool, running: bool) -> Frame:
        """The rows since the last frame (then cleared) with `snapshot` and the rate."""
        now = time.perf_counter()
        t0, s0, k0 = self._mark
        # A full window, or a short run that just stopped (it would otherwise show 0/s).
        stopped_short = not running and self.steps_done > s0
        if now - t0 >= RATE_WINDOW or (stopped_short and now > t0):
            dt = now - t0
            self._rate = ((self.steps_done - s0) / dt, (self.tokens_done - k0) / dt)
            self._mark = (now, self.steps_done, self.tokens_done)
        self.last_frame = now
        frame = Frame(
            rows=np.array(self.rows, np.float64).reshape(-1, 4),
            val_rows=np.array(self.val_rows, np.float64).reshape(-1, 4),
            snapshot=snapshot,
            captured=captured,
            steps_per_second=self._rate[0],  # the last measured rate, also when paused
            tokens_per_second=self._rate[1],
            running=running,
        )
        self.rows, self.val_rows = [], []
        return frame
