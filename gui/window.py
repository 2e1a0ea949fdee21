"""The main window: its panels, the worker's run and frames, and the throttled redraw.

Beside it: the layout (gui/layout.py), menus and file dialogs (gui/menus.py, exports),
the status bar and the worker's messages (gui/status_bar.py), a new run's staged set-up
of the views (gui/run_setup.py), the task of the next load (gui/task_switch.py).
"""

from __future__ import annotations

import html
import os
import time

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMainWindow

from gui import exports
from gui.experiments import ExperimentActions
from gui.history import DecimatedHistory
from gui.insight_tabs import INSIGHT_PANELS, InsightViews
from gui.layout import build_layout
from gui.menus import build_menus, fill_samples_menu
from gui.message_bar import MessageBar
from gui.panels.controls import ControlsPanel
from gui.panels.corpus import CorpusPanel
from gui.panels.curves import CurvesPanel
from gui.panels.heatmaps import HeatmapsPanel
from gui.panels.prediction import DEFAULT_SENTENCE, PredictionPanel
from gui.panels.sample_text import SampleTextPanel
from gui.presentation import presentation_of
from gui.process_worker import make_worker_thread
from gui.run_setup import RunSetup
from gui.staged_draw import SnapshotDrawing
from gui.status_bar import RunStatus
from gui.task_switch import TaskSwitch
from gui.worker import Frame, RunInfo
from rnnviz import blas
from rnnviz.config import Config

REDRAW_MS = 33  # ~30 frames a second at most
ICON = os.path.join(os.path.dirname(__file__), "resources", "rnnviz.png")  # + .svg, .desktop
PANELS = ("network", "corpus", *INSIGHT_PANELS)  # tabs that --panel can select, in order
__all__ = ["DEFAULT_SENTENCE", "PANELS", "MainWindow", "MessageBar"]


