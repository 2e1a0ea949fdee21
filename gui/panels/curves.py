"""Loss and accuracy against steps: smoothing, log scale, hover read-out, ln C reference.

Language models read their loss in another unit (bits per character): `set_units`."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from gui.help_notes import CURVES_NOTE, help_button
from gui.history import DecimatedHistory, ema
from gui.presentation import presentation_of
from gui.reference_axis import ReferenceAxis
from gui.widgets import cache_static_parts

TRAIN_COLOUR = (31, 119, 180)
VAL_COLOUR = (255, 127, 14)
MAX_MARKED_POINTS = 60  # validation points drawn with markers up to this many
MAX_SMOOTH_POINTS = 512  # the smoothed line (2 px wide: stroked, the costliest to paint)
RAW_COLOUR = (190, 212, 232)  # the unsmoothed curve, faint behind the smoothed one
LOSS_TOPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5)  # finer: less empty room on top
LEGEND_RISE_PX = 9  # the legend's box (40 px) up into the layout's margin: it ends at the plot
REFERENCE_LABEL_PX = 24  # the height the "ln C" label needs above its line
BASELINE_COLOURS = {"majority class": (120, 120, 120), "bag of words": (44, 160, 44)}


def nice_step(value: float, mantissas: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0, 5.0, 7.5)) -> float:
    """The smallest 1, 1.5, 2, 3, 5 or 7.5 (or `mantissas`) x 10^k at or above `value`."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for m in (*mantissas, 10.0):
        if m * 10**exp >= value:
            return m * 10**exp
    return 10.0 ** (exp + 1)


def thinned(x: np.ndarray, y: np.ndarray, most: int) -> tuple[np.ndarray, np.ndarray]:
    """At most `most` evenly spread points of a curve, its first and last kept."""
    if len(x) <= most:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, most).round().astype(np.intp))
    return x[keep], y[keep]


