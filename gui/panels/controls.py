"""Train / Pause / Step / Reset and the hyper-parameters, live where the maths allows."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.presentation import format_setting
from gui.tasks import TASK_NAMES, config_for_task
from gui.widgets import LightBar
from rnnviz.config import (
    CELLS,
    CLIPS,
    GATE_INITS,
    HEADS,
    INITS,
    LEVELS,
    LR_SCHEDULES,
    OPTIMIZERS,
    Config,
    default_lr,
    live_fields,
)

LR_MIN_EXP, LR_MAX_EXP = -5.0, 0.0  # the learning-rate slider spans 1e-5 .. 1
LR_TICKS = 100  # slider ticks per decade


class ControlsPanel(QWidget):
    """Buttons and hyper-parameter widgets.

    Live fields (Config fields the trainer accepts mid-run) are sent at once through
    `live_changed`; the others are kept pending and a banner asks for a reset.
    """

    train_toggled = Signal(bool)  # True: train, False: pause
    step_requested = Signal()
    reset_requested = Signal()
    live_changed = Signal(dict)  # {field: value} for Config fields that change live
    task_changed = Signal(str)  # the user picked another task: "classify" or "lm"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._config = Config()
        self._applied = Config()  # the config the running trainer was built with
        self._updating = False

        self.train_button = QPushButton("Train")
        self.train_button.setCheckable(True)
        self.train_button.setToolTip("Train / pause (Space)")
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("One batch (S)")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Fresh weights with the settings below (Ctrl+R)")
        for b in (self.train_button, self.step_button, self.reset_button):
            b.setFocusPolicy(Qt.NoFocus)
            b.setMinimumHeight(30)
        self.train_button.setStyleSheet("QPushButton:checked { background: #f3c969; }")

        self.task = QComboBox()
        for key, name in TASK_NAMES.items():
            self.task.addItem(name, key)
        self.task.setToolTip(
            "Classify: a label per text. Language model: predict the next token of plain "
            "text (switching reloads the corpus with fresh weights)"
        )
        self.level = _combo(LEVELS)
        self.level.setToolTip("Tokens: words, or single characters (reset to apply)")
        self.bptt = _spin(1, 4096)
        self.bptt.setToolTip("Language model: tokens per truncated-BPTT window")
        self.embed_dim = _spin(1, 1024)
        self.hidden_size = _spin(1, 2048)
        self.maxlen = _spin(0, 10000, special="auto")
        self.batch_size = _spin(1, 4096)
        self.lr_slider = QSlider(Qt.Horizontal)
        self.lr_slider.setRange(int(LR_MIN_EXP * LR_TICKS), int(LR_MAX_EXP * LR_TICKS))
        self.lr_label = QLabel()
        self.lr_label.setMinimumWidth(60)
        self.optimizer = _combo(OPTIMIZERS)
        self.head = _combo(HEADS)
        self.init = _combo(INITS)
        self.cell = _combo(CELLS)
        self.cell.setToolTip(
            "Recurrent cell: rnn (the seed's tanh RNN), gru or lstm (gated: they keep the "
            "gradient alive over long sequences; chrono-initialised gate biases)"
        )
        self.gate_init = _combo(GATE_INITS)
        self.gate_init.setToolTip(
            "Gate biases of a GRU or LSTM: chrono (Tallec & Ollivier 2018: the update / "
            "forget bias log U(1, T_max - 1), T_max the max length or BPTT window; the "
            "cell remembers across long sequences from the start) or zero (plain: on long "
            "recalls it stays at chance). The tanh RNN has no gates."
        )
        self.recurrent_gain = QDoubleSpinBox()
        self.recurrent_gain.setRange(0.05, 10.0)
        self.recurrent_gain.setSingleStep(0.25)
        self.recurrent_gain.setDecimals(2)
        self.recurrent_gain.setToolTip(
            "W_h is multiplied by this after init: above 1 the gradient grows on its way "
            "back through time (exploding; turn clipping off to see it), below 1 it fades"
        )
        self.clip = _combo(CLIPS)
        self.clip_value = QDoubleSpinBox()
        self.clip_value.setRange(0.001, 1e6)
        self.clip_value.setDecimals(3)
        self.mask_padding = QCheckBox("mask [PAD] steps")
        self.lr_schedule = _combo(LR_SCHEDULES)
        self.lr_schedule.setToolTip(
            "Language model: constant keeps the learning rate; plateau multiplies it by the "
            "factor after each validation pass that does not beat the best (never below "
            "lr/32); exponential multiplies it by the factor once per epoch"
        )
        self.lr_decay = _fraction(0.01, 1.0, 0.05)
        self.lr_decay.setToolTip(
            "Decay factor: per validation pass without gain (plateau) or per epoch "
            "(exponential); 1 = no decay"
        )
        self.embed_dropout = _fraction(0.0, 0.95, 0.05)
        self.embed_dropout.setToolTip(
            "Share of the input vector entries zeroed at random while training (the rest "
            "scaled up); 0 = off, never during validation, prediction or sampling"
        )
        self.word_dropout = _fraction(0.0, 0.95, 0.05)
        self.word_dropout.setToolTip(
            "Classify: share of the training words replaced by [UNK] in each batch, so the "
            "[UNK] vector learns what an unseen word means; 0 = off"
        )
        self.output_dropout = _fraction(0.0, 0.95, 0.05)
        self.output_dropout.setToolTip(
            "Share of the hidden-state entries feeding the output head zeroed at random "
            "while training; 0 = off"
        )
        self.weight_decay = _fraction(0.0, 1.0, 0.01, decimals=4)
        self.weight_decay.setToolTip(
            "Decoupled (AdamW-style) weight decay: each step shrinks the weight matrices by the "
            "fraction lr × this; 0 = off"
        )
        self.weight_average = _fraction(0.0, 0.9999, 0.001, decimals=4)
        self.weight_average.setSpecialValueText("off")
        self.weight_average.setToolTip(
            "Validation, the lr schedule and saved models use a moving average of the "
            "weights with this decay (0.999: about the last 1000 steps); training goes on "
            "with its own. A steadier, usually lower validation loss; off = 0"
        )
        self.epochs = _spin(0, 100000, special="until stopped")
        self.patience = _spin(0, 1000, special="off")
        self.patience.setToolTip(
            "Early stopping: stop after this many evaluations without a better validation "
            "accuracy (or loss: early_stop_metric), and keep the best weights"
        )

        lr_row = QHBoxLayout()
        lr_row.addWidget(self.lr_slider, 1)
        lr_row.addWidget(self.lr_label)
        clip_row = QHBoxLayout()
        clip_row.addWidget(self.clip)
        clip_row.addWidget(self.clip_value)
        self.schedule_row = schedule_row = QHBoxLayout()
        schedule_row.addWidget(self.lr_schedule, 1)
        times = QLabel("×")
        times.setToolTip(self.lr_decay.toolTip())
        schedule_row.addWidget(times)
        schedule_row.addWidget(self.lr_decay)

        task_form = QFormLayout()
        task_form.addRow("Task", self.task)
        task_form.addRow("Tokens", self.level)
        model_box = QGroupBox("Model (reset to apply)")
        self.model_form = model_form = QFormLayout(model_box)
        model_form.addRow("Embedding size D", self.embed_dim)
        model_form.addRow("Hidden size H", self.hidden_size)
        model_form.addRow("Cell", self.cell)
        model_form.addRow("Gate init", self.gate_init)
        model_form.addRow("Max length T", self.maxlen)
        model_form.addRow("BPTT window T", self.bptt)
        model_form.addRow("Head", self.head)
        model_form.addRow("Init", self.init)
        model_form.addRow("Recurrent gain", self.recurrent_gain)
        model_form.addRow("Optimiser", self.optimizer)
        train_box = QGroupBox("Training (live)")
        self.train_form = train_form = QFormLayout(train_box)
        train_form.addRow("Learning rate", lr_row)
        train_form.addRow("LR schedule", schedule_row)
        train_form.addRow("Clipping", clip_row)
        train_form.addRow("Weight decay", self.weight_decay)
        train_form.addRow("Weight average", self.weight_average)
        train_form.addRow("Input dropout", self.embed_dropout)
        train_form.addRow("Output dropout", self.output_dropout)
        train_form.addRow("Word dropout", self.word_dropout)
        train_form.addRow("Batch size", self.batch_size)
        train_form.addRow("Padding", self.mask_padding)
        train_form.addRow("Epochs", self.epochs)
        train_form.addRow("Early stopping", self.patience)

        self.banner = QFrame()
        self.banner.setStyleSheet("QFrame { background: #fff3cd; border-radius: 4px; }")
        self.banner_label = QLabel()
        self.banner_label.setWordWrap(True)
        self.banner_reset = QPushButton("Reset to apply")
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.addWidget(self.banner_label, 1)
        banner_layout.addWidget(self.banner_reset)
        self.banner.setVisible(False)

        self.epoch_label = QLabel("Epoch 0")
        self.epoch_label.setStyleSheet("font-weight: bold")
        self.progress = LightBar(10)

        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button, 2)
        buttons.addWidget(self.step_button, 1)
        buttons.addWidget(self.reset_button, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.epoch_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.banner)
        layout.addLayout(task_form)
        layout.addWidget(train_box)
        layout.addWidget(model_box)
        layout.addStretch(1)

        self.set_config(self._config)
        self.train_button.toggled.connect(self._on_train_toggled)
        self.step_button.clicked.connect(self.step_requested)
        self.reset_button.clicked.connect(self.reset_requested)
        self.banner_reset.clicked.connect(self.reset_requested)
        self.lr_slider.valueChanged.connect(self._on_lr_slider)
        self.task.activated.connect(self._on_task_chosen)
        for w in (
            self.embed_dim,
            self.hidden_size,
            self.maxlen,
            self.bptt,
            self.batch_size,
            self.epochs,
        ):
            w.valueChanged.connect(self._on_widget_changed)
        self.patience.valueChanged.connect(self._on_widget_changed)
        self.clip_value.valueChanged.connect(self._on_widget_changed)
        self.recurrent_gain.valueChanged.connect(self._on_widget_changed)
        for w in (
            self.lr_decay,
            self.embed_dropout,
            self.output_dropout,
            self.word_dropout,
            self.weight_decay,
            self.weight_average,
        ):
            w.valueChanged.connect(self._on_widget_changed)
        for w in (self.level, self.optimizer, self.head, self.init, self.clip, self.lr_schedule):
            w.currentIndexChanged.connect(self._on_widget_changed)
        self.cell.currentIndexChanged.connect(self._on_widget_changed)
        self.gate_init.currentIndexChanged.connect(self._on_widget_changed)
        self.mask_padding.toggled.connect(self._on_widget_changed)

    # -- public API -------------------------------------------------------------------
    def config(self) -> Config:
        """The configuration the widgets show now (pending shape changes included)."""
        return self._config

    def set_config(self, config: Config, applied: bool = True) -> None:
        """Show `config` without emitting; `applied` marks it as the trainer's own."""
        self._updating = True
        try:
            self._config = config
            if applied:
                self._applied = config
            self.task.setCurrentIndex(max(self.task.findData(config.task), 0))
            self.level.setCurrentText(config.level)
            self.bptt.setValue(config.bptt)
            self.embed_dim.setValue(config.embed_dim)
            self.hidden_size.setValue(config.hidden_size)
            self.maxlen.setValue(config.maxlen)
            self.batch_size.setValue(config.batch_size)
            self.lr_slider.setValue(round(math.log10(config.lr) * LR_TICKS))
            self.lr_label.setText(format_setting(config.lr))
            self.optimizer.setCurrentText(config.optimizer)
            self.head.setCurrentText(config.head)
            self.init.setCurrentText(config.init)
            self.cell.setCurrentText(config.cell)
            self.gate_init.setCurrentText(config.gate_init)
            self.gate_init.setEnabled(config.cell != "rnn")
            self.recurrent_gain.setValue(config.recurrent_gain)
            self.clip.setCurrentText(config.clip)
            self.clip_value.setValue(config.clip_value)
            self.clip_value.setEnabled(config.clip != "none")
            self.lr_schedule.setCurrentText(config.lr_schedule)
            self.lr_decay.setValue(config.lr_decay)
            self.lr_decay.setEnabled(config.lr_schedule != "constant")
            self.embed_dropout.setValue(config.embed_dropout)
            self.output_dropout.setValue(config.output_dropout)
            self.word_dropout.setValue(config.word_dropout)
            self.weight_decay.setValue(config.weight_decay)
            self.weight_average.setValue(config.weight_average)
            self.mask_padding.setChecked(config.mask_padding)
            self.epochs.setValue(config.epochs)
            self.patience.setValue(config.patience)
        finally:
            self._updating = False
        self._show_task_rows(config.task)
        self._update_banner()

    def set_task(self, task: str) -> None:
        """Switch to `task` as the user would (adapts defaults, emits `task_changed`)."""
        self.task.setCurrentIndex(self.task.findData(task))
        self._on_task_chosen(self.task.currentIndex())

    def set_lr(self, lr: float) -> None:
        """Move the learning-rate slider (emits `live_changed` like a user would)."""
        self.lr_slider.setValue(round(math.log10(lr) * LR_TICKS))

    def set_running(self, running: bool) -> None:
        """Reflect the worker's state on the Train button without emitting."""
        self.train_button.blockSignals(True)
        self.train_button.setChecked(running)
        self.train_button.setText("Pause" if running else "Train")
        self.train_button.blockSignals(False)

    def set_progress(self, epoch: int, epochs: int, fraction: float, step: int) -> None:
        total = f" / {epochs}" if epochs else ""
        self.epoch_label.setText(
            f"Epoch {epoch + 1 if fraction < 1 else epoch}{total}  ·  step {step:,}"
        )
        self.progress.set_fraction(fraction)

    def set_finished(self, epoch: int, epochs: int, step: int, reason: str) -> None:
        total = f" / {epochs}" if epochs else ""
        self.epoch_label.setText(f"Epoch {epoch}{total}  ·  step {step:,}  ·  done ({reason})")
        self.progress.set_fraction(1.0)

    # -- handlers ---------------------------------------------------------------------
    def _on_train_toggled(self, checked: bool) -> None:
        self.train_button.setText("Pause" if checked else "Train")
        self.train_toggled.emit(checked)

    def _on_task_chosen(self, _index: int) -> None:
        task = self.task.currentData()
        if task == self._config.task:
            return
        self.set_config(config_for_task(self._config, task), applied=False)
        self.task_changed.emit(task)

    def _show_task_rows(self, task: str) -> None:
        """Rows that mean something only for one task are hidden for the other."""
        lm = task == "lm"
        self.model_form.setRowVisible(self.maxlen, not lm)
        self.model_form.setRowVisible(self.bptt, lm)
        self.model_form.setRowVisible(self.head, not lm)  # the language model is softmax
        self.train_form.setRowVisible(self.mask_padding, not lm)  # one stream: no padding
        self.train_form.setRowVisible(self.schedule_row, lm)  # the classifier has no schedule
        self.train_form.setRowVisible(self.word_dropout, not lm)  # [UNK] for unseen words

    def _on_lr_slider(self, value: int) -> None:
        lr = 10 ** (value / LR_TICKS)
        lr = float(f"{lr:.3g}")
        self.lr_label.setText(format_setting(lr))
        if not self._updating:
            self._apply({"lr": lr})

    def _on_widget_changed(self, *_args) -> None:
        if self._updating:
            return
        self.clip_value.setEnabled(self.clip.currentText() != "none")
        self.lr_decay.setEnabled(self.lr_schedule.currentText() != "constant")
        self.gate_init.setEnabled(self.cell.currentText() != "rnn")
        self._apply(
            {
                "level": self.level.currentText(),
                "bptt": self.bptt.value(),
                "embed_dim": self.embed_dim.value(),
                "hidden_size": self.hidden_size.value(),
                "maxlen": self.maxlen.value(),
                "batch_size": self.batch_size.value(),
                "optimizer": self.optimizer.currentText(),
                "head": self.head.currentText(),
                "init": self.init.currentText(),
                "cell": self.cell.currentText(),
                "gate_init": self.gate_init.currentText(),
                "recurrent_gain": float(self.recurrent_gain.value()),
                "clip": self.clip.currentText(),
                "clip_value": float(self.clip_value.value()),
                "lr_schedule": self.lr_schedule.currentText(),
                "lr_decay": float(self.lr_decay.value()),
                "embed_dropout": float(self.embed_dropout.value()),
                "output_dropout": float(self.output_dropout.value()),
                "word_dropout": float(self.word_dropout.value()),
                "weight_decay": float(self.weight_decay.value()),
                "weight_average": float(self.weight_average.value()),
                "mask_padding": self.mask_padding.isChecked(),
                "epochs": self.epochs.value(),
                "patience": self.patience.value(),
            }
        )

    def _apply(self, values: dict) -> None:
        changed = {k: v for k, v in values.items() if getattr(self._config, k) != v}
        if not changed:
            return
        if "optimizer" in changed and "lr" not in changed:
            # Adam's 0.002 makes SGD look broken: each optimiser starts at its own rate.
            changed["lr"] = default_lr(changed["optimizer"], values.get("cell", "rnn"))
            self._updating = True
            self.lr_slider.setValue(round(math.log10(changed["lr"]) * LR_TICKS))
            self.lr_label.setText(format_setting(changed["lr"]))
            self._updating = False
        try:
            self._config = self._config.replace(**changed)
        except ValueError as exc:  # a combination Config refuses: say so, change nothing
            self.banner_label.setText(f"Not applied: {exc}")
            self.banner.setVisible(True)
            return
        # The running trainer's task decides (the lm-only fields are kept for the next
        # language-model run when a classifier runs; their rows are hidden then).
        fields = live_fields(self._applied.task)
        live = {k: v for k, v in changed.items() if k in fields}
        if self._config.optimizer != self._applied.optimizer:
            live.pop("lr", None)  # the pending optimiser's rate: applied with it at Reset
        if live:
            self._applied = self._applied.replace(**live)
            self.live_changed.emit(live)
        self._update_banner()

    def _update_banner(self) -> None:
        pending = [
            f for f in Config.SHAPE_FIELDS if getattr(self._config, f) != getattr(self._applied, f)
        ]
        self.banner.setVisible(bool(pending))
        if pending:
            names = ", ".join(f.replace("_", " ") for f in pending)
            self.banner_label.setText(f"Changed {names}: this needs fresh weights.")


def _spin(low: int, high: int, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setKeyboardTracking(False)  # typing "128" must not build models of 1 and 12
    if special:
        box.setSpecialValueText(special)
    return box


def _fraction(low: float, high: float, step: float, decimals: int = 2) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)  # before the range: the range is rounded to the decimals
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setKeyboardTracking(False)
    return box


def _combo(items: tuple[str, ...]) -> QComboBox:
    box = QComboBox()
    box.addItems(list(items))
    return box


if __name__ == "__main__":
    import pyqtgraph as pg

    from gui.preview import run_preview

    app = pg.mkQApp("controls")
    panel = ControlsPanel()
    panel.set_progress(2, 10, 0.4, 1234)
    panel.live_changed.connect(lambda d: print("live", d))
    raise SystemExit(run_preview(panel, (320, 640)))
