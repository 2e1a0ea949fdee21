"""A model file made a run on the session's corpus, and the one-line texts of what went
wrong (the session's error events; the child process's too)."""

from __future__ import annotations

import traceback

from rnnviz import checkpoint
from rnnviz.data import load_corpus
from rnnviz.trainers import trainer_class


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
