"""How a run is shown, derived once from its description (`RunInfo`): the task's units,
reference line, titles, token rendering and which tabs apply.

Every panel reads the task from here in its own `set_info`; nothing else in the window
knows which task a run is (there is no language-model mode object editing widgets).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gui.tasks import loss_unit

CLASSIFY_TITLE = "<b>Try a sentence</b> (re-evaluated as it trains)"
LM_TITLE = "<b>Next token</b> after a prefix (re-evaluated as it trains)"
CLASSIFY_ONLY_TABS = frozenset({"errors", "state_space"})  # a confusion matrix of 40-odd
# "classes", a state space read along a class readout: neither applies to a language model
MAX_COLUMN_LABELS = 120  # label W_out's columns by token when V is at most this


@dataclass(frozen=True)
class Presentation:
    """What a view needs to show a run of either task."""

    task: str  # "classify" or "lm"
    loss_scale: float  # display unit per nat (1 / ln 2 for bits)
    loss_unit: str  # "nats", "bits per character", "nats per word"
    status_unit: str  # the status bar's short unit ("bits/char"), "" for nats
    reference: float | None  # the untrained loss in that unit (dashed line), or None
    reference_label: str
    accuracy_title: str
    prediction_title: str
    output_title: str  # W_out's heatmap title: H x C or H x V
    hidden_tabs: frozenset[str]  # --panel names that do not apply to this task

    @property
    def lm(self) -> bool:
        return self.task == "lm"

    def format_loss(self, loss: float) -> str:
        """A loss for the status bar: nats, or bits per character for a char-level LM."""
        if not math.isfinite(loss):
            return str(loss)
        value = f"{loss * self.loss_scale:.4f}"
        return f"{value} {self.status_unit}" if self.status_unit else value


def format_setting(value) -> str:
    """A setting's value as the controls, the status bar and Compare's legend show it:
    numbers to four significant digits (0.0005, not 5.00e-04 in one place and 0.0005 in
    another, nor 0.30000000000000004)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def presentation_of(info) -> Presentation:
    """The presentation of a run from its `RunInfo` (its config, words and labels)."""
    config = info.config
    V = len(info.words)
    scale, unit, reference = loss_unit(config, V)
    if config.task == "lm":
        bits = config.level == "char"
        return Presentation(
            task="lm",
            loss_scale=scale,
            loss_unit=unit,
            status_unit="bits/char" if bits else "",
            reference=reference,
            reference_label=(
                f"log2 V = {reference:.2f} (uniform guess)" if bits else "ln V (uniform guess)"
            ),
            accuracy_title="Next-token accuracy",
            prediction_title=LM_TITLE,
            output_title="W_out (H x V)",
            hidden_tabs=CLASSIFY_ONLY_TABS,
        )
    C = len(info.label_names)
    softmax = config.head == "softmax" and C > 1
    return Presentation(
        task="classify",
        loss_scale=1.0,
        loss_unit="",
        status_unit="",
        reference=math.log(C) if softmax else None,
        reference_label="ln C (untrained)",
        accuracy_title="Accuracy",
        prediction_title=CLASSIFY_TITLE,
        output_title="W_out (H x C)",
        hidden_tabs=frozenset(),
    )


NO_RUN = Presentation("classify", 1.0, "", "", None, "ln C (untrained)", "Accuracy",
                      CLASSIFY_TITLE, "W_out (H x C)", frozenset())  # fmt: skip
