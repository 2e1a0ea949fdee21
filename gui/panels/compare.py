"""Compare runs: kept runs' curves overlaid, labelled by the settings that differ.

The current run is recorded from the frames as it trains; when a new run starts
(reset, new corpus, checkpoint) or "Keep this run" is clicked, it joins the kept runs.
Loss (smoothed training, dashed validation) and accuracy are overlaid per run, each
loss in its task's unit (bits per character for a char-level language model, as on its
own curves). Live changes made during a run show in its label as `lr=0.01→0.002`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.history import DecimatedHistory, ema
from gui.presentation import format_setting
from gui.widgets import cache_static_parts

MAX_RUNS = 8
UPDATE_SECONDS = 0.5
SMOOTHING = 0.9  # EMA weight of the training curves
COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (23, 190, 207), (127, 127, 127))  # fmt: skip


@dataclass
class Run:
    """One run's settings and decimated metric history."""

    settings: dict  # Config fields plus the corpus source (live fields: the latest value)
    scale: float = 1.0  # loss unit per nat (1 / ln 2 for bits per character)
    unit: str = "nats"
    started: dict = field(default_factory=dict)  # live fields changed in the run: first value
    train: DecimatedHistory = field(default_factory=lambda: DecimatedHistory(1024))
    val: DecimatedHistory = field(default_factory=lambda: DecimatedHistory(256))


def differing(settings: list[dict]) -> list[str]:
    """The setting names whose values are not the same in every run."""
    if len(settings) < 2:
        return []
    keys = sorted(set().union(*settings))
    return [k for k in keys if len({repr(s.get(k)) for s in settings}) > 1]


def run_label(index: int, settings: dict, keys: list[str], started: dict | None = None) -> str:
    """'run 2 (gru): lr=0.01, ...': the recurrent cell always, then what differs
    (`lr=0.01→0.002` for a setting changed during the run)."""
    started = started or {}
    parts = [
        f"{k}={format_setting(started[k])}→{format_setting(settings.get(k))}"
        if k in started
        else f"{k}={format_setting(settings.get(k))}"
        for k in [*keys, *(k for k in started if k not in keys)]
        if k not in ("source", "cell")
    ]
    if "source" in keys:
        parts.insert(0, str(settings.get("source", "")).removeprefix("sample:"))
    cell = f" ({settings['cell']})" if "cell" in settings else ""
    return f"run {index + 1}{cell}" + (": " + ", ".join(parts) if parts else "")


MIN_VAL_POINTS = 2  # validation passes before the accuracy plot shows them (not training's)


