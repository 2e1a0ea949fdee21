"""Where a session's run comes from: a corpus source, or a checkpoint on the current
corpus, turned into a trainer; with the progress lines a load shows on its way and the
one-line text of what went wrong."""

from __future__ import annotations

import traceback
from collections.abc import Callable

from rnnviz import checkpoint
from rnnviz.config import Config
from rnnviz.data import CorpusError, load_corpus
from rnnviz.trainers import make_trainer, trainer_class

BUSY = -1.0  # a load_progress fraction: a phase under way whose share is not known
LAST_SHARE = 0.99  # a phase's share as shown until the next phase (1.0 ends the load)


def load_run(
    source: str,
    config: Config,
    progress: Callable[[float, str], None],
    cancel: Callable[[], bool],
):
    """Read `source` for `config.task` and build a fresh trainer on it -> (corpus, trainer).

    `progress(fraction, text)` hears each phase (reading, then the vocabulary and
    encoding; BUSY while a share is not known); `cancel()` stops the reading.
    Raises what the loader or the trainer raises.
    """

    def reading(fraction: float) -> None:
        progress(fraction, f"Reading {source}… {fraction:.0%}")

    def building(text: str, fraction: float) -> None:  # (1.0 would hide the bar)
        progress(min(fraction, LAST_SHARE), text)

    corpus = load_corpus(source, task=config.task, progress=reading, cancel=cancel)
    progress(BUSY, building_text(corpus, config))
    return corpus, make_trainer(corpus, config, progress=building)


def is_plain_text(exc: BaseException, config: Config) -> bool:
    """A classifier's load that met plain text (offered to the language model instead)."""
    return isinstance(exc, CorpusError) and config.task == "classify" and "plain text" in str(exc)


def building_text(corpus, config: Config) -> str:
    """The load's second phase, as the progress line says it."""
    if config.task == "lm":
        chars = sum(len(t) for t in corpus.texts)
        return f"Building the vocabulary and encoding {chars:,} characters of text…"
    return f"Building the vocabulary and encoding {len(corpus.texts):,} texts…"


def checkpoint_run(path: str, corpus, source: str, task_now: str):
    """A trainer from the checkpoint at `path` on `corpus` (read again from `source` when
    the model's task is not `task_now`), at the step and epoch it was saved at
    -> (corpus, trainer). Raises ValueError (or the loader's error) with what is wrong."""
    ck = checkpoint.load(path)
    meta, task = ck.meta, ck.config.task
    if task != task_now:
        try:
            corpus = load_corpus(source, task=task)
        except Exception as exc:
            kind = "a language model" if task == "lm" else "a classifier"
            raise ValueError(f"it is {kind}, and {one_line(exc)}") from None
    trainer = trainer_class(task).load(path, corpus=corpus)
    # Trainer.load starts counting at 0; the checkpoint knows where it was.
    trainer.step_count = int(meta.get("step", 0))
    trainer.epoch = int(meta.get("epoch", 0))
    return corpus, trainer


def one_line(exc: BaseException) -> str:
    """An exception as the one line a user reads (its first line, or its type's name)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def where(exc: BaseException) -> str:
    """Where `exc` was raised, "(KeyError in trainer.py:120)", or "" when not known."""
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return ""
    last = tb[-1]
    return f"({type(exc).__name__} in {last.filename.rsplit('/', 1)[-1]}:{last.lineno})"
