"""The main window: panels, menus, shortcuts, status bar, and the throttled redraw."""

from __future__ import annotations

import csv
import html
import os
import time
from typing import ClassVar

import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QIcon, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.experiments import ExperimentActions
from gui.help_notes import HelpNote
from gui.history import DecimatedHistory
from gui.insight_tabs import INSIGHT_PANELS, InsightViews
from gui.lm_mode import LanguageModelMode
from gui.panels.controls import ControlsPanel
from gui.panels.corpus import CorpusPanel
from gui.panels.curves import CurvesPanel
from gui.panels.heatmaps import HeatmapsPanel
from gui.panels.prediction import PredictionPanel
from gui.process_worker import make_worker_thread
from gui.theme import ThemeMenu, style_plots
from gui.worker import Frame, RunInfo
from rnnviz import blas
from rnnviz.config import Config

REDRAW_MS = 33  # ~30 frames a second at most
HEATMAP_SECONDS = 0.1  # heatmaps and the prediction box: ~10 a second (curves get 30)
DEFAULT_SENTENCE = "I love deep learning"  # the seed's own example
EXPORT_SCALE = 2  # exported PNGs: twice the size on screen
ICON = os.path.join(os.path.dirname(__file__), "resources", "rnnviz.png")  # + .svg, .desktop
PANELS = ("network", "corpus", *INSIGHT_PANELS)  # tabs that --panel can select, in order


