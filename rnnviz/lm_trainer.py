"""The language-model training loop, one step at a time (same surface as `Trainer`).

Training runs on one long token stream the way char-rnn does: the stream is cut into
`batch_size` contiguous lanes, each step takes the next `bptt` tokens of every lane,
and the hidden state a window ends in is the next window's h0 (truncated BPTT: the
gradient stops at the window's start, the state does not). The state is reset to
zero at the start of each epoch. Validation is the last `val_fraction` of the text.
"""

from __future__ import annotations

import math
from collections import deque
from functools import partial
from itertools import chain

import numpy as np

from rnnviz import blas, budget, checkpoint
from rnnviz.config import (  # noqa: F401 (LM_DEFAULTS, LM_PRESETS, lm_defaults: re-exported)
    LM_DEFAULTS,
    LM_PRESETS,
    LR_SCHEDULES,
    Config,
    lm_defaults,
)
from rnnviz.language_model import RNNLanguageModel
from rnnviz.parallel import BatchSplit, even_slices
from rnnviz.tokenizer import Tokenizer
from rnnviz.training import Batch, TrainingRun, in_pieces, tune_process

PLATEAU_FLOOR = 1 / 32  # the plateau schedule never takes lr below config.lr / 32
EVAL_LANES = 16  # the validation tail runs as this many parallel streams
EVAL_ELEMENTS = 2_000_000  # logits per evaluation chunk (lanes * window * V)
PROBE_WINDOWS, PROBE_LENGTH = 4, 64
PROBE_PROBA_LIMIT = 1_000_000  # larger (P, T, V) probabilities are left out of snapshots


def check_lm_config(config: Config) -> None:
    """Validate the language-model fields (Config checks the shared ones)."""
    if config.lr_schedule not in LR_SCHEDULES:
        raise ValueError(
            f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}; got {config.lr_schedule!r}"
        )
    for name in ("embed_dropout", "output_dropout"):
        if not 0.0 <= getattr(config, name) < 1.0:
            raise ValueError(f"{name} must be in [0, 1); got {getattr(config, name)}")
    if not 0.0 < config.lr_decay <= 1.0:
        raise ValueError(f"lr_decay must be in (0, 1]; got {config.lr_decay}")


PIECE_CHARS = 1 << 18  # a long text is tokenized in pieces of about this many characters


def text_pieces(text: str, size: int = PIECE_CHARS) -> list[str]:
    """`text` cut into consecutive pieces of about `size` characters that tokenize to
    the same tokens as the whole, at either level: each cut is before a whitespace."""
    pieces, start = [], 0
    while start < len(text):
        cut = min(start + size, len(text))
        while cut < len(text) and not text[cut].isspace():
            cut += 1
        pieces.append(text[start:cut])
        start = cut
    return pieces or [text]


def split_text(text: str, val_fraction: float, level: str) -> tuple[str, str]:
    """(train, validation): the last `val_fraction` of the text, cut at a space for words."""
    cut = len(text) - round(len(text) * val_fraction)
    if level == "word" and 0 < cut < len(text):
        space = text.find(" ", cut)
        cut = space if space != -1 else cut
    return text[:cut], text[cut:]


