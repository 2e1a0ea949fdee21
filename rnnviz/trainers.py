"""The trainer of a task: `Trainer` for "classify", `LanguageModelTrainer` for "lm"."""

from __future__ import annotations

from rnnviz.config import Config
from rnnviz.lm_trainer import LanguageModelTrainer
from rnnviz.trainer import Trainer

TRAINERS = {"classify": Trainer, "lm": LanguageModelTrainer}


def trainer_class(task: str) -> type:
    """The trainer class of `task` (its `load` continues a checkpoint)."""
    return TRAINERS[task]


def make_trainer(corpus, config: Config, progress=None):
    """A fresh trainer for `config.task` on `corpus`; `progress(text, fraction)` hears
    how building the vocabulary and encoding go."""
    return TRAINERS[config.task](corpus, config, progress=progress)
