"""The captured snapshot drawn part by part, one part per redraw tick.

Qt paints every widget that changed in one event after the tick that changed them. Drawing
a snapshot on every view at once made that paint the sum of the curves, eight heatmaps and
the prediction box: the event loop's longest stalls while training. Split into parts, one
per tick (~33 ms apart), a frame paints the curves and one part.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from functools import partial

from gui.panels.heatmaps import GROUPS as HEATMAP_GROUPS

HEATMAP_SECONDS = 0.1  # a new snapshot's drawing starts at most ~10 times a second


class StagedDraw:
    """A queue of drawing steps, run one per `run_next()`."""

    def __init__(self) -> None:
        self._steps: deque[Callable[[], None]] = deque()

    @property
    def busy(self) -> bool:
        return bool(self._steps)

    def start(self, steps: list[Callable[[], None]]) -> None:
        """Begin drawing a new snapshot (any steps left of the previous one are dropped)."""
        self._steps = deque(steps)

    def run_next(self) -> None:
        if self._steps:
            self._steps.popleft()()

    def cancel(self) -> None:
        self._steps.clear()


class SnapshotDrawing:
    """When and how the window draws its latest captured snapshot on the views."""

    def __init__(self, window) -> None:
        self.window = window
        self.staged = StagedDraw()
        self.dirty = False  # a snapshot came (or a view was set up) that is not drawn yet
        self._started = 0.0  # when the last snapshot's drawing began

    @property
    def pending(self) -> bool:
        """More to draw on a later tick."""
        return self.staged.busy or self.dirty

    def mark(self) -> None:
        self.dirty = self.window.last_captured is not None

    def cancel(self) -> None:
        """A new run: the last run's snapshot, part drawn, is not finished."""
        self.staged.cancel()

    def draw_all(self, now: float | None = None) -> None:
        """Everything at once (an export, a probe chosen by the user)."""
        self.staged.cancel()
        if now is not None:
            self.dirty, self._started = False, now
        for step in self.steps():
            step()

    def tick(self, now: float) -> None:
        """One redraw tick: the next part, or the start of a due snapshot."""
        if self.staged.busy:
            self.staged.run_next()
        elif self.dirty and now - self._started >= HEATMAP_SECONDS:
            self.dirty, self._started = False, now
            self.staged.start(self.steps())
            self.staged.run_next()

    def steps(self) -> list[Callable[[], None]]:
        """Drawing the last captured snapshot, in parts of about equal painting cost."""
        w = self.window
        snap = w.last_captured
        if snap is None or not snap.params:
            return []
        if not w.heatmaps.isVisible():
            w.heatmaps.update_snapshot(snap)  # hidden: it only keeps it, for when shown
        groups = range(len(HEATMAP_GROUPS)) if w.heatmaps.isVisible() else []
        frame = w.last_frame
        settled = frame is not None and not frame.running
        return [
            *(partial(w.heatmaps.update_snapshot, snap, group) for group in groups),
            partial(w.insight.update_snapshot, snap),
            partial(w.sample_panel.update_snapshot, snap, settled),
            partial(self._predict, snap),
        ]

    def _predict(self, snap) -> None:
        if self.window.prediction.isVisible():
            self.window.prediction.update_params(snap.params)