class ComparePanel(QWidget):
    """Overlaid loss and accuracy curves of the kept runs and the current one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kept: list[Run] = []
        self.current: Run | None = None
        self._last = 0.0
        self._dirty = False
        self.keep_button = QPushButton("Keep this run")
        self.keep_button.setToolTip("Freeze the current run's curves here (a new run also does)")
        self.clear_button = QPushButton("Clear kept runs")
        self.summary = QLabel("Runs are kept when a new one starts (Reset, new corpus).")
        self.summary.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.keep_button)
        top.addWidget(self.clear_button)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.loss_plot: pg.PlotItem = self.graphics.addPlot(row=0, col=0, title="Loss (nats)")
        self.acc_plot: pg.PlotItem = self.graphics.addPlot(row=0, col=1, title="Accuracy")
        for plot in (self.loss_plot, self.acc_plot):
            plot.setLabel("bottom", "step")
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            cache_static_parts(plot)
        self.acc_plot.setYRange(0, 1.02, padding=0)
        self.legend = self.loss_plot.addLegend(offset=(-5, 5), labelTextSize="8pt")
        self._items: list[tuple] = []  # (train loss, val loss, accuracy) per run shown
        self._labels: list[str] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.graphics, 1)
        self.keep_button.clicked.connect(self.keep_current)
        self.clear_button.clicked.connect(self.clear_kept)

    # -- public API -------------------------------------------------------------------
    def new_run(self, settings: dict, scale: float = 1.0, unit: str = "nats") -> None:
        """A new run starts: keep the previous one if it trained at all. Its loss is
        drawn as nats x `scale`, in `unit`."""
        if self.current is not None and self.current.train.total:
            self._keep(self.current)
        self.current = Run(dict(settings), scale, unit)
        self._dirty = True
        self.redraw(force=True)

    def add_rows(self, rows: np.ndarray, val_rows: np.ndarray) -> None:
        """Metrics of the current run (a frame's rows: step, epoch, loss, accuracy)."""
        if self.current is None:
            return
        if len(rows):
            self.current.train.append(rows)
            self._dirty = True
        if len(val_rows):
            self.current.val.append(val_rows)

    def update_settings(self, changes: dict) -> None:
        """Live changes made during the current run (they label it from now on)."""
        run = self.current
        if run is None:
            return
        for key, value in changes.items():
            if run.settings.get(key) != value:
                run.started.setdefault(key, run.settings.get(key))
                run.settings[key] = value
                if run.started[key] == value:  # changed back: as it started
                    del run.started[key]
        self._dirty = True

    def keep_current(self) -> None:
        """Freeze a copy of the current run's curves as a kept run."""
        cur = self.current
        if cur is None or not cur.train.total:
            return
        self._keep(
            Run(dict(cur.settings), cur.scale, cur.unit, dict(cur.started), _copy(cur.train),
                _copy(cur.val))
        )  # fmt: skip
        self.redraw(force=True)

    def clear_kept(self) -> None:
        self.kept = []
        self.redraw(force=True)

    def redraw(self, force: bool = False) -> None:
        """Draw when visible, at most twice a second (or now with `force`)."""
        if not self.isVisible() or not (self._dirty or force):
            return
        if not force and time.perf_counter() - self._last < UPDATE_SECONDS:
            return
        self._last, self._dirty = time.perf_counter(), False
        runs = [*self.kept, *([self.current] if self.current is not None else [])]
        keys = differing([r.settings for r in runs])
        while len(self._items) < len(runs):
            colour = COLOURS[len(self._items) % len(COLOURS)]
            train = self.loss_plot.plot(pen=pg.mkPen(colour, width=2))
            val = self.loss_plot.plot(pen=pg.mkPen(colour, width=1.5, style=Qt.DashLine))
            acc = self.acc_plot.plot(pen=pg.mkPen(colour, width=2))
            self._items.append((train, val, acc))
        labels = [
            run_label(i, r.settings, keys, r.started) + (" (now)" if r is self.current else "")
            for i, r in enumerate(runs)
        ]
        if labels != self._labels:  # the legend re-lays its text: only when it changes
            self._labels = labels
            self.legend.clear()
            for item, label in zip(self._items, labels, strict=False):
                self.legend.addItem(item[0], label)
        for i, (train_item, val_item, acc_item) in enumerate(self._items):
            if i >= len(runs):
                for item in (train_item, val_item, acc_item):
                    item.setData([], [])
                continue
            run = runs[i]
            t, v = run.train.arrays(), run.val.arrays()
            if len(t["step"]):
                train_item.setData(t["step"], ema(t["loss"] * run.scale, SMOOTHING))
            else:
                train_item.setData([], [])
            val_item.setData(v["step"], v["loss"] * run.scale)
            if len(v["step"]) >= MIN_VAL_POINTS:  # one point draws no line: training's then
                acc_item.setData(v["step"], v["accuracy"])
            elif len(t["step"]):
                acc_item.setData(t["step"], ema(t["accuracy"], SMOOTHING))
            else:
                acc_item.setData([], [])
        sources = {len(r.val) >= MIN_VAL_POINTS for r in runs}
        kind = {frozenset({True}): "Validation accuracy", frozenset({False}): "Training accuracy"}
        acc_title = kind.get(frozenset(sources), "Accuracy (validation, else training)")
        if runs and runs[-1].unit != "nats":  # a language model: of the next token
            acc_title = f"{acc_title} (next token)"
        if acc_title != self.acc_plot.titleLabel.text:
            self.acc_plot.setTitle(acc_title)
        units = list(dict.fromkeys(r.unit for r in runs))
        title = f"Loss ({units[-1]})" if len(units) == 1 else f"Loss ({'; '.join(units)})"
        if title != self.loss_plot.titleLabel.text:
            self.loss_plot.setTitle(title)
        n = len(self.kept)
        self.summary.setText(
            f"{n} kept run{'s' * (n != 1)} + the current one. Solid: training loss (smoothed); "
            "dashed: validation. Legend: the settings that differ."
        )

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.redraw(force=True)

    def _keep(self, run: Run) -> None:
        self.kept = [*self.kept, run][-MAX_RUNS:]
        self._dirty = True


def _copy(history: DecimatedHistory) -> DecimatedHistory:
    out = DecimatedHistory(history.capacity)
    cols = history.arrays()
    rows = np.stack([cols[k] for k in ("step", "epoch", "loss", "accuracy")], axis=1)
    out.append(rows)
    return out


def settings_of(config, source: str) -> dict:
    """What identifies a run for comparison: its config and its corpus."""
    values = dict(config.to_dict())
    values["source"] = source
    return values


if __name__ == "__main__":
    from gui.preview import run_preview
    from rnnviz.config import Config

    app = pg.mkQApp("compare")
    panel = ComparePanel()
    rng = np.random.default_rng(0)
    for i, cfg in enumerate((Config(), Config(head="tanh"), Config(optimizer="sgd", lr=0.1))):
        panel.new_run(settings_of(cfg, "sample:sentiment"))
        steps = np.arange(1, 601, dtype=np.float64)
        loss = 0.7 * np.exp(-steps / (100 * (i + 1))) + 0.05 * rng.random(600)
        panel.add_rows(np.stack([steps, steps / 60, loss, 1 - loss / 1.4], axis=1),
                       np.stack([steps[59::60], steps[59::60] / 60, loss[59::60] + 0.1,
                                 1 - loss[59::60] / 1.2], axis=1))  # fmt: skip
    raise SystemExit(run_preview(panel, (1000, 450)))
