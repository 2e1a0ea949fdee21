"""Gradient flow through time: how much each earlier step still reaches the loss.

Every captured snapshot carries ||dL/dh_t|| for each step t of its batch, over real
tokens only (a classifier's `[PAD]` steps are left out, NaN where a batch has no word
yet); steps are counted back from the end, where every pre-padded sequence ends. This
view plots the latest per step (log scale), keeps a waterfall of them over training
(log10 of the ratio to the last step on a fixed scale of +-FLOW_DECADES, so runs compare:
blue = vanished, red = exploded), and the
per-parameter gradient norms and the share of clipped steps over training. Recording
is cheap and happens on every captured frame; drawing only when visible.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gui.panels.heatmaps import DIVERGING, nice_ceiling
from gui.widgets import cache_static_parts

CAPACITY = 256  # rows kept; the buffer halves itself (every other row) when full
RECENT = 50  # captured steps in the "recent" clipping share
PARAMS_TITLE = "Parameter gradient norms"
PARAM_COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
                 (148, 103, 189), (140, 86, 75))  # fmt: skip
TINY = 1e-30
FLOW_DECADES = 4  # the waterfall's colour scale, fixed so that two runs compare


STEP_AXIS = "steps before the end of the sequence (0 = its last token)"


def now_title(cell: bool, first_step: int | None) -> str:
    """The per-step plot's title, naming its curves (short: a long title squeezes the
    plot beside it)."""
    title = "‖dL/dh_t‖ (blue), ‖dL/dc_t‖ (orange)" if cell else "‖dL/dh_t‖ this batch"
    return title if first_step is None else f"{title}; dashed: step {first_step:,}"


class FlowHistory:
    """Sampled gradient statistics over a run, in bounded memory (no Qt).

    Every `stride`-th captured snapshot is kept; when `capacity` rows are stored,
    every other one is dropped and the stride doubles.
    """

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.clear()

    def clear(self) -> None:
        self.T = 0
        self.names: list[str] = []
        self.steps = np.zeros(0, np.int64)
        self.state = np.zeros((0, 0))  # (n, T) ||dL/dh_t||
        self.params = np.zeros((0, 0))  # (n, P) per-parameter gradient norms
        self.n = 0
        self.stride = 1
        self.seen = 0  # snapshots offered
        self.clipped_seen = 0
        self.recent: list[bool] = []

    def add(self, snapshot) -> bool:
        """Record a captured snapshot; returns True when it was stored."""
        norms = snapshot.state_grad_norms
        if norms is None or not np.isfinite(norms[-1]) or np.any(np.isinf(norms)):
            return False  # NaN is allowed before a batch's first word (no gradient there)
        self.seen += 1
        self.clipped_seen += bool(snapshot.clipped)
        self.recent = [*self.recent[-(RECENT - 1) :], bool(snapshot.clipped)]
        if len(norms) != self.T or not self.names:
            self._start(len(norms), sorted(snapshot.grad_norms))
        if (self.seen - 1) % self.stride:
            return False
        if self.n == self.capacity:
            keep = slice(1, None, 2)  # the newest row of each pair survives
            half = self.capacity // 2
            self.steps[:half] = self.steps[keep]
            self.state[:half] = self.state[keep]
            self.params[:half] = self.params[keep]
            self.n, self.stride = half, self.stride * 2
        i = self.n
        self.steps[i] = snapshot.step
        self.state[i] = norms
        self.params[i] = [snapshot.grad_norms.get(k, np.nan) for k in self.names]
        self.n += 1
        return True

    def _start(self, T: int, names: list[str]) -> None:
        seen, clipped, recent = self.seen, self.clipped_seen, self.recent
        self.clear()
        self.seen, self.clipped_seen, self.recent = seen, clipped, recent
        self.T, self.names = T, names
        self.steps = np.zeros(self.capacity, np.int64)
        self.state = np.zeros((self.capacity, T))
        self.params = np.zeros((self.capacity, len(names)))

    def log_ratio(self) -> np.ndarray:
        """(n, T) log10 ||dL/dh_t|| / ||dL/dh_T||: 0 at the last step, < 0 vanished."""
        s = self.state[: self.n]
        return np.log10(np.maximum(s, TINY) / np.maximum(s[:, -1:], TINY))

    @property
    def clipped_fraction(self) -> float:
        return self.clipped_seen / self.seen if self.seen else 0.0


class GradientFlowPanel(QWidget):
    """||dL/dh_t|| per step now and over training; parameter gradients; clipping."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = FlowHistory()
        self._dirty = False
        self.level = float(FLOW_DECADES)
        self._ranges: dict[str, tuple] = {}
        self._first: np.ndarray | None = None  # the first recorded ||dL/dh_t||, for reference
        self._first_step = 0
        self.summary = QLabel("<i>Waiting for a captured training step…</i>")
        self.summary.setWordWrap(True)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        g = self.graphics.ci
        self.now_plot: pg.PlotItem = g.addPlot(row=0, col=0, title="‖dL/dh_t‖ this batch")
        self.now_plot.setLogMode(y=True)
        self.now_plot.setLabel("bottom", STEP_AXIS)
        self.now_curve = self.now_plot.plot(
            pen=pg.mkPen((31, 119, 180), width=2), symbol="o", symbolSize=4,
            symbolBrush=(31, 119, 180), connect="finite",
        )  # fmt: skip
        self.cell_curve = self.now_plot.plot(
            pen=pg.mkPen((255, 127, 14), width=2),
            symbol="s",
            symbolSize=4,
            symbolBrush=(255, 127, 14),
            connect="finite",
        )  # fmt: skip  (the LSTM's ||dL/dc_t||)
        self._cell_now: np.ndarray | None = None
        self.first_curve = self.now_plot.plot(
            pen=pg.mkPen((150, 150, 150), width=1, style=pg.QtCore.Qt.DashLine),
            connect="finite",
        )
        self.params_plot: pg.PlotItem = g.addPlot(row=0, col=1, title=PARAMS_TITLE)
        self.params_plot.setLogMode(y=True)
        self.params_plot.setLabel("bottom", "training step")
        # The parameters are named in the title, in their colours: a legend inside the
        # plot covered the curves.
        self.param_curves: dict[str, pg.PlotDataItem] = {}

        self.flow_plot: pg.PlotItem = g.addPlot(
            row=1, col=0, colspan=3, title="log10 ‖dL/dh_t‖ / ‖dL/dh_T‖ over training"
        )
        self.flow_plot.invertY(True)
        self.flow_plot.setLabel("bottom", STEP_AXIS)
        self.flow_plot.setLabel("left", "training step")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.flow_plot.addItem(self.image)
        self.bar = pg.ColorBarItem(
            values=(-FLOW_DECADES, FLOW_DECADES), colorMap=pg.colormap.get(DIVERGING),
            interactive=False, width=12, label="decades",
        )  # fmt: skip
        self.bar.setImageItem(self.image, insert_in=self.flow_plot)
        for plot in (self.now_plot, self.params_plot):
            plot.getAxis("left").setStyle(maxTextLevel=0)  # decades only: 2..9 x crowd it
        for plot in (self.now_plot, self.params_plot, self.flow_plot):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            # No grid and no autorange: grid lines belong to the axes, and an axis whose
            # range moves re-lays its ticks and text, the costliest part of a frame.
            plot.disableAutoRange()
            cache_static_parts(plot)
        g.layout.setRowStretchFactor(0, 2)
        g.layout.setRowStretchFactor(1, 3)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.summary)
        layout.addWidget(self.graphics, 1)

    # -- public API -------------------------------------------------------------------
    def clear(self) -> None:
        """A new run: forget the history."""
        self.history.clear()
        self._ranges.clear()
        for curve in self.param_curves.values():
            curve.setData([], [])
        self.now_curve.setData([], [])
        self.first_curve.setData([], [])
        self.cell_curve.setData([], [])
        self._cell_now = None
        self.now_plot.setTitle("‖dL/dh_t‖ this batch")
        self.image.clear()
        self._first: np.ndarray | None = None

    def record(self, snapshot) -> None:
        """Keep a captured snapshot's gradient statistics (cheap; every frame)."""
        if self.history.add(snapshot):
            cell_norms = getattr(snapshot, "cell_grad_norms", None)
            self._cell_now = None if cell_norms is None else np.array(cell_norms, np.float64)
            if self._first is None:
                self._first = np.array(snapshot.state_grad_norms, np.float64)
                self._first_step = int(snapshot.step)
            self._dirty = True

    def redraw(self) -> None:
        """Draw what was recorded since the last call (only when visible)."""
        h = self.history
        if not self._dirty or not self.isVisible() or h.n == 0:
            return
        self._dirty = False
        T = h.T
        t = np.arange(1 - T, 1, dtype=np.float64)  # steps before the end: ..., -1, 0
        now = np.maximum(h.state[h.n - 1], TINY)
        self.now_curve.setData(t, now)
        cell_now = (
            self._cell_now if self._cell_now is not None and len(self._cell_now) == T else None
        )
        if cell_now is not None:
            self.cell_curve.setData(t, np.maximum(cell_now, TINY))
        else:
            self.cell_curve.setData([], [])
        first_shown = self._first is not None and len(self._first) == T
        if first_shown:
            self.first_curve.setData(t, np.maximum(self._first, TINY))
        else:
            self.first_curve.setData([], [])
        # The curves are named in the title: a legend inside the plot hides the data.
        title = now_title(cell_now is not None, self._first_step if first_shown else None)
        if title != self.now_plot.titleLabel.text:
            self.now_plot.setTitle(title)
        ratio = h.log_ratio()
        self.image.setImage(ratio, autoLevels=False, levels=(-self.level, self.level))
        first, last = float(h.steps[0]), float(h.steps[h.n - 1])
        height = max(last - first, 1.0)
        self.image.setRect(QRectF(0.5 - T, first, T, height))
        self._set_range("flow", self.flow_plot, (0.5 - T, 0.5), (first, first + height))
        steps = h.steps[: h.n].astype(np.float64)
        for j, name in enumerate(h.names):
            curve = self.param_curves.get(name)
            if curve is None:
                colour = PARAM_COLOURS[len(self.param_curves) % len(PARAM_COLOURS)]
                curve = self.params_plot.plot(pen=pg.mkPen(colour, width=1.5))
                self.param_curves[name] = curve
                self._name_parameters()
            curve.setData(steps, np.maximum(h.params[: h.n, j], TINY))
        self._set_decades("now", self.now_plot, (0.5 - T, 0.5), now, self._first, cell_now)
        x_top = float(nice_ceiling(max(last, 1.0)))
        self._set_decades("params", self.params_plot, (0.0, x_top), h.params[: h.n])
        real = np.flatnonzero(np.isfinite(ratio[-1]))
        start = int(real[0]) if real.size else T - 1  # the batch's first real token
        decades = float(ratio[-1, start])
        word = "vanishing" if decades < -2 else "exploding" if decades > 2 else "flowing"
        recent = np.mean(h.recent) if h.recent else 0.0
        self.summary.setText(
            f"Step {int(h.steps[h.n - 1]):,}: the first token, {T - 1 - start} steps before "
            f"the end, gets "
            f"<b>10^{decades:+.1f}</b> times the gradient of the last one "
            f"(<b>{word}</b>). Clipped: <b>{h.clipped_fraction:.0%}</b> of "
            f"{h.seen:,} sampled steps ({recent:.0%} of the last {len(h.recent)})."
        )

    def _name_parameters(self) -> None:
        """The title with a key line: each parameter's name in its curve's colour."""
        key = "&nbsp; ".join(
            f"<span style='color:{curve.opts['pen'].color().name()}'>━&nbsp;{name}</span>"
            for name, curve in self.param_curves.items()
        )
        plot = self.params_plot
        plot.setTitle(f"{PARAMS_TITLE}<br><span style='font-size:8pt'>{key}</span>")
        height = plot.titleLabel.item.boundingRect().height()  # two lines: a taller row
        plot.titleLabel.setMaximumHeight(height)
        plot.layout.setRowFixedHeight(0, height)

    def _set_range(self, key: str, plot: pg.PlotItem, x: tuple, y: tuple) -> None:
        # Grow in coarse steps: re-laying an axis every frame is the costly part of a frame.
        y_top = y[0] + nice_ceiling(y[1] - y[0])
        wanted = (x, (y[0], y_top))
        old = self._ranges.get(key)
        if old is not None and old[0] == x and old[1][0] == y[0] and old[1][1] >= y[1]:
            return
        self._ranges[key] = wanted
        plot.setRange(xRange=x, yRange=(y[0], y_top), padding=0)

    def _set_decades(self, key: str, plot: pg.PlotItem, x: tuple, *values, headroom: int = 0):
        """A log-y plot's range in whole decades, changed only when the data leave it;
        `headroom` empty decades on top (where the legend sits: two rows, never over a curve)."""
        data = np.concatenate([np.ravel(v) for v in values if v is not None])
        data = data[np.isfinite(data) & (data > 0)]
        if data.size == 0:
            return
        low, high = np.log10(data.min()), np.log10(data.max())
        old = self._ranges.get(key)
        if old is not None and old[0] == x and old[1][0] <= low and high <= old[1][1] - headroom:
            return
        y = (math.floor(low), max(math.ceil(high), math.floor(low) + 1) + headroom)
        self._ranges[key] = (x, y)
        plot.setRange(xRange=x, yRange=y, padding=0.02)
        # Decades only: over one or two decades pyqtgraph labels every 2..9 x 10^k too,
        # and in a plot this short those labels pile up on one another.
        decades = [(d, f"{10.0**d:g}") for d in range(y[0], y[1] + 1)]
        plot.getAxis("left").setTicks([decades, []])

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.redraw()


def synthetic_snapshots(n: int = 200, T: int = 30):
    """Snapshot-like objects with vanishing gradients that slowly recover."""
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        decay = 0.6 + 0.35 * i / n
        norms = decay ** np.arange(T)[::-1] * (1 + 0.1 * rng.random(T))
        grads = {k: math.exp(-i / 80) * s for k, s in (("W", 1.0), ("W_h", 0.3), ("W_out", 2.0))}
        clipped = bool(rng.random() < 0.3 * math.exp(-i / 50))
        out.append(
            SimpleNamespace(
                step=10 * (i + 1), state_grad_norms=norms, grad_norms=grads, clipped=clipped
            )
        )
    return out


if __name__ == "__main__":
    from gui.preview import run_preview

    app = pg.mkQApp("gradient flow")
    panel = GradientFlowPanel()
    panel.show()
    for snap in synthetic_snapshots():
        panel.record(snap)
    panel.redraw()
    raise SystemExit(run_preview(panel, (1000, 650)))