class LanguageModelTrainer(TrainingRun):
    """Trains an RNNLanguageModel on one long text, one window batch per `step()`.

    Parameters
    ----------
    corpus : a Corpus whose texts are joined (with newlines) into one stream.
    config : task "lm" settings; see `lm_defaults()` for the tuned char-level ones.
    tokenizer, model : reuse these (e.g. from a checkpoint) instead of new ones.
    progress : called as progress(phase, fraction) while the vocabulary is built and the
        text is encoded.
    """

    probe_proba_limit = PROBE_PROBA_LIMIT

    def __init__(
        self, corpus, config: Config | None = None, tokenizer=None, model=None, progress=None
    ):
        self.config = config = config or lm_defaults()
        if config.task != "lm":
            raise ValueError("LanguageModelTrainer trains language models (task 'lm')")
        check_lm_config(config)
        tune_process(config)
        self.corpus = corpus
        self.label_names: list[str] = []
        text = "\n".join(corpus.texts)
        train_text, val_text = split_text(text, config.val_fraction, config.level)
        pieces = text_pieces(train_text)
        if tokenizer is None:
            tokenizer = Tokenizer(config.level, split_punctuation=config.split_punctuation)
            in_pieces(pieces, tokenizer.fit, progress, "Building the vocabulary…")
        self.tokenizer = tokenizer
        self.train_ids = self._encode_stream(pieces, progress)
        self.val_ids = self._encode_stream(text_pieces(val_text))
        if len(self.train_ids) < 2:
            raise ValueError("the training text needs at least two tokens")
        V = self.tokenizer.vocab_size
        budget.check_fits(config, V, V, 1, len(self.train_ids) + len(self.val_ids))
        self.token_counts = np.bincount(self.train_ids, minlength=V)
        self.token_counts[0] = 0
        self.model = model or RNNLanguageModel(
            V, config.embed_dim, config.hidden_size, mask_padding=config.mask_padding,
            dtype=np.dtype(config.dtype), seed=config.seed, init=config.init,
            recurrent_gain=config.recurrent_gain, cell=config.cell,
            gate_init=config.gate_init, t_max=config.bptt,
        )  # fmt: skip
        self._start_optimizer()
        # The validation streams are independent: given more than one thread (batch or
        # BLAS), they run side by side, one BLAS thread each (2x faster than BLAS alone).
        threads = max(config.batch_threads, config.blas_threads)
        self._eval_split = self._split or (BatchSplit(self.model, threads) if threads > 1 else None)
        self._rng = np.random.default_rng(config.seed + 1)  # window alignment per epoch
        self._start_run()
        self.lr_scale = 1.0  # the schedule's factor on config.lr
        self._recent_losses: deque[float] = deque(maxlen=100)
        self._start_epoch()
        source = self.val_ids if len(self.val_ids) > PROBE_LENGTH else self.train_ids
        n = max(1, min(PROBE_LENGTH, len(source) // PROBE_WINDOWS))
        rows = max(1, min(PROBE_WINDOWS, len(source) // n))
        self.probe_ids = source[: rows * n].reshape(rows, n).copy()

    def _encode_stream(self, pieces: list[str], progress=None) -> np.ndarray:
        """The pieces of a text -> one (N,) stream of ids."""

        def encode(part: list[str]) -> list[np.ndarray]:
            return [np.array(ids, dtype=np.int64) for ids in self.tokenizer.encode(part)]

        done = in_pieces(pieces, encode, progress, "Encoding the text…")
        return np.concatenate([np.zeros(0, np.int64), *chain(*done)])

    # ------------------------------------------------------------------ layout
    def _lanes(self) -> tuple[int, int]:
        """(lanes B, tokens per lane L): whole windows only, unless the text is shorter."""
        n, T = len(self.train_ids) - 1, self.config.bptt
        B = max(1, min(self.config.batch_size, n // T))
        L = n // B
        return B, (L // T) * T or L

    @property
    def steps_per_epoch(self) -> int:
        _, L = self._lanes()
        return math.ceil(L / self.config.bptt)

    def _start_epoch(self) -> None:
        """Lay out the lanes (random alignment of the windows) and reset the state."""
        B, L = self._lanes()
        T = self.config.bptt
        spare = len(self.train_ids) - 1 - B * L
        offset = int(self._rng.integers(0, min(spare, T - 1) + 1)) if spare > 0 else 0
        stream = self.train_ids[offset : offset + B * L + 1]
        self._x = stream[:-1].reshape(B, L)
        self._y = stream[1:].reshape(B, L)
        self._pos = 0
        self.state = np.zeros((B, self.model.state_size), self.model.params.flat.dtype)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Texts -> (B, longest) ids, pre-padded."""
        seqs = self.tokenizer.encode(texts)
        return self.tokenizer.padding(seqs, max([1, *map(len, seqs)]))

    # ------------------------------------------------------------------ training
    def _next_batch(self) -> Batch:
        T, pos = self.config.bptt, self._pos
        x, y = self._x[:, pos : pos + T], self._y[:, pos : pos + T]  # (B, T) each
        self._pos += T
        options = dict(h0=self.state, dropout=self.config.embed_dropout,
                       output_dropout=self.config.output_dropout)  # fmt: skip
        return Batch(x, y, self._pos >= self._x.shape[1], options)

    def _after_backward(self, batch: Batch, capture: bool) -> None:
        self.state = self.model.last_state  # the next window starts where this one ended

    def _accuracy(self, output: np.ndarray, batch: Batch) -> float:
        return float(np.mean(output.argmax(axis=1) == batch.targets.T.reshape(-1)))  # (T*B, V)

    def _end_batch(self, loss: float, batch: Batch) -> None:
        self._recent_losses.append(float(loss))
        if batch.epoch_done:
            self.epoch += 1
            self._start_epoch()
            if self.config.lr_schedule == "exponential":
                self.lr_scale *= self.config.lr_decay

    def _counted_tokens(self, batch: Batch) -> np.ndarray:
        return batch.targets

    @property
    def epoch_progress(self) -> float:
        return self._pos / max(self._x.shape[1], 1)

    def _can_validate(self) -> bool:
        return len(self.val_ids) >= 2

    def _on_stalled(self) -> None:
        if self.config.lr_schedule == "plateau":
            self.lr_scale = max(self.lr_scale * self.config.lr_decay, PLATEAU_FLOOR)

    def evaluate(self, ids: np.ndarray | None = None) -> tuple[float, float]:
        """(nats per token, next-token accuracy) on the validation tail (or a 1-D stream),
        run as EVAL_LANES parallel streams with the state carried across chunks; with
        the averaged weights when config.weight_average is on."""
        with self.averaged_weights():
            return self._evaluate(ids)

    def _evaluate(self, ids) -> tuple[float, float]:
        stream = self.val_ids if ids is None else np.asarray(ids, dtype=np.int64).ravel()
        n = len(stream) - 1
        if n < 1:
            return float("nan"), float("nan")
        P = max(1, min(EVAL_LANES, n // 256))
        L = n // P
        x, y = stream[: P * L].reshape(P, L), stream[1 : P * L + 1].reshape(P, L)
        V = self.model.sizes[0]
        window = max(1, min(L, EVAL_ELEMENTS // (P * V)))
        split = self._eval_split
        if split is not None and split.threads <= P:
            # Each thread runs a share of the streams (the same sums, in another order).
            lanes = even_slices(P, split.threads)
            with blas.threads(1):
                sums = split.run(
                    [
                        partial(_stream_nll, replica, x[part], y[part], window)
                        for replica, part in zip(split.replicas, lanes, strict=True)
                    ]
                )
        else:
            sums = [_stream_nll(self.model, x, y, window)]
        total, correct, count = (sum(column) for column in zip(*sums, strict=True))
        return total / max(count, 1), correct / max(count, 1)

    def report(self, max_seconds: float | None = None, **extra) -> dict:
        """Final metrics of the model as it is now (the CLI's JSON line). With
        `max_seconds`, the validation tail is cut to what takes about that long (from the
        training speed); "report_sample" then says how many tokens were used."""
        val_loss = val_accuracy = None
        limit = self._report_limit(max_seconds, self._x.shape[0] * self.config.bptt)
        if limit is not None and len(self.val_ids) > 2 * limit + 1:
            extra["report_sample"] = {"val_tokens": 2 * limit}  # all the time for one split
            val_loss, val_accuracy = self.evaluate(self.val_ids[: 2 * limit + 1])
        elif len(self.val_ids) >= 2:
            val_loss, val_accuracy = self.evaluate()
        recent = list(self._recent_losses)
        out = {
            "train_loss": float(np.mean(recent)) if recent else None,  # last <=100 batches
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "val_perplexity": math.exp(min(val_loss, 700)) if val_loss is not None else None,
            "best_val_loss": self.best_val_loss,
            "steps": self.step_count,
            "epochs": self.epoch,
            "stop_reason": self.stop_reason or "stopped",
            "train_tokens": len(self.train_ids),
            "val_tokens": len(self.val_ids),
            "vocab_size": self.tokenizer.vocab_size,
            "level": self.config.level,
            "cell": self.config.cell,
            "train_seconds": self.seconds,
        }
        if self.config.level == "char" and val_loss is not None:
            out["val_bits_per_char"] = val_loss / math.log(2)
        return {**out, **extra}

    # ------------------------------------------------------------------ control
    def _check_config(self, config: Config) -> None:
        check_lm_config(config)

    def _current_lr(self) -> float:
        return self.config.lr * self.lr_scale

    def _on_config_change(self, old: Config) -> None:
        if self.config.lr != old.lr or self.config.lr_schedule != old.lr_schedule:
            self.lr_scale = 1.0  # a new base rate (or schedule) starts undecayed

    # ------------------------------------------------------------------ files
    @classmethod
    def load(cls, path, corpus) -> LanguageModelTrainer:
        """Continue training a saved language model on `corpus`."""
        ck = checkpoint.load(path)
        if ck.config.task != "lm":
            raise checkpoint.CheckpointError(f"{path} holds a classifier, not a language model")
        return cls(corpus, ck.config, tokenizer=ck.tokenizer, model=ck.model)


def _stream_nll(model, x: np.ndarray, y: np.ndarray, window: int) -> tuple[float, int, int]:
    """(summed nats, correct, counted) over (P, L) streams, `window` steps at a time with
    the state carried from chunk to chunk."""
    h = None
    total, correct, count = 0.0, 0, 0
    for start in range(0, x.shape[1], window):
        s, c, k = model.nll(x[:, start : start + window], y[:, start : start + window], h)
        total, correct, count = total + s, correct + c, count + k
        h = model.last_state
    return total, correct, count
