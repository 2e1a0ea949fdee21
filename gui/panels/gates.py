"""Gates: a gated cell's gate activations over time, and each gate's mean over training.

For the chosen probe example, one heatmap per gate (GRU: reset r and update z; LSTM:
input i, forget f and output o), units down and the tokens across, on fixed 0..1
levels: an update / forget gate near 1 across the distractors is how a GRU or LSTM
carries a token over hundreds of steps. Below, the mean of each gate over the probe's
real tokens at every captured step. The tanh RNN has no gates: the view says so.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QGraphicsItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.glyphs import shown_token
from gui.panels.heatmaps import _ticks
from gui.widgets import cache_static_parts

# The gates shown per cell, and their block in the (T, G*H) gate values (rnnviz.cells).
SHOWN_GATES = {
    "gru": (("r", 0, "reset r"), ("z", 1, "update z (1 = keep h)")),
    "lstm": (("i", 0, "input i"), ("f", 1, "forget f (1 = keep c)"), ("o", 3, "output o")),
}
GATE_COLOURS = {"r": (214, 39, 40), "z": (31, 119, 180), "i": (44, 160, 44),
                "f": (31, 119, 180), "o": (255, 127, 14)}  # fmt: skip
SEQUENTIAL = "viridis"
CAPACITY = 2048  # mean rows kept; every other one dropped when full


class GateMeans:
    """Each gate's mean over training, in bounded memory (no Qt)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.clear()

    def clear(self) -> None:
        self.names: tuple[str, ...] = ()
        self.steps: list[int] = []
        self.values: list[list[float]] = []
        self.stride, self.seen = 1, 0

    def add(self, cell: str, step: int, gates: np.ndarray, ids: np.ndarray | None) -> None:
        """gates (P, T, G*H) of the probe; the mean of each shown gate over real tokens."""
        shown = SHOWN_GATES.get(cell, ())
        names = tuple(name for name, _, _ in shown)
        if names != self.names:
            self.clear()
            self.names = names
        self.seen += 1
        if not names or (self.seen - 1) % self.stride:
            return
        H = gates.shape[-1] // (4 if cell == "lstm" else 3)
        real = np.ones(gates.shape[:2], bool) if ids is None else np.asarray(ids) != 0
        if not real.any():
            real = np.ones_like(real)
        means = [float(gates[..., k * H : (k + 1) * H][real].mean()) for _, k, _ in shown]
        if len(self.steps) == self.capacity:
            self.steps, self.values = self.steps[1::2], self.values[1::2]
            self.stride *= 2
        self.steps.append(int(step))
        self.values.append(means)


