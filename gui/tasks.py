"""The two tasks the app trains (classify, lm): settings per task and visible tokens.

Qt-free, so `gui/app.py` can use it before Qt is imported.
"""

from __future__ import annotations

import math

from rnnviz.config import LM_DEFAULTS, Config
from rnnviz.vocab_table import VISIBLE, visible_token, visible_words  # noqa: F401

TASK_NAMES = {"classify": "Classify", "lm": "Language model"}
_KEEP = ("task", "epochs")  # the window trains until paused, whatever the task


# The app trains on one BLAS thread beside its own window: there the "fast" preset
# (H=256) runs ~50 steps a second and learns smoothly from the first step, the default
# one (H=512, tuned for the two-thread benchmark) ~7, with loss spikes on a small text
# at each epoch start while its W_h grows (see bench/README.md, "Language model").
APP_LM_PRESET = "fast"


def task_defaults(task: str) -> Config:
    """The defaults of `task`: Config() for classify, the APP_LM_PRESET for lm."""
    return Config.for_task(task, APP_LM_PRESET)


def config_for_task(config: Config, task: str) -> Config:
    """`config` switched to `task`: fields the user left at the other task's default
    take this task's default (char level, the fast preset's H=256, ... for the language
    model)."""
    if config.task == task:
        return config
    old, new = task_defaults(config.task), task_defaults(task)
    fields = [f for f in LM_DEFAULTS if f not in _KEEP]  # where the two tasks' defaults differ
    changes = {f: getattr(new, f) for f in fields if getattr(config, f) == getattr(old, f)}
    return config.replace(task=task, **changes)


def loss_unit(config: Config, vocab_size: int) -> tuple[float, str, float]:
    """(scale from nats, unit name, the loss of a uniform guess in that unit).

    Char-level language models are read in bits per character (nats / ln 2); word-level
    ones in nats per word; classifiers in nats, untrained at ln C (see the curves)."""
    V = max(vocab_size, 2)
    if config.task == "lm" and config.level == "char":
        return 1.0 / math.log(2), "bits per character", math.log2(V)
    if config.task == "lm":
        return 1.0, "nats per word", math.log(V)
    return 1.0, "nats", math.log(V)
