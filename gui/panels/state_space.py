"""State space: trajectories, fixed points and the line attractor, live (issue 15).

The hidden states the validation texts visit (an LSTM's: [h, c], cell state included;
the readout, which reads h, padded with zeros for c), on their first two principal components:
each text's trajectory token by token (grey), its final state coloured by its class, the
fixed and slow points of the zero-input dynamics over them (black: stable, orange:
unstable), and the readout direction as an arrow (its length is the share of the
readout that lies in the plane). The prediction box's sentence is drawn as a highlighted
trajectory. Right: the eigenvalues of the selected fixed point's Jacobian with the unit
circle (ringed in green: the mode along the fixed points' line), and how far one chosen
word moves the state along the readout at each fixed point. The fixed-point search
(~0.2-1 s) runs on a thread of its own (`SpaceWorker`), at most once a second (and at
most a third of the time) while new snapshots arrive; drawing is a few `setData` calls.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui.panels.projection import CLASS_COLOURS
from gui.point_hover import PointHover, hover_label
from gui.widgets import ModelView, cache_static_parts
from rnnviz.dynamics import StateSpace, analyse, step_functions, token_input, visited_states
from rnnviz.tokenizer import PAD_ID

UPDATE_SECONDS = 1.0
TRAJECTORIES = 150  # validation texts drawn (evenly spread over the split)
STARTS = 128  # starts of the fixed-point search
ITERATIONS = 1000  # Adam iterations of the search (each start stops once slow enough)
TOKEN_LABELS = 30  # token labels along the highlighted sentence
STABLE, UNSTABLE = (20, 20, 20), (255, 127, 14)


@dataclass(frozen=True)
class SpaceRequest:
    """What one analysis needs: read-only parameter copies and the texts' ids."""

    params: dict
    head: str
    mask_padding: bool
    ids: np.ndarray  # (N, T)
    step: int
    run: int
    previous: StateSpace | None  # keeps the axes' signs from frame to frame


@dataclass(frozen=True)
class SpaceResult:
    step: int
    run: int
    model: object = None  # a classifier built from the request's parameters
    space: StateSpace | None = None
    summary: dict | None = None  # space.summary(), computed on the worker's thread
    line_modes: np.ndarray | None = None  # (K,) space.line_eigenvalues(), likewise
    where: np.ndarray | None = None  # (M, 2) (row, step) of each visited state
    seconds: float = 0.0
    error: str = ""


class SpaceWorker(QObject):
    """Runs the analysis off the GUI thread; one request at a time."""

    done = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.ran_on = None  # the QThread of the last analysis (the tests check it)

    @Slot(object)
    def run(self, request: SpaceRequest) -> None:
        from rnnviz import blas
        from rnnviz.model import RNNClassifier

        self.ran_on = QThread.currentThread()
        started = time.perf_counter()
        try:
            with blas.threads(1), np.errstate(all="ignore"):
                model = RNNClassifier.from_params(
                    request.params, request.head, request.mask_padding
                )
                states, where = visited_states(model, request.ids)
                if len(states) < 2 or not np.all(np.isfinite(states)):
                    raise ValueError("no finite states to analyse")
                space = analyse(
                    step_functions(model),
                    states,
                    model.params["W_out"],
                    token_input(model),
                    STARTS,
                    seed=0,
                    previous=request.previous,
                    iterations=ITERATIONS,
                )
                summary, line_modes = space.summary(), space.line_eigenvalues()
            seconds = time.perf_counter() - started
            result = SpaceResult(request.step, request.run, model, space, summary, line_modes,
                                 where, seconds)  # fmt: skip
        except (ValueError, np.linalg.LinAlgError) as exc:
            result = SpaceResult(request.step, request.run, error=str(exc))
        self.done.emit(result)