class GateView:
    """One gate's (H x T) heatmap on fixed 0..1 levels, tokens on the x axis."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, title: str) -> None:
        self.plot: pg.PlotItem = layout.addPlot(row=row, col=0, title=title)
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.disableAutoRange()
        self.plot.setLabel("left", "unit")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.bar = pg.ColorBarItem(
            values=(0, 1), colorMap=pg.colormap.get(SEQUENTIAL), interactive=False, width=12
        )
        self.bar.setImageItem(self.image, insert_in=self.plot)
        cache_static_parts(self.plot)
        self.bar.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.shape: tuple | None = None
        self.labels: list[str] | None = None

    def set_data(self, values: np.ndarray, labels: list[str] | None) -> None:
        """values (T, H): shown transposed, units down and time across."""
        data = np.ascontiguousarray(values.T)
        self.image.setImage(data, autoLevels=False, levels=(0.0, 1.0))
        if data.shape != self.shape:
            self.shape = data.shape
            self.plot.setRange(xRange=(0, data.shape[1]), yRange=(0, data.shape[0]), padding=0)
        if labels != self.labels:
            self.labels = labels
            self.plot.getAxis("bottom").setTicks(_ticks(labels, 16))


class GatesPanel(QWidget):
    """Gate activations of a probe example over time, and the gates' means over training."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.words: list[str] = []
        self.means = GateMeans()
        self.cell = "rnn"
        self._snapshot = None
        self._dirty = False
        self.probe_box = QComboBox()
        self.probe_box.setMinimumContentsLength(30)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Gates of"))
        bar.addWidget(self.probe_box, 1)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.views: dict[str, GateView] = {}
        self.mean_plot: pg.PlotItem | None = None
        self.mean_curves: dict[str, pg.PlotDataItem] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.graphics, 1)
        self.probe_box.currentIndexChanged.connect(self._on_probe_selected)
        self._build("rnn")

    # -- public API -------------------------------------------------------------------
    def set_vocabulary(self, words: list[str], probe_texts: list[str]) -> None:
        """Words by id (token labels) and the probe examples to choose from; a new run."""
        self.words = list(words)
        self.probe_box.blockSignals(True)
        self.probe_box.clear()
        for i, text in enumerate(probe_texts):
            self.probe_box.addItem(f"{i}: {text[:70]}")
        self.probe_box.blockSignals(False)
        self.means.clear()
        self._snapshot = None

    def record(self, snapshot) -> None:
        """Keep a captured snapshot's gate means (cheap; every captured frame)."""
        cell = getattr(snapshot, "cell", "rnn")
        if cell != self.cell:
            self._build(cell)
        if snapshot.probe_gates is not None:
            self.means.add(cell, snapshot.step, snapshot.probe_gates, snapshot.probe_ids)
            self._dirty = True
        self._snapshot = snapshot

    def redraw(self) -> None:
        """Draw the newest snapshot (only when visible)."""
        snap = self._snapshot
        if snap is None or not self.isVisible() or snap.probe_gates is None:
            return
        if self.cell not in SHOWN_GATES:
            return
        gates = snap.probe_gates
        i = min(max(self.probe_box.currentIndex(), 0), len(gates) - 1)
        H = gates.shape[-1] // (4 if self.cell == "lstm" else 3)
        labels = None
        if snap.probe_ids is not None and self.words:
            labels = [self._word(t) for t in snap.probe_ids[i]]
        for name, k, _ in SHOWN_GATES[self.cell]:
            self.views[name].set_data(gates[i, :, k * H : (k + 1) * H], labels)
        if self._dirty and self.means.steps:
            self._dirty = False
            steps = np.asarray(self.means.steps, np.float64)
            values = np.asarray(self.means.values)
            for j, name in enumerate(self.means.names):
                self.mean_curves[name].setData(steps, values[:, j])
            self.mean_plot.setXRange(0, max(steps[-1], 1.0), padding=0.02)
            last = ", ".join(
                f"{n} {v:.2f}" for n, v in zip(self.means.names, values[-1], strict=True)
            )
            self.summary.setText(f"Step {int(steps[-1]):,}: mean gate over the probe: {last}.")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.redraw()

    # -- internals --------------------------------------------------------------------
    def _word(self, token: int) -> str:
        if token == 0:
            return "·"
        return shown_token(self.words[token]) if token < len(self.words) else "?"

    def _build(self, cell: str) -> None:
        """The plots of `cell`'s gates (none for the tanh RNN)."""
        self.cell = cell
        self.graphics.ci.clear()
        self.views, self.mean_curves, self.mean_plot = {}, {}, None
        self.means.clear()
        shown = SHOWN_GATES.get(cell, ())
        if not shown:
            self.summary.setText(
                "The tanh RNN has no gates. Choose Cell <b>gru</b> or <b>lstm</b> in the "
                "Model settings and press Reset: their update / forget gate near 1 is what "
                "carries a token across hundreds of steps."
            )
            return
        self.summary.setText("<i>Waiting for a captured training step…</i>")
        g = self.graphics.ci
        for row, (name, _, title) in enumerate(shown):
            self.views[name] = GateView(g, row, title)
        self.mean_plot = g.addPlot(row=len(shown), col=0, title="Mean of each gate over training")
        self.mean_plot.setLabel("bottom", "training step")
        self.mean_plot.setYRange(0, 1, padding=0.02)
        self.mean_plot.setMenuEnabled(False)
        self.mean_plot.hideButtons()
        self.mean_plot.addLegend(offset=(-5, 5), labelTextSize="8pt")
        for name, _, _ in shown:
            pen = pg.mkPen(GATE_COLOURS[name], width=2)
            self.mean_curves[name] = self.mean_plot.plot(pen=pen, name=name)

    def _on_probe_selected(self, _index: int) -> None:
        self.redraw()


def synthetic_snapshots(cell: str = "gru", n: int = 30, T: int = 40, H: int = 16):
    """Snapshot-like objects whose keep gate opens over training, for previews."""
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    G = 4 if cell == "lstm" else 3
    out = []
    for step in range(n):
        gates = rng.uniform(0, 1, (2, T, G * H))
        keep = 1 if cell in ("gru", "lstm") else 0
        gates[..., keep * H : (keep + 1) * H] = np.clip(
            0.5 + 0.5 * step / n + 0.05 * rng.standard_normal((2, T, H)), 0, 1
        )
        ids = rng.integers(2, 20, (2, T))
        out.append(
            SimpleNamespace(step=10 * (step + 1), cell=cell, probe_gates=gates, probe_ids=ids)
        )
    return out


if __name__ == "__main__":
    import sys

    from gui.preview import run_preview

    app = pg.mkQApp("gates")
    panel = GatesPanel()
    panel.set_vocabulary(["[PAD]", "[UNK]"] + [f"w{i}" for i in range(20)], ["probe a", "probe b"])
    panel.show()
    for snap in synthetic_snapshots(sys.argv[1] if len(sys.argv) > 1 else "gru"):
        panel.record(snap)
    panel.redraw()
    raise SystemExit(run_preview(panel, (1000, 700)))