class MessageBar(QFrame):
    """A dismissable line at the top of the window for errors and notices."""

    STYLES: ClassVar[dict[str, str]] = {
        "error": "background: #f8d7da; color: #842029;",
        "warning": "background: #fff3cd; color: #664d03;",
        "info": "background: #d1e7dd; color: #0f5132;",
    }

    def __init__(self) -> None:
        super().__init__()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        close = QPushButton("×")
        close.setFlat(True)
        close.setFixedWidth(24)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.kind = ""
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.kind = kind
        self.setStyleSheet(f"QFrame {{ {self.STYLES[kind]} border-radius: 4px; }}")
        self.label.setText(text)
        self.show()


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
        self.last_captured = None  # the latest snapshot that carries arrays
        self._dirty = False
        self._captured_dirty = False
        self._last_heatmaps = 0.0
        self.frames_drawn = 0
        self.redraw_seconds = 0.0
        self.diverged_message = ""

        self.controls = ControlsPanel()
        self.curves = CurvesPanel()
        self.heatmaps = HeatmapsPanel()
        self.corpus_panel = CorpusPanel()
        self.prediction = PredictionPanel()
        self.message = MessageBar()
        if config is not None:
            self.controls.set_config(config)

        # After every widget: no thread left behind on error. `worker`: "process" (the
        # default) or "thread", see gui/process_worker.py.
        self.workers = make_worker_thread(self, worker)
        self.worker = self.workers.worker
        self.insight = InsightViews(self)  # the insight tabs (issue 5)
        self.lm_mode = LanguageModelMode(self)  # the language-model task (issue 6)
        self.experiments = ExperimentActions(self)  # experiment files and lessons (issue 13)
        self._build_layout()
        self._build_menus()
        self._build_status_bar()
        self._connect()
        self.prediction.input.setText(DEFAULT_SENTENCE)

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
    def _build_layout(self) -> None:
        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)
        scroll.setFrameShape(QFrame.NoFrame)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.heatmaps, "Network")
        self.tabs.addTab(self.corpus_panel, "Corpus")
        self.insight.add_tabs(self.tabs)
        self.help_note = HelpNote(self.settings)  # "How to read this" for the tab in front
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._on_tab_changed(self.tabs.currentIndex())
        tabs_box = QWidget()
        tabs_layout = QVBoxLayout(tabs_box)
        tabs_layout.setContentsMargins(0, 0, 0, 0)
        tabs_layout.setSpacing(2)
        tabs_layout.addWidget(self.help_note)
        tabs_layout.addWidget(self.tabs, 1)
        middle = QSplitter(Qt.Vertical)
        middle.addWidget(self.curves)
        middle.addWidget(tabs_box)
        middle.setSizes([330, 560])
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.lm_mode.sample_box, 1)  # shown for a language model
        right_layout.addWidget(self.lm_mode.prediction_title)
        right_layout.addWidget(self.prediction, 1)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(scroll)
        split.addWidget(middle)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([310, 880, 330])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.message)
        layout.addWidget(self.experiments.note)  # a lesson's note
        layout.addWidget(split, 1)
        self.setCentralWidget(central)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.action_open = _action(
            self, "&Open corpus file…", self.corpus_panel.choose_file, "Ctrl+O"
        )
        self.action_open_folder = _action(
            self, "Open corpus &folder…", self.corpus_panel.choose_folder
        )
        file_menu.addAction(self.action_open)
        file_menu.addAction(self.action_open_folder)
        self.samples_menu = file_menu.addMenu("&Samples")
        file_menu.addSeparator()
        self.action_save_model = _action(self, "&Save model…", self.save_model_dialog, "Ctrl+S")
        self.action_load_model = _action(self, "&Load model…", self.load_model_dialog, "Ctrl+L")
        file_menu.addAction(self.action_save_model)
        file_menu.addAction(self.action_load_model)
        file_menu.addSeparator()
        self.experiments.add_menus(file_menu, self.menuBar())
        file_menu.addSeparator()
        self.action_export_window = _action(
            self, "Export &window as PNG…", self.export_window_dialog
        )
        file_menu.addAction(self.action_export_window)
        plots_menu = file_menu.addMenu("Export &plot (PNG at 2x, or SVG)")
        for name, plot in self._plots().items():
            plots_menu.addAction(
                _action(self, name, lambda _=False, p=plot, n=name: self.export_plot_dialog(p, n))
            )
        self.action_export_csv = _action(
            self, "Export metric &history as CSV…", self.export_csv_dialog
        )
        file_menu.addAction(self.action_export_csv)
        file_menu.addAction(self.insight.movie_action)
        file_menu.addSeparator()
        file_menu.addAction(_action(self, "&Quit", self.close, "Ctrl+Q"))

        view_menu = self.menuBar().addMenu("&View")
        self.theme = ThemeMenu(self, view_menu)  # light, dark, high contrast (issue 13)

        QShortcut(QKeySequence(Qt.Key_Space), self, self.toggle_training)
        QShortcut(QKeySequence(Qt.Key_S), self, self.step)
        QShortcut(QKeySequence("Ctrl+R"), self, self.reset)

    def _build_status_bar(self) -> None:
        self.status_state = QLabel("idle")
        self.status_rate = QLabel("")
        self.status_loss = QLabel("")
        bar = self.statusBar()
        bar.addWidget(self.status_state)
        bar.addPermanentWidget(self.status_loss)
        bar.addPermanentWidget(self.status_rate)

    def _connect(self) -> None:
        w = self.worker
        w.info_ready.connect(self._on_info)
        w.snapshot_ready.connect(self._on_frame)
        w.running_changed.connect(self._on_running_changed)
        w.load_progress.connect(self._on_load_progress)
        w.load_failed.connect(self._on_load_failed)
        w.diverged.connect(self._on_diverged)
        w.finished.connect(self._on_finished)
        # Bound methods of this QObject, never lambdas: a lambda would run in the worker's
        # thread, and widgets may only be touched from the GUI thread.
        w.error.connect(self._on_error)
        w.saved.connect(self._on_saved)
        self.controls.train_toggled.connect(self._on_train_toggled)
        self.controls.step_requested.connect(self.step)
        self.controls.reset_requested.connect(self.reset)
        self.controls.live_changed.connect(self._on_live_changed)
        self.corpus_panel.load_requested.connect(self.load_source)
        self.heatmaps.probe_changed.connect(self._on_probe_changed)

    def set_samples(self, samples: list[tuple[str, str]]) -> None:
        """Offer the built-in samples in the corpus panel and the File menu."""
        self.corpus_panel.set_samples(samples, self.source)
        self.samples_menu.clear()
        for name, description in samples:
            self.samples_menu.addAction(
                _action(self, f"{name} — {description}",
                        lambda _=False, n=name: self.load_source(f"sample:{n}"))
            )  # fmt: skip

    # -- commands ---------------------------------------------------------------------------
    def load_source(self, source: str) -> None:
        """Load a corpus (file, folder or sample:NAME) in the worker."""
        self.source = source
        self.message.hide()
        self.corpus_panel.set_loading(0.0, f"Loading {source}…")
        config = self.lm_mode.config_for_source(source, self.controls.config())
        self.workers.load_requested.emit(source, config)

    def toggle_training(self) -> None:
        self.controls.train_button.click()

    def training_stopped(self) -> bool:
        """The worker is not training and the frame it sent on stopping has arrived."""
        frame = self.last_frame
        return not self.worker.running and (frame is None or not frame.running)

    def start(self) -> None:
        if self.diverged_message:
            self.message.show_message(self.diverged_message, "error")
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

    def save_model_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save model", "model.npz", "Checkpoints (*.npz)"
        )
        if path:
            self.workers.save_requested.emit(path)

    def load_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load model", "", "Checkpoints (*.npz)")
        if path:
            self.diverged_message = ""
            self.message.hide()
            self.workers.load_checkpoint_requested.emit(path)

    def export_window_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export window", "rnnviz.png", "PNG (*.png)")
        if path:
            self.export_window(path)

    def export_window(self, path: str, scale: float = EXPORT_SCALE) -> bool:
        """The window as a PNG at `scale` times its size on screen (sharp on a projector)."""
        self.redraw(force=True)
        ratio = scale * self.devicePixelRatioF()
        image = QPixmap(self.size() * ratio)
        image.setDevicePixelRatio(ratio)
        image.fill(self.palette().window().color())
        self.render(image)
        return image.save(path)

    def export_plot_dialog(self, plot: pg.PlotItem, name: str) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export {name}", f"{name}.png", "PNG, 2x (*.png);;SVG (*.svg)"
        )
        if path:
            self.export_plot(plot, path)

    def export_plot(self, plot: pg.PlotItem, path: str, scale: float = EXPORT_SCALE) -> None:
        """One plot as SVG (by the file's suffix) or as a PNG at `scale` x its size."""
        from pyqtgraph.exporters import ImageExporter

        if path.lower().endswith(".svg"):
            export_svg(plot, path)
            return
        exporter = ImageExporter(plot)
        width = max(int(plot.sceneBoundingRect().width() * scale), 64)
        exporter.parameters()["width"] = width
        exporter.export(path)

    def export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export metrics", "metrics.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str) -> None:
        """Write the (decimated) history: split, step, epoch, loss, accuracy."""
        tmp = f"{path}.part"
        with open(tmp, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["split", "step", "epoch", "loss", "accuracy", "steps_per_point"])
            for split, hist in (("train", self.train_history), ("val", self.val_history)):
                cols = hist.arrays()
                for i in range(len(cols["step"])):
                    out.writerow([split, int(cols["step"][i]), f"{cols['epoch'][i]:.4f}",
                                  f"{cols['loss'][i]:.6g}", f"{cols['accuracy'][i]:.6g}",
                                  hist.stride])  # fmt: skip
        os.replace(tmp, path)

    # -- worker events ---------------------------------------------------------------------
    def _on_info(self, info: RunInfo) -> None:
        self.info = info
        self.diverged_message = ""
        self.train_history.clear()
        self.val_history.clear()
        self.current_val_loss: float | None = None  # the last validation pass's loss
        self.curves.clear()
        self.last_captured = None
        self.controls.set_config(info.config)
        self.curves.set_num_classes(len(info.label_names) if info.config.head == "softmax" else 0)
        self.curves.set_baselines(info.baselines)
        self.heatmaps.set_vocabulary(
            info.words, info.token_counts, info.probe_texts, info.label_names
        )
        self.corpus_panel.set_info(info)
        self.insight.set_info(info)
        self.prediction.set_model_info(
            info.tokenizer,
            info.maxlen,
            info.label_names,
            info.config.head,
            info.config.mask_padding,
        )
        self.lm_mode.set_info(info)  # a language model adapts the views set up above
        self.settings.setValue("last_corpus", info.source)
        self.source = info.source
        self.controls.set_progress(info.epoch, info.config.epochs, 0.0, info.step)
        self.status_state.setText(f"ready: {info.source}")
        self.experiments.on_info(info)
        for view in self.findChildren(pg.GraphicsView):  # plot items a new run added
            style_plots(view, self.theme.theme)
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
            self._captured_dirty = True
        self.insight.on_frame(frame)
        self.experiments.on_frame(frame)
        self._dirty = True

    def _on_error(self, text: str) -> None:
        self.message.show_message(html.escape(text).replace("\n", "<br>"), "error")

    def _on_saved(self, path: str) -> None:
        self.statusBar().showMessage(f"Saved {path}", 5000)

    def _on_probe_changed(self, _index: int) -> None:
        self._draw_captured()

    def _on_running_changed(self, running: bool) -> None:
        self.controls.set_running(running)
        self.status_state.setText("training" if running else "paused")

    def _on_train_toggled(self, train: bool) -> None:
        self.start() if train else self.pause()

    def _on_live_changed(self, changes: dict) -> None:
        self.workers.update_requested.emit(changes)
        if "mask_padding" in changes:
            self.prediction.set_mask_padding(changes["mask_padding"])

    def _on_load_progress(self, fraction: float, text: str) -> None:
        if fraction < 1.0 and text:  # seen from every tab
            self.status_state.setText(text)
        self.corpus_panel.set_loading(fraction, text)

    def _on_load_failed(self, text: str) -> None:
        self.source = self.info.source if self.info is not None else ""  # still the one shown
        self.corpus_panel.show_error(text)
        self.message.show_message(f"Could not load the corpus: {text}", "error")

    def _on_diverged(self, text: str) -> None:
        self.diverged_message = (
            f"Training paused: {text}" if text else "Training paused: the loss is not finite"
        )
        self.controls.set_running(False)
        self.message.show_message(html.escape(self.diverged_message), "error")
        self.status_state.setText("diverged")

    def _on_finished(self, reason: str) -> None:
        self.controls.set_running(False)
        if reason == "early stopping":
            text = "Early stopping: validation loss stopped improving; the best weights are kept."
        else:
            text = f"Finished ({reason}). Raise Epochs to continue, or Reset to start again."
        self.message.show_message(text, "info")
        self.status_state.setText(f"finished ({reason})")

    # -- drawing ----------------------------------------------------------------------------
    def redraw(self, force: bool = False) -> None:
        """Called ~30 times a second; draws only what changed and what is visible."""
        if not (self._dirty or force):
            return
        started = time.perf_counter()
        self._dirty = False
        self.curves.set_history(self.train_history, self.val_history)
        heatmaps_due = started - self._last_heatmaps >= HEATMAP_SECONDS
        if (self._captured_dirty and heatmaps_due) or force:
            self._captured_dirty = False
            self._last_heatmaps = started
            self._draw_captured()
        elif self._captured_dirty:
            self._dirty = True  # not due yet: draw it on a later tick (e.g. the last one)
        frame = self.last_frame
        if frame is not None:
            snap = frame.snapshot
            info = self.info
            epochs = info.config.epochs if info else 0
            if snap.finished and snap.stop_reason in ("epochs", "early stopping"):
                self.controls.set_finished(snap.epoch, self.controls.config().epochs,
                                           snap.step, snap.stop_reason)  # fmt: skip
            else:
                epochs = self.controls.config().epochs
                self.controls.set_progress(snap.epoch, epochs, snap.epoch_progress, snap.step)
            self.status_rate.setText(
                f"{frame.steps_per_second:,.0f} steps/s · {frame.tokens_per_second:,.0f} tokens/s"
                + ("" if frame.running else " (last run)")
            )
            loss = self.lm_mode.format_loss(snap.loss)  # bits per character for a char LM
            val = ""
            current, best = self.current_val_loss, snap.best_val_loss
            if current is not None and best is not None:
                fmt = self.lm_mode.format_loss
                val = f" · val loss: current {fmt(current)}, best {fmt(best)}"
            self.status_loss.setText(f"step {snap.step:,} · loss {loss}{val} · lr {snap.lr:.3g}")
        self.frames_drawn += 1
        self.redraw_seconds += time.perf_counter() - started
        self.frame_drawn.emit()

    def _draw_captured(self) -> None:
        snap = self.last_captured
        if snap is None or not snap.params:
            return
        self.heatmaps.update_snapshot(snap)
        self.insight.update_snapshot(snap)
        self.lm_mode.update_snapshot(snap)
        if self.prediction.isVisible():
            self.prediction.update_params(snap.params)

    def _plots(self) -> dict[str, pg.PlotItem]:
        plots = {f"{k} curve": v for k, v in self.curves.plots().items()}
        plots.update({f"{k} heatmap": v for k, v in self.heatmaps.plots().items()})
        plots["sentence hidden state"] = self.prediction.hidden_view.plot
        plots["sequence lengths"] = self.corpus_panel.hist_plot
        return plots

    def _on_tab_changed(self, index: int) -> None:
        self.help_note.show_for(PANELS[index] if 0 <= index < len(PANELS) else "")

    def show_panel(self, name: str) -> None:
        """Bring a tab to the front ("network" or "corpus")."""
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
        self.lm_mode.shutdown()  # the sample box's sampling thread
        self.insight.shutdown()  # the state space's analysis thread
        super().closeEvent(event)


def export_svg(plot: pg.PlotItem, path: str) -> None:
    """The plot's part of its scene as SVG, drawn by Qt (pyqtgraph's SVG exporter fails
    on some curves)."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    source = plot.sceneBoundingRect()
    svg = QSvgGenerator()
    svg.setFileName(path)
    svg.setSize(source.size().toSize())
    svg.setViewBox(QRectF(0, 0, source.width(), source.height()))
    svg.setTitle("rnnviz plot")
    painter = QPainter(svg)
    try:
        plot.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()


def _action(parent, text: str, slot, shortcut: str = "") -> QAction:
    action = QAction(text, parent)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(slot)
    return action
