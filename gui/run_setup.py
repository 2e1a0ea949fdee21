"""A new run's set-up across the views, spread over event-loop turns (issue 16).

Setting every view up for a new run at once took 100-180 ms on a 146k-word corpus
(the corpus histogram, top-k picks, the errors matrix, ... 10-30 ms each): a frozen
window on every load and Reset. Here each view's set-up is a step of its own, in an
event-loop turn of its own: first the views on screen (the widgets outside the tabs,
then the tab in front), then each hidden tab; a tab brought to the front before its
turn is set up then. One view a turn also keeps each repaint to that view: the first
paint of a view set up anew lays its axes out again, and the relayout paints it again
(two or three paints in the same turn, 5-20 ms each), so views set up together
stalled the window for the sum of it. Each panel reads the task from the
run's description in its own `set_info` (gui/presentation.py). The steps are counted:
`progress` says how many of them ran (the corpus tab's bar, "Preparing the views").
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer, Signal

from gui.insight_tabs import RECORDERS
from gui.presentation import presentation_of
from gui.theme import style_plots

ALWAYS_SHOWN = ("curves", "prediction", "sample", "tabs")  # outside the tabs
SETTLE_TURNS = 2  # see RunSetup.settling


class RunSetup(QObject):
    """Runs a new run's per-view set-up in steps; `settling` while a shown view waits."""

    progress = Signal(int, int)  # (steps run, steps in all) of the current run's set-up

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.pending: dict[str, Callable[[], None]] = {}  # step name -> set-up, in order
        self.widgets: dict[str, object] = {}  # step name -> the widget it sets up
        self.steps_total = 0  # the current run's steps in all (`progress`)
        self.steps_done = 0  # ... of them run so far
        self._hidden_done = 0
        self.seconds: dict[str, float] = {}  # the last run's set-up time per step (profiling)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)  # the next event-loop turn, after what is queued
        self._timer.timeout.connect(self._next)
        window.tabs.currentChanged.connect(self._on_tab_changed)

    def new_run(self, info) -> None:
        """Queue the set-up of every view for the run of `info` (a RunInfo)."""
        w = self.window
        p = presentation_of(info)
        steps: dict[str, Callable[[], None]] = {
            "curves": lambda: w.curves.set_info(info),
            "prediction": lambda: w.prediction.set_info(info),
            "sample": lambda: w.sample_panel.set_info(info),
            "tabs": lambda: self._show_tabs(p.hidden_tabs),
            "network": lambda: w.heatmaps.set_info(info),
            "corpus": lambda: w.corpus_panel.set_info(info),
        }
        steps.update(w.insight.set_info(info))  # the recorders set up already: styled here
        for name in RECORDERS:
            self._style(w.insight.panels[name])
        self.widgets = {"curves": w.curves, "prediction": w.prediction,
                        "sample": w.sample_panel, "network": w.heatmaps,
                        "corpus": w.corpus_panel, **w.insight.panels}  # fmt: skip
        front = w.current_panel()
        order = [*ALWAYS_SHOWN, front, *(name for name in steps if name != front)]
        self.pending = {name: steps[name] for name in order if name in steps}
        self.seconds = {}
        self.steps_total, self.steps_done = len(self.pending), 0
        self._hidden_done = 0  # hidden views set up so far (see `settling`)
        self.progress.emit(0, self.steps_total)
        self._timer.start()  # what is on screen first, from the next turn on

    @property
    def settling(self) -> bool:
        """A view on screen has not been set up for the current run yet, or only just:
        a view set up anew is laid out and painted again in the next turns (its axes
        take the new labels' widths, its view range the new size), and the first frame's
        drawing waits for turns of its own, after SETTLE_TURNS hidden views' set-ups."""
        front = self.window.current_panel()
        on_screen = any(name in self.pending for name in (*ALWAYS_SHOWN, front))
        return on_screen or (bool(self.pending) and self._hidden_done < SETTLE_TURNS)

    def ready(self, name: str) -> bool:
        return name not in self.pending

    def run(self, name: str) -> None:
        """Run the set-up step `name` now, if it is still to run."""
        step = self.pending.pop(name, None)
        if step is None:
            return
        started = time.perf_counter()
        step()
        self.seconds[name] = time.perf_counter() - started
        widget = self.widgets.get(name)
        if widget is not None:
            self._style(widget)
        if name in (*ALWAYS_SHOWN, self.window.current_panel()):  # a hidden view draws
            self.window.views_changed()  # when it is shown
        else:
            self._hidden_done += 1
        self.steps_done += 1
        self.progress.emit(self.steps_done, self.steps_total)

    def flush(self) -> None:
        """Run every step left (tests, and before a screenshot)."""
        while self.pending:
            self.run(next(iter(self.pending)))

    def _style(self, widget) -> None:
        """Plot items a set-up added take the theme."""
        for view in widget.findChildren(pg.GraphicsView):
            style_plots(view, self.window.theme.theme)

    def _next(self) -> None:
        if self.pending:
            self.run(next(iter(self.pending)))
        if self.pending:
            self._timer.start()

    def _show_tabs(self, hidden: frozenset[str]) -> None:
        tabs = self.window.tabs
        for name, panel in self.window.insight.panels.items():
            index = tabs.indexOf(panel)
            if index >= 0:
                tabs.setTabVisible(index, name not in hidden)

    def _on_tab_changed(self, _index: int) -> None:
        self.run(self.window.current_panel())  # a tab brought to the front: set up now
