"""The description of a run that the views read: one `RunInfo` per load, reset or
checkpoint, and one `Frame` per batch of steps (copies only, never live arrays).

Built where the trainer lives (the session, on a thread or in a child process), so the
seconds of sorting a large vocabulary never fall on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rnnviz.config import Config
from rnnviz.snapshot import Snapshot
from rnnviz.vocab_table import VocabularyTable, WordList, build_table, view_tokenizer, visible_words

MAX_VAL_ROWS = 2000  # validation rows kept for the errors view
SAMPLE_ROWS = 300  # training rows kept for "tokens that drive a unit"
SHORT_TEXT_STEPS = 4  # lm: fewer steps per epoch than this earns a warning
EXAMPLES = 6  # classify: training texts shown as examples (lm: 3 windows)


@dataclass(frozen=True)
class EvalData:
    """Copies of the validation split and a training sample (never live arrays)."""

    val_ids: np.ndarray  # (N, T)
    val_labels: np.ndarray  # (N,)
    val_texts: list[str]
    sample_ids: np.ndarray  # (S, T) an even sample of the training rows
    sample_labels: np.ndarray  # (S,)


@dataclass(frozen=True)
class RunInfo:
    """Everything the views need about a freshly built run (copies, not live objects)."""

    source: str
    warnings: list[str]
    label_names: list[str]
    class_counts: dict[str, int]
    num_texts: int
    num_train: int
    num_val: int
    words: list[str]  # id -> token
    token_counts: np.ndarray  # (V,) occurrences in the training texts
    maxlen: int
    lengths: np.ndarray  # (N_train,) tokens per training text before padding
    truncated: int  # training texts longer than maxlen
    examples: list[tuple[str, np.ndarray, str]]  # (text, padded ids, label name)
    probe_texts: list[str]
    config: Config
    tokenizer: object  # a private copy of the trainer's tokenizer (read-only use)
    steps_per_epoch: int
    step: int = 0
    epoch: int = 0
    text_chars: int = 0  # lm: characters in the text (train + validation)
    eval_data: EvalData | None = None  # classify: validation split + sample, for insight views
    vocabulary: VocabularyTable | None = None  # the corpus tab's table, sorted off the GUI thread
    truncated_texts: int = 0  # texts (train + validation) longer than maxlen
    truncated_tokens: int = 0  # tokens max length drops from their start
    # classify: validation accuracy of the reference models, {name: accuracy}
    # ("majority class", "bag of words"; rnnviz/baselines.py), drawn on the accuracy plot
    baselines: dict[str, float] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return self.config.task


@dataclass(frozen=True)
class Frame:
    """What the views receive: metrics since the last frame and the latest snapshot."""

    rows: np.ndarray  # (N, 4) step, epoch (fractional), loss, accuracy
    val_rows: np.ndarray  # (M, 4) the same for validation passes
    snapshot: Snapshot  # the latest; its arrays are filled when `captured`
    captured: bool
    steps_per_second: float
    tokens_per_second: float
    running: bool
    grad_norms: dict[str, float] = field(default_factory=dict)


TABLE_SHARE = 0.2  # of describe's work: the vocabulary table (sorts of V tokens), ...
# ... the rest the bag of words' fit (classify: 0.2 s of 0.24 s on SMS's 7,935 words)


def describe(trainer, corpus, progress: Callable[[float], None] | None = None) -> RunInfo:
    """The one description of a run, for either task: what the views keep, copied.
    `progress(fraction)` hears how far it got (the load's "Preparing the views")."""
    say = progress or (lambda _fraction: None)
    say(0.0)
    tok = view_tokenizer(trainer.tokenizer)
    common = dict(
        source=str(corpus.source),
        num_texts=len(corpus.texts),
        num_train=len(trainer.train_ids),
        num_val=len(trainer.val_ids),
        words=tok.id_to_word,  # one list with the tokenizer's and the table's: sent once
        token_counts=np.asarray(trainer.token_counts).copy(),
        config=trainer.config,
        tokenizer=tok,
        steps_per_epoch=int(trainer.steps_per_epoch),
        step=int(trainer.step_count),
        epoch=int(trainer.epoch),
    )
    if trainer.config.task == "lm":
        info = RunInfo(**common, **_language_model_fields(trainer, corpus, tok))
    else:
        info = RunInfo(**common, **_classifier_fields(trainer, corpus, tok, say))
    say(1.0)
    return info


def _classifier_fields(trainer, corpus, tok, say: Callable[[float], None]) -> dict:
    names = list(trainer.label_names)
    lengths = np.asarray(trainer.train_lengths).copy()
    n = min(EXAMPLES, len(trainer.train_ids))
    examples = [
        (trainer.train_texts[i], trainer.train_ids[i].copy(), names[int(trainer.train_labels[i])])
        for i in range(n)
    ]
    vocabulary = build_table(tok.id_to_word, trainer.token_counts)
    say(TABLE_SHARE)
    baselines = baseline_lines(trainer, lambda f: say(TABLE_SHARE + (1 - TABLE_SHARE) * f))
    return dict(
        warnings=list(corpus.warnings),
        label_names=names,
        class_counts=dict(trainer.corpus.class_counts()),  # with config.label_names applied
        maxlen=int(trainer.maxlen),
        lengths=lengths,
        truncated=int(np.sum(lengths > trainer.maxlen)),
        examples=examples,
        probe_texts=list(trainer.val_texts[: len(trainer.probe_ids)]),
        eval_data=eval_data(trainer),
        vocabulary=vocabulary,
        truncated_texts=int(getattr(trainer, "truncated_texts", 0)),
        truncated_tokens=int(getattr(trainer, "truncated_tokens", 0)),
        baselines=baselines,
    )


def _language_model_fields(trainer, corpus, tok) -> dict:
    """Token counts instead of texts and labels; the examples and probe texts are BPTT
    windows of the stream."""
    T = int(trainer.config.bptt)
    ids = trainer.train_ids
    examples = [
        (tok.decode(ids[i : i + T]), ids[i : i + T].copy(), "")
        for i in range(0, min(len(ids) - 1, 3 * T), T)
    ]
    warnings = list(corpus.warnings)
    if trainer.steps_per_epoch < SHORT_TEXT_STEPS:  # one pass is a handful of windows
        warnings.append(
            f"A short text for a language model: {len(ids):,} tokens make "
            f"{trainer.steps_per_epoch} step(s) per epoch at batch size "
            f"{trainer.config.batch_size}, and a large model soon learns it by heart (watch "
            "the validation loss). A smaller batch size or hidden size, or a longer text, "
            "generalises better."
        )
    return dict(
        warnings=warnings,
        label_names=[],
        class_counts={},
        maxlen=T,
        lengths=np.zeros(0, np.int64),
        truncated=0,
        examples=examples,
        probe_texts=[tok.decode(row) for row in trainer.probe_ids],
        text_chars=sum(len(t) for t in corpus.texts),
        vocabulary=build_table(WordList(visible_words(tok.id_to_word)), trainer.token_counts),
    )


def baseline_lines(trainer, progress=None) -> dict[str, float]:
    """{label: validation accuracy} of the majority class and the bag of words
    (`progress(fraction)` hears the fit, when it is computed now)."""
    found = trainer.fit_baselines(progress)
    lines = {"majority class": found.majority, "bag of words": found.bag_of_words}
    return {name: float(v) for name, v in lines.items() if v is not None}


def eval_data(trainer) -> EvalData | None:
    """Copy what the views need from a classifier's trainer (None for other trainers)."""
    if not hasattr(trainer, "val_labels") or not hasattr(trainer, "train_labels"):
        return None
    n = min(len(trainer.val_ids), MAX_VAL_ROWS)
    rows = np.linspace(0, len(trainer.train_ids) - 1, min(SAMPLE_ROWS, len(trainer.train_ids)))
    rows = np.unique(rows.astype(np.int64))
    return EvalData(
        val_ids=np.array(trainer.val_ids[:n]),
        val_labels=np.array(trainer.val_labels[:n]),
        val_texts=list(trainer.val_texts[:n]),
        sample_ids=np.array(trainer.train_ids[rows]),
        sample_labels=np.array(trainer.train_labels[rows]),
    )
