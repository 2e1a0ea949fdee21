"""The insight views as tabs of the main window: routing, visibility and throttling.

The window calls four hooks (`set_info`, `on_frame`, `update_snapshot`, `add_tabs`);
`set_info` hands back each panel's set-up for the window to stage (gui/run_setup.py);
everything else lives here, so window.py stays small. Panels draw only when visible;
a model is rebuilt from a snapshot's parameter copies at most once per snapshot and
only when a visible panel needs one. The GUI never touches the live trainer: the
validation split and a corpus sample arrive as copies in the run's `RunInfo`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QTabWidget

from gui.eval_data import EvalData
from gui.glyphs import shown_token
from gui.movie import MovieRecorder
from gui.panels.compare import ComparePanel, settings_of
from gui.panels.errors import ErrorsPanel
from gui.panels.gates import GatesPanel
from gui.panels.gradient_flow import GradientFlowPanel
from gui.panels.neurons import NeuronsPanel
from gui.panels.projection import ProjectionPanel
from gui.panels.salience import SaliencePanel
from gui.panels.state_space import StateSpacePanel
from gui.tasks import loss_unit

# --panel names and tab titles, in tab order (after "network" and "corpus").
INSIGHT_TABS = {
    "why": "Why",
    "gradient_flow": "Gradient flow",
    "gates": "Gates",
    "neurons": "Neurons",
    "projection": "Projection",
    "state_space": "State space",
    "errors": "Errors",
    "compare": "Compare",
}
INSIGHT_PANELS = tuple(INSIGHT_TABS)
RECORDERS = ("gradient_flow", "gates", "compare")  # record every frame (cheap set-up)


class InsightViews(QObject):
    """Builds the insight panels and feeds them from the window's frames."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.info = None
        self.data: EvalData | None = None
        self.last_snapshot = None
        self._model = None
        self._model_of = None

        self.salience = SaliencePanel()
        self.gradient_flow = GradientFlowPanel()
        self.gates = GatesPanel()
        self.neurons = NeuronsPanel()
        self.projection = ProjectionPanel()
        self.state_space = StateSpacePanel()
        self.errors = ErrorsPanel()
        self.compare = ComparePanel()
        self.panels = {
            "why": self.salience,
            "gradient_flow": self.gradient_flow,
            "gates": self.gates,
            "neurons": self.neurons,
            "projection": self.projection,
            "state_space": self.state_space,
            "errors": self.errors,
            "compare": self.compare,
        }
        self._names = {panel: name for name, panel in self.panels.items()}
        self.pending: set[str] = set()  # panels whose set-up for the new run is to come
        # Panels that read a model rebuilt from the latest snapshot's parameters.
        self._model_views = (self.salience, self.neurons, self.projection, self.state_space,
                             self.errors)  # fmt: skip

        self.recorder = MovieRecorder(self)
        self.movie_action = QAction("Record training &movie (GIF)…", window)
        self.movie_action.setToolTip("Record the current tab while it trains; again to save")
        self.movie_action.triggered.connect(self._on_movie)

        window.prediction.text_changed.connect(self._on_text_changed)
        self.errors.example_chosen.connect(self._on_example_chosen)

    # -- hooks the window calls ----------------------------------------------------------
    def add_tabs(self, tabs: QTabWidget) -> None:
        for name, title in INSIGHT_TABS.items():
            tabs.addTab(self.panels[name], title)
        tabs.currentChanged.connect(self._on_tab_changed)

    def set_info(self, info) -> dict[str, Callable[[], None]]:
        """A new run (load, reset or checkpoint): reset what the panels share now, and
        return the other panels' own set-up by tab name, for the window to run when the
        tab is shown or in a later event-loop turn (issue 16); the panels that record
        every frame are set up now. Until its set-up has run a panel draws nothing of
        the new run."""
        self.info = info
        self.data = getattr(info, "eval_data", None)
        self.last_snapshot, self._model, self._model_of = None, None, None
        self.head, self.mask_padding = info.config.head, info.config.mask_padding
        staged = [name for name in self.panels if name not in RECORDERS]
        self.pending = set(staged)
        for name in RECORDERS:  # they keep every frame of the run, shown or not: now
            self._set_up(name, info)
        return {name: partial(self._set_up, name, info) for name in staged}

    def _set_up(self, name: str, info) -> None:
        """One panel's set-up for the run of `info` (both tasks)."""
        self.pending.discard(name)
        if info is not self.info:
            return  # a newer run came first: its own set-up follows
        text = self.window.prediction.input.text()
        data = self.data
        classify = info.config.task == "classify"
        if name == "why":
            # A language model's "classes" are the tokens it predicts next.
            outputs = info.label_names if classify else [shown_token(w) for w in info.words]
            self.salience.set_vocabulary(info.tokenizer, info.maxlen, outputs)
            self.salience.set_text(text)
        elif name == "neurons":
            sample = data.sample_ids if data is not None else None
            self.neurons.set_vocabulary(info.tokenizer, info.maxlen, sample, info.config.task)
            self.neurons.set_text(text)
        elif name == "projection":
            self.projection.set_vocabulary(info.words, info.token_counts, info.label_names)
        elif name == "state_space":
            self.state_space.set_data(info.tokenizer, info.maxlen, info.label_names,
                                      data if classify else None)  # fmt: skip
            self.state_space.set_text(text)
        elif name == "errors":
            if data is not None:
                self.errors.set_data(info.label_names, data.val_ids, data.val_labels,
                                     data.val_texts)  # fmt: skip
            else:
                self.errors.set_data(info.label_names, np.zeros((0, info.maxlen), np.int64),
                                     np.zeros(0, np.int64), [])  # fmt: skip
        elif name == "gradient_flow":
            self.gradient_flow.clear()
        elif name == "gates":
            self.gates.set_vocabulary(info.words, info.probe_texts)
        elif name == "compare":
            scale, unit, _ = loss_unit(info.config, len(info.words))
            self.compare.new_run(settings_of(info.config, info.source), scale, unit)

    def on_frame(self, frame) -> None:
        """Every frame from the worker: cheap recording only."""
        if frame.captured:
            if "gradient_flow" not in self.pending:
                self.gradient_flow.record(frame.snapshot)
            if "gates" not in self.pending:
                self.gates.record(frame.snapshot)
        if "compare" not in self.pending:
            self.compare.add_rows(frame.rows, frame.val_rows)

    def update_snapshot(self, snapshot) -> None:
        """A new captured snapshot at redraw time: update the visible views."""
        self.last_snapshot = snapshot
        self.gradient_flow.redraw()
        self.gates.redraw()
        self.compare.redraw()
        frame = self.window.last_frame
        settled = frame is None or not frame.running  # paused: show this step, not throttled
        for view in self._model_views:
            if view.isVisible() and self._names[view] not in self.pending:
                model = self.model()
                if model is not None:
                    view.update_model(model, snapshot.step, settled)

    def model(self):
        """The classifier of the latest snapshot (built once per snapshot), or None."""
        snap = self.last_snapshot
        if snap is None or not snap.params or self.info is None:
            return None
        if self._model_of is not snap:
            from rnnviz.model import RNNClassifier

            mask = self.window.prediction.mask_padding
            self._model = RNNClassifier.from_params(snap.params, self.head, mask)
            self._model_of = snap
        return self._model

    # -- internals ----------------------------------------------------------------------

    def _on_movie(self) -> None:
        bar = self.window.statusBar()
        if not self.recorder.recording:
            self.recorder.start(self.window.tabs.currentWidget())
            self.movie_action.setText("Stop recording and save &movie…")
            bar.showMessage("Recording this tab: choose File › Stop recording to save", 5000)
            return
        self.recorder.stop()
        self.movie_action.setText("Record training &movie (GIF)…")
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save training movie", "training.gif", "GIF (*.gif)"
        )
        if path:
            n = self.recorder.save(path)
            bar.showMessage(f"Saved {n} frames to {path}", 5000)

    def _on_text_changed(self, text: str) -> None:
        self.salience.set_text(text)
        self.neurons.set_text(text)
        self.state_space.set_text(text)

    def busy(self) -> bool:
        """A view is still computing on a thread of its own (the state space)."""
        return self.state_space.busy()

    def shutdown(self) -> None:
        """End the panels' own threads (the state space's analysis)."""
        self.state_space.shutdown()

    def _on_example_chosen(self, text: str) -> None:
        self.window.prediction.input.setText(text)

    def _on_tab_changed(self, _index: int) -> None:
        if self.last_snapshot is not None:
            self.update_snapshot(self.last_snapshot)
