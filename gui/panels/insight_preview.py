"""A small model trained on the sentiment sample, for previewing the insight panels alone."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=2)
def preview_trainer(steps: int = 300, source: str = "sample:sentiment"):
    """A Trainer after `steps` steps (cached), plus the snapshots of every 10th step."""
    from rnnviz.config import Config
    from rnnviz.data import load_corpus
    from rnnviz.trainer import Trainer

    trainer = Trainer(load_corpus(source), Config(epochs=0, hidden_size=32, embed_dim=16))
    snaps = [trainer.step(capture=(i % 10 == 9)) for i in range(steps)]
    return trainer, [s for s in snaps if s.params]


def preview_model(steps: int = 300):
    """(model, tokenizer, class names) of `preview_trainer`."""
    trainer, _ = preview_trainer(steps)
    return trainer.model, trainer.tokenizer, trainer.label_names