class MainWindow(QMainWindow):
    """Everything at once: controls | curves over network/corpus tabs | prediction."""

    frame_drawn = Signal()

    def __init__(
        self,
        config: Config | None = None,
        settings: QSettings | None = None,
        worker: str | None = None,
    ) -> None:
        super().__init__()
        # The window's own NumPy (prediction box, insight views) runs beside the trainer,
        # which has the other core: a second BLAS thread would only wait for it.
        blas.set_threads(1)
        self.setWindowTitle("rnnviz — watch an RNN learn")
        self.setWindowIcon(QIcon(ICON))
        self.settings = settings if settings is not None else QSettings("rnnviz", "rnnviz")
        self.info: RunInfo | None = None
        self.source = ""
        self.train_history = DecimatedHistory()
        self.val_history = DecimatedHistory()
        self.current_val_loss: float | None = None  # the last validation pass's loss
        self.last_frame: Frame | None = None
        self._loading_model = False  # a checkpoint was asked for: its info is next
        self._model_maxlen = 0  # the loaded model's max length, until another corpus
        self.last_captured = None  # the latest snapshot that carries arrays
        self._dirty = False
        self.snapshots = SnapshotDrawing(self)  # drawn over several ticks
        self.frames_drawn = 0
        self.redraw_seconds = 0.0
        self.diverged_message = ""

        self.controls = ControlsPanel()
        self.curves = CurvesPanel()
        self.heatmaps = HeatmapsPanel()
        self.corpus_panel = CorpusPanel()
        self.prediction = PredictionPanel()
        self.sample_panel = SampleTextPanel()  # the language model's live sample
        self.sample_panel.setVisible(False)
        self.message = MessageBar()
        if config is not None:
            self.controls.set_config(config)

        # After every widget: no thread left behind on error. `worker`: "process" (the
        # default) or "thread", see gui/process_worker.py.
        self.workers = make_worker_thread(self, worker)
        self.worker = self.workers.worker
        self.insight = InsightViews(self)  # the insight tabs (issue 5)
        self.task_switch = TaskSwitch(self.controls, self.load_source, lambda: self.source,
                                      self.message.show_message, self)  # fmt: skip
        self.experiments = ExperimentActions(self)  # experiment files and lessons (issue 13)
        build_layout(self)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._on_tab_changed(self.tabs.currentIndex())
        self.run_setup = RunSetup(self)  # a new run's set-up, spread over event-loop turns
        build_menus(self)
        self.status = RunStatus(self)
        self.status_state, self.status_loss = self.status.state, self.status.loss
        self.status_rate = self.status.rate
        self._connect()

        self.redraw_timer = QTimer(self)
        self.redraw_timer.setTimerType(Qt.PreciseTimer)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self.redraw)
        self.redraw_timer.start()
        self.setAcceptDrops(True)
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 920)

    # -- assembly -------------------------------------------------------------------------
    def _connect(self) -> None:
        w = self.worker
        w.info_ready.connect(self._on_info)
        w.snapshot_ready.connect(self._on_frame)
        # Bound methods of QObjects, never lambdas: a lambda would run in the worker's
        # thread, and widgets may only be touched from the GUI thread. (The status and
        # message events: gui/status_bar.py.)
        w.plain_text_found.connect(self.task_switch.on_plain_text)
        self.controls.train_toggled.connect(self._on_train_toggled)
        self.controls.step_requested.connect(self.step)
        self.controls.reset_requested.connect(self.reset)
        self.controls.live_changed.connect(self._on_live_changed)
        self.corpus_panel.load_requested.connect(self.load_source)
        self.heatmaps.probe_changed.connect(self._on_probe_changed)

    def set_samples(self, samples: list[tuple[str, str]]) -> None:
        """Offer the built-in samples in the corpus panel and the File menu."""
        self.corpus_panel.set_samples(samples, self.source)
        fill_samples_menu(self, samples)

    # -- commands ---------------------------------------------------------------------------
    def load_source(self, source: str) -> None:
        """Load a corpus (file, folder or sample:NAME) in the worker."""
        config = self.controls.config()
        if source != self.source and self._model_maxlen and config.maxlen == self._model_maxlen:
            # A loaded model's padded length fits its own corpus, not the next one: auto.
            config = config.replace(maxlen=0)
            self.controls.set_config(config, applied=False)
        self._model_maxlen = 0
        self.source = source
        self.diverged_message = ""
        self.message.hide()
        self.corpus_panel.set_loading(0.0, f"Loading {source}…")
        config = self.task_switch.config_for_source(source, config)
        self.workers.load_requested.emit(source, config)

    def toggle_training(self) -> None:
        self.controls.train_button.click()

    def training_stopped(self) -> bool:
        """The worker is not training and the frame it sent on stopping has arrived."""
        frame = self.last_frame
        return not self.worker.running and (frame is None or not frame.running)

    def start(self) -> None:
        if self.diverged_message:
            self.message.show_message(html.escape(self.diverged_message), "error")
            self.controls.set_running(False)
            return
        self.workers.start_requested.emit()

    def pause(self) -> None:
        self.workers.pause_requested.emit()

    def step(self) -> None:
        self.workers.step_requested.emit()

    def reset(self) -> None:
        """Fresh weights with the controls' settings (shape changes applied)."""
        self.diverged_message = ""
        self.message.hide()
        self.controls.set_running(False)
        self.workers.reset_requested.emit(self.controls.config())

    def load_checkpoint(self, path: str) -> None:
        """Load a saved model (its corpus and settings) in the worker."""
        self.diverged_message = ""
        self.message.hide()
        self._loading_model = True
        self.workers.load_checkpoint_requested.emit(path)

    def export_window(self, path: str, scale: float = exports.EXPORT_SCALE) -> bool:
        self.run_setup.flush()
        self.redraw(force=True)
        return exports.export_window(self, path, scale)

    def export_plot(self, plot: pg.PlotItem, path: str, scale: float = exports.EXPORT_SCALE):
        exports.export_plot(plot, path, scale)

    def export_csv(self, path: str) -> None:
        exports.export_csv(self.train_history, self.val_history, path)

    # -- worker events ---------------------------------------------------------------------
    def _on_info(self, info: RunInfo) -> None:
        self.info = info
        self.status.presentation = presentation_of(info)
        self.diverged_message = ""
        self.train_history.clear()
        self.val_history.clear()
        self.current_val_loss = None
        self.last_captured = None
        self.controls.set_config(info.config)
        if self._loading_model:  # its max length is the model's (see `load_source`)
            self._loading_model, self._model_maxlen = False, info.config.maxlen
        self.settings.setValue("last_corpus", info.source)
        self.source = info.source
        self.controls.set_progress(info.epoch, info.config.epochs, 0.0, info.step)
        self.status_state.setText(f"ready: {info.source}")
        self.experiments.on_info(info)
        self.snapshots.cancel()  # the last run's snapshot, part drawn
        self.run_setup.new_run(info)  # each view from the run's description, in steps
        self._dirty = True

    def _on_frame(self, frame: Frame) -> None:
        # Cheap bookkeeping only; drawing happens on the redraw timer.
        if len(frame.rows):
            self.train_history.append(frame.rows)
        if len(frame.val_rows):
            self.val_history.append(frame.val_rows)
            self.current_val_loss = float(frame.val_rows[-1, 2])
        self.last_frame = frame
        if frame.captured:
            self.last_captured = frame.snapshot
            self.snapshots.mark()
        self.insight.on_frame(frame)
        self.experiments.on_frame(frame)
        self._dirty = True

    def _on_probe_changed(self, _index: int) -> None:
        self.snapshots.draw_all()

    def _on_train_toggled(self, train: bool) -> None:
        self.start() if train else self.pause()

    def _on_live_changed(self, changes: dict) -> None:
        self.workers.update_requested.emit(changes)
        self.insight.compare.update_settings(changes)
        if "mask_padding" in changes:
            self.prediction.set_mask_padding(changes["mask_padding"])

    # -- drawing ----------------------------------------------------------------------------
    def redraw(self, force: bool = False) -> None:
        """Called ~30 times a second; draws only what changed and what is visible."""
        if not (self._dirty or force):
            return
        started = time.perf_counter()
        self._dirty = False
        self.curves.set_history(self.train_history, self.val_history)
        if self.run_setup.settling and not force:
            self._dirty = True  # a view on screen is not set up for this run yet
        elif force:
            self.snapshots.draw_all(started)
        else:
            self.snapshots.tick(started)  # one part of it a tick (gui/staged_draw.py)
        self._dirty = self._dirty or self.snapshots.pending
        frame = self.last_frame
        if frame is not None:
            snap = frame.snapshot
            epochs = self.controls.config().epochs
            if snap.finished and snap.stop_reason in ("epochs", "early stopping"):
                self.controls.set_finished(snap.epoch, epochs, snap.step, snap.stop_reason)
            else:
                self.controls.set_progress(snap.epoch, epochs, snap.epoch_progress, snap.step)
            self.status.show_frame(frame, self.current_val_loss)
        self.frames_drawn += 1
        self.redraw_seconds += time.perf_counter() - started
        self.frame_drawn.emit()

    def views_changed(self) -> None:
        """A view was set up for the run (gui/run_setup.py): draw the snapshot on it."""
        self.snapshots.mark()
        self._dirty = True

    def plots(self) -> dict[str, pg.PlotItem]:
        """The plots File › Export plot offers, by name."""
        plots = {f"{k} curve": v for k, v in self.curves.plots().items()}
        plots.update({f"{k} heatmap": v for k, v in self.heatmaps.plots().items()})
        plots["sentence hidden state"] = self.prediction.hidden_view.plot
        plots["sequence lengths"] = self.corpus_panel.hist_plot
        return plots

    def current_panel(self) -> str:
        """The --panel name of the tab in front."""
        index = self.tabs.currentIndex()
        return PANELS[index] if 0 <= index < len(PANELS) else ""

    def _on_tab_changed(self, _index: int) -> None:
        self.help_note.show_for(self.current_panel())

    def show_panel(self, name: str) -> None:
        """Bring a tab to the front (a --panel name)."""
        self.tabs.setCurrentIndex(PANELS.index(name))

    # -- Qt events --------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.load_source(urls[0])
            event.acceptProposedAction()

    def closeEvent(self, event) -> None:
        """Stop the worker and wait for it (within a second or two) before closing."""
        self.redraw_timer.stop()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.sync()
        self.hide()  # a slow step may keep the worker a while: the window is gone already
        self.workers.shutdown()
        self.sample_panel.shutdown()  # the sample box's sampling thread
        self.insight.shutdown()  # the state space's analysis thread
        super().closeEvent(event)