class CurvesPanel(QWidget):
    """Two plots (loss, accuracy) built once and updated in place with `set_history`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._train: dict[str, np.ndarray] = {}
        self._val: dict[str, np.ndarray] = {}
        self._chance: float | None = None
        self._scale = 1.0  # loss unit per nat (1 / ln 2 for bits)
        self._unit = ""
        self._dirty = False

        self.smoothing = QSlider(Qt.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(60)
        self.smoothing.setToolTip("Exponential moving average weight, as in TensorBoard")
        self.smoothing_label = QLabel()
        self.log_scale = QCheckBox("Log-scale loss")
        self.follow = QCheckBox("Follow")
        self.follow.setChecked(True)
        self.follow.setToolTip(
            "Keep the whole run in view (panning or zooming a plot turns this off)"
        )
        self._ranges: dict[str, tuple] = {}
        self._val_drawn = -1
        self.hover_label = QLabel("Hover a curve to read step, epoch and value")
        self.hover_label.setStyleSheet("color: #555")

        top = QHBoxLayout()
        top.addWidget(QLabel("Smoothing"))
        top.addWidget(self.smoothing, 1)
        top.addWidget(self.smoothing_label)
        top.addSpacing(12)
        top.addWidget(self.log_scale)
        top.addWidget(self.follow)
        top.addWidget(help_button(CURVES_NOTE, self))  # how to read the curves, ln C

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.loss_plot = self.graphics.addPlot(row=0, col=0, title="Loss")
        self.reference_axis = ReferenceAxis()  # names the baselines beside the plot
        self.acc_plot = self.graphics.addPlot(
            row=0, col=1, title="Accuracy", axisItems={"right": self.reference_axis}
        )
        self.acc_plot.setXLink(self.loss_plot)
        self.acc_plot.setYRange(0, 1, padding=0.02)
        self.curves: dict[str, dict[str, pg.PlotDataItem]] = {}
        for key, plot in (("loss", self.loss_plot), ("accuracy", self.acc_plot)):
            # No grid: grid lines belong to the axes, which would then repaint every frame.
            plot.setLabel("bottom", "step")
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            # Ranges move in 1-2-5 steps (see _follow), not every frame: an axis whose
            # range changes must re-lay its ticks and text, the costliest part of a frame.
            plot.disableAutoRange()
            plot.hideButtons()
            plot.vb.sigRangeChangedManually.connect(self._on_manual_range)
            if key == "loss":  # (the accuracy plot's curves have the same colours: its
                # legend would only cover its title, the plot being narrower)
                # One row in the title's line, right-aligned: never over a curve or the ln
                # C line. Its box (40 px, taller than the 30 px title row) ends where the
                # title row ends: anchored to the plot's top it reached 9 px into the curves.
                legend = plot.addLegend(colCount=4, verSpacing=-4)
                legend.setParentItem(plot)
                legend.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(-4, -LEGEND_RISE_PX))
                plot.titleLabel.opts["justify"] = "left"  # the title left, the legend right
            plot.setTitle(plot.titleLabel.text)
            raw = plot.plot(pen=pg.mkPen(RAW_COLOUR, width=1), skipFiniteCheck=True)
            smooth = plot.plot(
                pen=pg.mkPen(TRAIN_COLOUR, width=2), name="train", skipFiniteCheck=True
            )
            val = plot.plot(
                pen=pg.mkPen(VAL_COLOUR, width=2),
                symbol="o",
                symbolSize=5,
                symbolBrush=VAL_COLOUR,
                symbolPen=None,
                name="validation",
            )
            self.curves[key] = {"raw": raw, "smooth": smooth, "val": val}
            cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((120, 120, 120), style=Qt.DotLine))
            cursor.setVisible(False)
            plot.addItem(cursor, ignoreBounds=True)
            self.curves[key]["cursor"] = cursor
            cache_static_parts(plot)  # axes change range rarely (1-2-5 steps): blit them
        self.chance_line = pg.InfiniteLine(
            angle=0,
            pen=pg.mkPen((200, 40, 40), width=1, style=Qt.DashLine),
            label="ln C (untrained)",
            labelOpts={
                # At the right end, where the followed view keeps room ahead of the curves.
                "position": 0.98,
                "color": (200, 40, 40),
                "anchors": [(1, 1), (1, 1)],
            },
        )
        self.chance_line.setVisible(False)
        self.loss_plot.addItem(self.chance_line, ignoreBounds=True)
        # Reference accuracies (majority class, bag of words): does the RNN beat them?
        # Named on the right-hand axis, not on the line: a label there covered the curve.
        self.baseline_lines: dict[str, pg.InfiniteLine] = {}
        for name, colour in BASELINE_COLOURS.items():
            line = pg.InfiniteLine(angle=0, pen=pg.mkPen(colour, width=1, style=Qt.DashLine))
            line.setVisible(False)
            self.acc_plot.addItem(line, ignoreBounds=True)
            self.baseline_lines[name] = line

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover_label)

        self.smoothing.valueChanged.connect(self._on_smoothing)
        self.follow.toggled.connect(self._on_follow)
        self.log_scale.toggled.connect(self._on_log_scale)
        self._mouse_proxy = pg.SignalProxy(
            self.graphics.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved
        )
        self._on_smoothing(self.smoothing.value())

    # -- public API -------------------------------------------------------------------
    def set_info(self, info) -> None:
        """A new run (`RunInfo`): its task's loss unit, reference line, titles, baselines."""
        p = presentation_of(info)
        self.clear()
        self.set_units(p.loss_scale, p.loss_unit, p.reference, p.reference_label,
                       p.accuracy_title)  # fmt: skip
        self.set_baselines(info.baselines)

    def set_num_classes(self, num_classes: int) -> None:
        """Place the dashed reference at ln C, the loss an untrained softmax starts at."""
        chance = math.log(num_classes) if num_classes > 1 else None
        self.set_units(1.0, "", chance, "ln C (untrained)", "Accuracy")

    def set_baselines(self, accuracies: dict[str, float]) -> None:
        """Dashed, labelled lines at these validation accuracies ({name: accuracy};
        names as in BASELINE_COLOURS); the others are hidden."""
        references = []
        for name, line in self.baseline_lines.items():
            value = accuracies.get(name)
            line.setVisible(value is not None)
            if value is not None:
                line.setValue(value)
                references.append((value, f"{name}\n{value:.3f}", BASELINE_COLOURS[name]))
        self.reference_axis.set_references(references)
        self.acc_plot.showAxis("right", bool(references))

    def set_units(
        self,
        scale: float,
        unit: str,
        reference: float | None,
        reference_label: str,
        accuracy_title: str = "Accuracy",
    ) -> None:
        """Show the loss as nats x `scale` in `unit` (e.g. bits per character), with the
        dashed reference line at `reference` (already in that unit) or none."""
        self._scale, self._unit = float(scale), unit
        self._chance = reference
        self.loss_plot.setTitle(f"Loss ({unit})" if unit else "Loss")
        if unit:
            self.loss_plot.setLabel("left", unit.replace(" per ", " / "))
        self.loss_plot.getAxis("left").showLabel(bool(unit))
        self.acc_plot.setTitle(accuracy_title)
        self.chance_line.label.setFormat(reference_label)
        self.chance_line.setVisible(self._chance is not None)
        self._ranges.pop("loss_y", None)
        self._val_drawn = -1  # validation points in the new unit
        self._place_chance_line()
        self._redraw()

    def set_history(self, train: DecimatedHistory, val: DecimatedHistory) -> None:
        """Redraw from the two histories (cheap: a few thousand points at most)."""
        self._train = train.arrays()
        self._val = val.arrays()
        self._redraw()

    def clear(self) -> None:
        self._train, self._val = {}, {}
        self._ranges.clear()
        self._val_drawn = -1
        for parts in self.curves.values():
            for name in ("raw", "smooth", "val"):
                parts[name].setData([], [])

    def plots(self) -> dict[str, pg.PlotItem]:
        """Plot items by name, for PNG export."""
        return {"loss": self.loss_plot, "accuracy": self.acc_plot}

    # -- drawing ----------------------------------------------------------------------
    def _weight(self) -> float:
        return self.smoothing.value() / 100.0

    def _values(self, source: dict, key: str) -> np.ndarray:
        """A metric column, the loss in the display unit."""
        return source[key] * self._scale if key == "loss" and self._scale != 1.0 else source[key]

    def _redraw(self) -> None:
        if not self._train or not len(self._train["step"]):
            return
        steps = self._train["step"]
        for key in ("loss", "accuracy"):
            y = self._values(self._train, key)
            parts = self.curves[key]
            parts["raw"].setData(steps, y)
            parts["smooth"].setData(*thinned(steps, ema(y, self._weight()), MAX_SMOOTH_POINTS))
        n_val = len(self._val["step"]) if self._val else 0
        if n_val != self._val_drawn:  # validation points are few and change rarely
            self._val_drawn = n_val
            # Markers help while points are few; past that they cost ~3 ms a frame
            # (pyqtgraph's scatter item is Python) and hide the line anyway.
            symbol = "o" if n_val <= MAX_MARKED_POINTS else None
            for key in ("loss", "accuracy"):
                if self.curves[key]["val"].opts["symbol"] != symbol:
                    self.curves[key]["val"].setSymbol(symbol)
                if n_val:
                    self.curves[key]["val"].setData(self._val["step"], self._values(self._val, key))
                else:
                    self.curves[key]["val"].setData([], [])
        if self.follow.isChecked():
            self._follow()

    def _follow(self) -> None:
        """Keep everything in view with ranges that change rarely (hysteresis)."""
        x_max = nice_step(float(self._train["step"][-1]) * 1.05)
        losses = [self._values(self._train, "loss")]
        if self._val and len(self._val["step"]):
            losses.append(self._values(self._val, "loss"))
        finite = np.concatenate(losses)
        finite = finite[np.isfinite(finite)]
        top = float(finite.max()) if finite.size else 1.0
        if self._chance is not None:  # room above the line for its label, inside the plot
            height = self.loss_plot.vb.height()  # 0 before the first layout: no room yet
            room = min(REFERENCE_LABEL_PX / height, 0.5) if height > 3 * REFERENCE_LABEL_PX else 0.0
            top = max(top, self._chance / (1.0 - room))
        if self.log_scale.isChecked():
            low = float(finite[finite > 0].min()) if (finite > 0).any() else 1e-3
            y = (math.floor(math.log10(low)), math.ceil(math.log10(max(top, 1e-12))))
        else:
            old = self._ranges.get("loss_y")
            y = (0.0, nice_step(top * 1.05, LOSS_TOPS))
            if old is not None and old[1] >= top and old[1] <= 2.5 * y[1]:
                y = old  # still fits and not far too tall: keep it
        self._set_range("x", self.loss_plot, x=(0.0, x_max))
        self._set_range("loss_y", self.loss_plot, y=y)
        self._set_range("acc_y", self.acc_plot, y=(0.0, 1.0))

    def _set_range(self, key: str, plot: pg.PlotItem, x=None, y=None) -> None:
        value = x if x is not None else y
        if self._ranges.get(key) == value:
            return
        self._ranges[key] = value
        if x is not None:
            plot.setXRange(*x, padding=0.01)
        else:
            plot.setYRange(*y, padding=0.02)

    def _on_manual_range(self, *_args) -> None:
        self.follow.setChecked(False)

    def _place_chance_line(self) -> None:
        if self._chance is None:
            return
        log = self.log_scale.isChecked()
        self.chance_line.setPos(math.log10(self._chance) if log else self._chance)

    def _on_smoothing(self, value: int) -> None:
        self.smoothing_label.setText(f"{value / 100:.2f}")
        self._redraw()

    def _on_log_scale(self, checked: bool) -> None:
        self.loss_plot.setLogMode(y=checked)
        self._ranges.pop("loss_y", None)
        self._place_chance_line()
        self._redraw()

    def _on_follow(self, checked: bool) -> None:
        if checked:
            self._ranges.clear()
            self._redraw()

    def _on_mouse_moved(self, event: tuple) -> None:
        pos: QPointF = event[0]
        if not self._train or not len(self._train["step"]):
            return
        for key, plot in (("loss", self.loss_plot), ("accuracy", self.acc_plot)):
            if plot.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                self._show_hover(key, x)
                return
        for parts in self.curves.values():
            parts["cursor"].setVisible(False)

    def _show_hover(self, key: str, x: float) -> None:
        steps = self._train["step"]
        i = int(np.clip(np.searchsorted(steps, x), 0, len(steps) - 1))
        if i > 0 and abs(steps[i - 1] - x) < abs(steps[i] - x):
            i -= 1
        column = self._values(self._train, key)
        value, smooth = column[i], ema(column, self._weight())[i]
        text = (
            f"step {int(steps[i]):,}  ·  epoch {self._train['epoch'][i]:.2f}  ·  "
            f"train {key} {value:.4f} (smoothed {smooth:.4f})"
        )
        if self._val and len(self._val["step"]):
            j = int(np.argmin(np.abs(self._val["step"] - steps[i])))
            v = self._values(self._val, key)[j]
            text += f"  ·  val {key} {v:.4f} @ step {int(self._val['step'][j]):,}"
        self.hover_label.setText(text)
        for parts in self.curves.values():
            parts["cursor"].setPos(steps[i])
            parts["cursor"].setVisible(True)


def _synthetic(train: DecimatedHistory, val: DecimatedHistory, steps: int) -> None:
    rng = np.random.default_rng(0)
    s = np.arange(1, steps + 1, dtype=np.float64)
    loss = 0.7 * np.exp(-s / 800) + 0.1 + 0.08 * rng.standard_normal(steps)
    acc = 1 - loss / 1.6 + 0.03 * rng.standard_normal(steps)
    train.append(np.column_stack([s, s / 250, loss, acc]))
    v = s[249::250]
    val.append(
        np.column_stack([v, v / 250, 0.7 * np.exp(-v / 800) + 0.15, 0.93 - np.exp(-v / 600)])
    )


if __name__ == "__main__":
    from gui.preview import run_preview

    app = pg.mkQApp("curves")
    panel = CurvesPanel()
    train, val = DecimatedHistory(), DecimatedHistory()
    _synthetic(train, val, 5000)
    panel.set_num_classes(2)
    panel.set_baselines({"majority class": 0.5, "bag of words": 0.8})
    panel.set_history(train, val)
    raise SystemExit(run_preview(panel))