class StateSpacePanel(ModelView):
    """Visited states, fixed points, readout; eigenvalues and one word's effect beside."""

    refresh_seconds = UPDATE_SECONDS
    _request = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tokenizer = None
        self.maxlen = 1
        self.class_names: list[str] = []
        self.ids = np.zeros((0, 1), np.int64)
        self.labels = np.zeros(0, np.int64)
        self.texts: list[str] = []
        self.text = ""
        self.result: SpaceResult | None = None
        self.coords = np.zeros((0, 2))  # visited states on PC 1, 2
        self.fixed_coords = np.zeros((0, 2))
        self.highlight = np.zeros((0, 2))
        self.effect = np.zeros(0)  # the chosen word's change along the readout per fixed point
        self.selected = 0
        self._line_modes = np.zeros(0, complex)  # per fixed point, the eigenvalue along the line
        self._run = 0
        self._busy = self._queued = False  # an analysis runs / another is owed after it
        self._range: tuple | None = None
        self._brushes = [pg.mkBrush(*c) for c in CLASS_COLOURS]

        self.summary = QLabel("<i>Load a labelled corpus and train to see its state space.</i>")
        self.summary.setWordWrap(True)
        self.point_box = QSpinBox()
        self.point_box.setRange(0, 0)
        self.point_box.setToolTip("Fixed point whose eigenvalues are shown (or click one)")
        self.token_edit = QLineEdit()
        self.token_edit.setPlaceholderText("a word")
        self.token_edit.setToolTip("Its change along the readout at each fixed point")
        self.token_edit.setMaximumWidth(160)
        self.effect_label = QLabel("")
        self.effect_label.setWordWrap(True)  # long lines must not widen the window
        self.hover_label = hover_label("Hover a trajectory's point to see its token")

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.plot: pg.PlotItem = self.graphics.addPlot(title="Hidden states, PCA to 2-D")
        self._setup_plot(self.plot, "PC 1", "PC 2")
        self.trails = pg.PlotDataItem(
            pen=pg.mkPen((150, 150, 150, 90), width=1), skipFiniteCheck=True
        )
        self.finals = pg.ScatterPlotItem(size=7, pen=pg.mkPen((60, 60, 60), width=0.5))
        self.fixed = pg.ScatterPlotItem(size=13, symbol="star", pen=pg.mkPen("w", width=0.8))
        self.chosen = pg.ScatterPlotItem(size=22, pen=pg.mkPen((0, 150, 0), width=2), brush=None)
        self.readout_line = pg.PlotDataItem(pen=pg.mkPen((0, 150, 0), width=3))
        self.readout_head = pg.ArrowItem(headLen=16, tipAngle=35, pen=None, brush=(0, 150, 0))
        self.readout_text = pg.TextItem("readout", color=(0, 120, 0), anchor=(0, 1))
        self.sentence = pg.PlotDataItem(
            pen=pg.mkPen((120, 0, 160), width=3),
            symbol="o",
            symbolSize=7,
            symbolBrush=(120, 0, 160),
        )
        self.marker = pg.ScatterPlotItem(size=14, pen=pg.mkPen((0, 0, 0), width=2), brush=None)
        for item in (
            self.trails,
            self.finals,
            self.readout_line,
            self.readout_head,
            self.readout_text,
            self.fixed,
            self.chosen,
            self.sentence,
            self.marker,
        ):
            self.plot.addItem(item)
        self.token_texts = [
            pg.TextItem("", color=(90, 0, 120), anchor=(0.5, 1.3)) for _ in range(TOKEN_LABELS)
        ]
        for item in self.token_texts:
            self.plot.addItem(item)
        self.readout_head.hide()

        self.side = pg.GraphicsLayoutWidget()
        self.side.setBackground("w")
        self.eigen_plot: pg.PlotItem = self.side.addPlot(title="Eigenvalues at fixed point 0")
        self._setup_plot(self.eigen_plot, "Re λ", "Im λ")
        self.eigen_plot.setAspectLocked(True)
        angle = np.linspace(0, 2 * np.pi, 200)
        self.eigen_plot.addItem(
            pg.PlotDataItem(np.cos(angle), np.sin(angle), pen=pg.mkPen((150, 150, 150), width=1))
        )
        self.eigen_dots = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(31, 119, 180), pen=None)
        self.eigen_plot.addItem(self.eigen_dots)
        self.line_mode = pg.ScatterPlotItem(size=14, pen=pg.mkPen((0, 150, 0), width=2), brush=None)
        self.eigen_plot.addItem(self.line_mode)
        self.eigen_plot.setRange(xRange=(-1.1, 1.1), yRange=(-1.1, 1.1), padding=0.05)
        self.side.nextRow()
        self.effect_plot: pg.PlotItem = self.side.addPlot(title="A word's change along the readout")
        self._setup_plot(self.effect_plot, "fixed point's position on the readout", "Δ readout")
        self.effect_bars = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(120, 0, 160), pen=None)
        self.effect_plot.addItem(self.effect_bars)
        self.effect_plot.addItem(pg.InfiniteLine(angle=0, pen=pg.mkPen((150, 150, 150))))
        self.effect_plot.enableAutoRange()

        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(QLabel("Fixed point"))
        top.addWidget(self.point_box)
        top.addWidget(QLabel("Word"))
        top.addWidget(self.token_edit)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self.graphics)
        splitter.addWidget(self.side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.effect_label)
        layout.addWidget(self.hover_label)

        # The search is a few hundred small NumPy steps: on its own thread, never on the
        # event loop; requests that arrive while it runs collapse into one.
        self.thread = QThread()
        self.thread.setObjectName("rnnviz-state-space")
        self.worker = SpaceWorker()
        self.worker.moveToThread(self.thread)
        self._request.connect(self.worker.run)
        self.worker.done.connect(self._on_result)
        self.thread.start()

        # The newest snapshot is always analysed: one that arrives before the view is due
        # (or after training pauses) gets a refresh when it is.
        self._trailing = QTimer(self)
        self._trailing.setSingleShot(True)
        self._trailing.timeout.connect(self._on_trailing)

        self.point_box.valueChanged.connect(self._on_point_chosen)
        self.token_edit.editingFinished.connect(self._draw_effect)
        self.fixed.sigClicked.connect(self._on_fixed_clicked)
        self.hover = PointHover(self.graphics, self.plot, self.marker, radius=10,
                                points=lambda: None if self.result is None else self.coords,
                                show=self.show_token)  # fmt: skip

    @staticmethod
    def _setup_plot(plot: pg.PlotItem, bottom: str, left: str) -> None:
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setLabel("bottom", bottom)
        plot.setLabel("left", left)
        for name in ("left", "bottom"):
            plot.getAxis(name).enableAutoSIPrefix(False)
        plot.disableAutoRange()
        cache_static_parts(plot)

    # -- public API -------------------------------------------------------------------
    def set_data(self, tokenizer, maxlen: int, class_names: list[str], data) -> None:
        """A new run: its tokenizer, classes and validation split (None: not a classifier)."""
        self.tokenizer, self.maxlen, self.class_names = tokenizer, int(maxlen), list(class_names)
        self._run += 1
        self.result, self._range, self._model = None, None, None
        if data is None or not len(data.val_ids):
            self.ids, self.labels, self.texts = np.zeros((0, self.maxlen), np.int64), [], []
            self.summary.setText(
                "<i>The state space needs a classifier with a validation split.</i>"
            )
        else:
            n = len(data.val_ids)
            rows = np.unique(np.linspace(0, n - 1, min(TRAJECTORIES, n)).astype(np.int64))
            self.ids, self.labels = data.val_ids[rows], np.asarray(data.val_labels)[rows]
            self.texts = [data.val_texts[i] for i in rows]
            self.summary.setText("<i>Waiting for the first snapshot…</i>")
        for item in (
            self.trails,
            self.finals,
            self.fixed,
            self.chosen,
            self.sentence,
            self.marker,
            self.readout_line,
            self.eigen_dots,
            self.line_mode,
            self.effect_bars,
        ):
            item.setData([], [])
        self.readout_head.hide()
        if tokenizer is not None and self.token_edit.text() not in tokenizer.vocab:
            words = tokenizer.id_to_word
            first = words[2] if len(words) > 2 else ""  # the first word after [PAD], [UNK]
            vocab = tokenizer.vocab
            self.token_edit.setText(
                next((w for w in ("great", "love", "good", "free") if w in vocab), first)
            )

    def set_text(self, text: str) -> None:
        """The prediction box's sentence, drawn as a highlighted trajectory."""
        self.text = text
        self._draw_sentence()

    def update_model(self, model, step: int = 0, settled: bool = False) -> None:
        super().update_model(model, step, settled)
        if self._pending and self.isVisible() and not self._trailing.isActive():
            wait = self.refresh_seconds - (time.perf_counter() - self._last)
            self._trailing.start(max(1, int(wait * 1000) + 1))

    def busy(self) -> bool:
        """An analysis is running, owed, or waiting to be due."""
        return self._busy or self._queued or self._trailing.isActive()

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """End the analysis thread (after the analysis in progress); True when it ended."""
        self._trailing.stop()
        self.thread.quit()
        return bool(self.thread.wait(timeout_ms))

    def refresh(self) -> None:
        self._begin_refresh()
        model = self._model
        if model is None or not len(self.ids):
            return
        if self._busy:
            self._queued = True
            return
        params = {k: np.asarray(v) for k, v in model.params.items()}
        if not all(np.all(np.isfinite(v)) for v in params.values()):
            return
        previous = self.result.space if self.result is not None else None
        request = SpaceRequest(
            params, model.head, model.mask_padding, self.ids, self._step, self._run, previous
        )
        self._busy = True
        self._request.emit(request)

    # -- handlers ---------------------------------------------------------------------
    def _on_result(self, result: SpaceResult) -> None:
        self._busy = False
        if result.run == self._run:
            if result.error:
                self.summary.setText(f"step {result.step:,}: {html.escape(result.error)}")
            else:
                self._show(result)
        if self._queued:
            self._queued = False
            self.refresh()

    def _on_trailing(self) -> None:
        if self._pending and self.isVisible():
            self.refresh()

    def _show(self, result: SpaceResult) -> None:
        self.result = result
        # The analysis shares the machine with the trainer: busy at most a third of the time.
        self.refresh_seconds = max(UPDATE_SECONDS, 3 * result.seconds)
        space = result.space
        axes = space.visited
        self.coords = axes.project(space.visited_states)[:, :2]
        self.fixed_coords = (
            axes.project(space.fixed.points)[:, :2] if len(space.fixed) else (np.zeros((0, 2)))
        )
        where = result.where
        same_text = np.append(where[1:, 0] == where[:-1, 0], False)
        self.trails.setData(self.coords[:, 0], self.coords[:, 1], connect=same_text)
        last = ~same_text  # each text's final state
        classes = self.labels[where[last, 0]]
        self.finals.setData(
            pos=self.coords[last], brush=[self._brushes[c % len(self._brushes)] for c in classes]
        )
        radius = space.fixed.spectral_radius
        self._line_modes = result.line_modes
        self.fixed.setData(
            pos=self.fixed_coords,
            data=np.arange(len(radius)),
            brush=[pg.mkBrush(*(STABLE if r < 1 else UNSTABLE)) for r in radius],
        )
        self.point_box.blockSignals(True)
        self.point_box.setRange(0, max(len(radius) - 1, 0))
        self.point_box.blockSignals(False)
        self.selected = min(self.selected, max(len(radius) - 1, 0))
        self._fit_range()
        self._draw_readout()
        self._draw_eigenvalues()
        self._draw_effect()
        self._draw_sentence()
        s = result.summary
        fmt = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
        top = ", ".join(f"{v:.3f}" for v in s["top_eigenvalues"]) or "–"
        stable = int((radius < 1).sum())
        lstm = len(space.readout) != result.model.hidden_size  # the state is [h, c]
        of = "states are the LSTM's [h, c] (the readout reads h); " if lstm else ""
        self.summary.setText(
            f"step {result.step:,}: {of}"
            f"{s['fixed_points']} fixed/slow points ({stable} stable); "
            f"PC 1-3 hold {s['pc_variance']:.0%} of the states' variance; fixed points on "
            f"their line: {fmt(s['fixed_point_pc1_share'])} (largest gap "
            f"{fmt(s['fixed_point_largest_gap'])}, λ along it {fmt(s['line_eigenvalue'])}); "
            f"top |λ| {top}; readout alignment {fmt(s['readout_alignment'])} "
            f"<span style='color:#777'>({result.seconds:.2f} s)</span>"
        )

    def _fit_range(self) -> None:
        pts = np.concatenate([self.coords, self.fixed_coords])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        span = np.maximum(hi - lo, 1e-6)
        if self._range is not None:
            (x0, x1), (y0, y1) = self._range
            inside = lo[0] >= x0 and hi[0] <= x1 and lo[1] >= y0 and hi[1] <= y1
            if inside and (x1 - x0) < 2 * span[0] and (y1 - y0) < 2 * span[1]:
                return
        pad = 0.1 * span
        self._range = ((lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1]))
        self.plot.setRange(xRange=self._range[0], yRange=self._range[1], padding=0)

    def _draw_readout(self) -> None:
        """The readout as an arrow from the fixed points' centre (or the states' mean)."""
        space = self.result.space
        in_plane = space.visited.components[:2] @ space.readout  # (2,) |.| <= 1
        start = self.fixed_coords.mean(axis=0) if len(self.fixed_coords) else np.zeros(2)
        (x0, x1), (y0, y1) = self._range
        end = start + 0.35 * min(x1 - x0, y1 - y0) * in_plane
        self.readout_line.setData([start[0], end[0]], [start[1], end[1]])
        # ArrowItem angles are in screen space; the y axis points up in the view.
        ratio = (self.plot.vb.width() or 1) / (x1 - x0) / ((self.plot.vb.height() or 1) / (y1 - y0))
        angle = np.degrees(np.arctan2(-(end[1] - start[1]), (end[0] - start[0]) * ratio))
        self.readout_head.setStyle(angle=180 + angle)
        self.readout_head.setPos(*end)
        self.readout_head.show()
        cls = self.class_names[1] if len(self.class_names) == 2 else "top class axis"
        self.readout_text.setText(f"readout → {cls} ({np.linalg.norm(in_plane):.0%} in plane)")
        self.readout_text.setAnchor((1, 1) if end[0] > (x0 + x1) / 2 else (0, 1))
        self.readout_text.setPos(*end)

    def _draw_eigenvalues(self) -> None:
        fixed = self.result.space.fixed if self.result is not None else None
        if fixed is None or not len(fixed):
            self.eigen_dots.setData([], [])
            self.line_mode.setData([], [])
            self.chosen.setData([], [])
            self.eigen_plot.setTitle("Eigenvalues: no fixed point found")
            return
        k = self.selected
        lam = fixed.eigenvalues[k]
        self.eigen_dots.setData(lam.real, lam.imag)
        along = self._line_modes[k : k + 1] if k < len(self._line_modes) else np.zeros(0)
        self.line_mode.setData(along.real, along.imag)  # the mode along the fixed points' line
        r = max(1.1, float(np.abs(lam).max()) * 1.05)
        self.eigen_plot.setRange(xRange=(-r, r), yRange=(-r, r), padding=0.05)
        kind = "stable" if fixed.spectral_radius[k] < 1 else "unstable"
        mags = np.abs(lam)
        second = f", {mags[1]:.2f}" if len(mags) > 1 else ""
        self.eigen_plot.setTitle(f"Point {k}, {kind}: |λ| {mags[0]:.2f}{second}")
        self.chosen.setData(pos=self.fixed_coords[k : k + 1])

    def _draw_effect(self) -> None:
        """The chosen word's one-step change along the readout, at every fixed point."""
        result = self.result
        word = self.token_edit.text().strip().lower()
        if result is None or self.tokenizer is None:
            return
        fixed, readout = result.space.fixed, result.space.readout
        token = self.tokenizer.vocab.get(word)
        if token is None or not len(fixed):
            self.effect_bars.setData([], [])
            why = (
                "no fixed points"
                if word and token is not None
                else f"'{word}' is not in the vocabulary"
            )
            self.effect_label.setText(html.escape(why) if word else "")
            return
        steps = step_functions(result.model)
        x = token_input(result.model, token)
        moved = steps.step(fixed.points, x) - fixed.points  # (K, S) one step with the word
        self.effect = moved @ readout
        position = fixed.points @ readout
        self.effect_bars.setData(position, self.effect)
        self.effect_plot.setTitle(f"'{html.escape(word)}': change along the readout")
        W = np.asarray(result.model.params["W_out"], np.float64)
        gap = ""
        if W.shape[1] == 2:
            logit = moved[:, : len(W)] @ (W[:, 1] - W[:, 0])  # the head reads h (not c)
            gap = (
                f"; the logit gap {self.class_names[1]} − {self.class_names[0]} moves by "
                f"{np.median(logit):+.2f}"
            )
        self.effect_label.setText(
            f"One step of <b>{html.escape(word)}</b> from the fixed points moves the state "
            f"{np.median(self.effect):+.3f} along the readout (median of {len(fixed)}){gap}"
        )

    def _draw_sentence(self) -> None:
        result = self.result
        words = self.tokenizer.tokenize(self.text) if self.tokenizer is not None else []
        if result is None or not words:
            self.sentence.setData([], [])
            for item in self.token_texts:
                item.hide()
            return
        ids = self.tokenizer.padding(self.tokenizer.encode([self.text]), self.maxlen, "pre")
        with np.errstate(all="ignore"):
            states, _ = visited_states(result.model, ids)
        self.highlight = result.space.visited.project(states)[:, :2]
        self.sentence.setData(self.highlight[:, 0], self.highlight[:, 1])
        names = [self.tokenizer.id_to_word[i] for i in ids[0][ids[0] != PAD_ID]]
        for i, item in enumerate(self.token_texts):
            if i < len(names):
                item.setText(names[i])
                item.setPos(*self.highlight[i])
                item.show()
            else:
                item.hide()

    def _on_point_chosen(self, value: int) -> None:
        self.selected = int(value)
        if self.result is not None:
            self._draw_eigenvalues()

    def _on_fixed_clicked(self, _item, points, *_args) -> None:
        if len(points):
            self.point_box.setValue(int(points[0].data()))

    def show_token(self, i: int) -> None:
        """Mark visited state i and name its token, its text and the text's class."""
        row, step = self.result.where[i]
        token = self.tokenizer.id_to_word[self.ids[row, step]]
        self.marker.setData(pos=self.coords[i : i + 1])
        label = self.class_names[self.labels[row]] if len(self.class_names) else ""
        text = self.texts[row]
        short = text if len(text) <= 90 else text[:87] + "…"
        self.hover_label.setText(
            f"<b>{html.escape(token)}</b> in “{html.escape(short)}” ({html.escape(label)})"
        )


if __name__ == "__main__":
    from gui.eval_data import eval_data
    from gui.panels.insight_preview import preview_trainer
    from gui.preview import run_preview

    app = pg.mkQApp("state space")
    trainer, _ = preview_trainer()
    panel = StateSpacePanel()
    panel.set_data(trainer.tokenizer, trainer.maxlen, trainer.label_names, eval_data(trainer))
    panel.set_text("the food was great and the staff lovely")
    panel.update_model(trainer.model, trainer.step_count)
    panel.show()
    panel.refresh()
    while panel.busy():
        app.processEvents()
        time.sleep(0.01)
    code = run_preview(panel, (1200, 650))
    panel.shutdown()
    raise SystemExit(code)
