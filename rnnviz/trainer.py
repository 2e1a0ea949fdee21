"""The training loop, one step at a time: what the CLI runs and the GUI's worker drives.

It knows nothing of threads or Qt. Each `step()` trains on one batch and returns an
immutable `Snapshot`; arrays go into a snapshot only when asked (`capture=True`), as
read-only copies, so a watcher on another thread never sees live model memory.
"""

from __future__ import annotations

import math
from itertools import chain

import numpy as np

from rnnviz import budget, checkpoint
from rnnviz.baselines import Baselines, compute_baselines
from rnnviz.config import Config
from rnnviz.data import Corpus, rename_labels, stratified_split
from rnnviz.dropout import word_dropout
from rnnviz.losses import softmax_cross_entropy, tanh_squared_error
from rnnviz.model import RNNClassifier
from rnnviz.tokenizer import Tokenizer
from rnnviz.training import Batch, TrainingRun, in_pieces, sample_indices, tune_process

# maxlen=0 means the longest training text, but at most this for a real corpus (a
# synthetic task's texts are never cut: its answer may sit in the first token)
AUTO_MAXLEN_CAP = 100
EVAL_CHUNK = 512  # rows per forward pass when evaluating


class Trainer(TrainingRun):
    """Trains an RNNClassifier on a labelled corpus, one batch per `step()`.

    Parameters
    ----------
    corpus : texts and integer labels (at least two classes).
    config : hyper-parameters; `config.seed` fixes the split, init and batch order.
    tokenizer, model : reuse these (e.g. from a checkpoint) instead of building new ones.
    progress : called as progress(phase, fraction) while the vocabulary is built and the
        texts are encoded (the app's progress bar, the command line's percentages).
    """

    def __init__(
        self,
        corpus: Corpus,
        config: Config | None = None,
        tokenizer: Tokenizer | None = None,
        model: RNNClassifier | None = None,
        progress=None,
    ) -> None:
        self.config = config = config or Config()
        if config.task != "classify":
            raise ValueError("Trainer trains classifiers; use LanguageModelTrainer for task 'lm'")
        tune_process(config)
        if config.label_names:
            corpus = rename_labels(corpus, config.label_names)
        self.corpus = corpus
        self.label_names = list(corpus.label_names)
        labels = np.asarray(corpus.labels, dtype=np.int64)
        if len(self.label_names) < 2 or len(np.unique(labels)) < 2:
            raise ValueError("a classifier needs examples of at least two classes")
        train_idx, val_idx = stratified_split(labels, config.val_fraction, config.seed)
        train_texts = [corpus.texts[i] for i in train_idx]
        val_texts = [corpus.texts[i] for i in val_idx]
        if tokenizer is None:
            tokenizer = Tokenizer(config.level, split_punctuation=config.split_punctuation,
                                  min_count=config.min_count)  # fmt: skip
            # In pieces, the same vocabulary as one fit: with min_count > 1 the pieces are
            # only counted, and the last fit adds what was seen often enough.
            work = tokenizer.count if config.min_count > 1 else tokenizer.fit
            in_pieces(train_texts, work, progress, "Building the vocabulary…")
            tokenizer.fit([])
        self.tokenizer = tokenizer
        encode = self.tokenizer.encode
        train_seqs = list(chain(*in_pieces(train_texts, encode, progress, "Encoding the texts…")))
        longest = max((len(s) for s in train_seqs), default=1)
        cap = longest if corpus.format == "synthetic" else AUTO_MAXLEN_CAP
        self.maxlen = config.maxlen or max(1, min(longest, cap))
        self.train_lengths = np.array([len(s) for s in train_seqs], dtype=np.int64)
        budget.check_fits(config, self.tokenizer.vocab_size, len(self.label_names),
                          len(corpus.texts), self.maxlen)  # fmt: skip
        self.train_ids = self.tokenizer.padding(train_seqs, self.maxlen, truncating="pre")
        val_seqs = self.tokenizer.encode(val_texts)
        self.val_ids = self.tokenizer.padding(val_seqs, self.maxlen, truncating="pre")
        # What max length cuts off (the start of long texts), said in the CLI and the app.
        over = [len(s) - self.maxlen for s in (*train_seqs, *val_seqs) if len(s) > self.maxlen]
        self.truncated_texts, self.truncated_tokens = len(over), sum(over)
        self.train_labels, self.val_labels = labels[train_idx], labels[val_idx]
        self.train_texts, self.val_texts = train_texts, val_texts
        if len(self.train_ids) == 0:
            raise ValueError("no training examples left after the validation split")
        self.token_counts = np.bincount(self.train_ids.ravel(), minlength=self.tokenizer.vocab_size)
        self.token_counts[0] = 0  # [PAD] is padding, not text
        if model is None:
            model = RNNClassifier(
                self.tokenizer.vocab_size,
                config.embed_dim,
                config.hidden_size,
                len(self.label_names),
                head=config.head,
                mask_padding=config.mask_padding,
                dtype=np.dtype(config.dtype),
                seed=config.seed,
                init=config.init,
                recurrent_gain=config.recurrent_gain,
                cell=config.cell,
                gate_init=config.gate_init,
                t_max=self.maxlen,
            )
        self.model = model
        self._start_optimizer()
        self._rng = np.random.default_rng(config.seed + 1)  # batch order
        self._word_rng = np.random.default_rng(config.seed + 2)  # word dropout
        self._batches = self._plan_epoch()
        self._cursor = 0
        self._start_run()
        self._epoch_loss_sum, self._epoch_batches = 0.0, 0
        self.last_epoch_train_loss: float | None = None
        self._baselines: Baselines | None = None
        source = self.val_ids if len(self.val_ids) else self.train_ids
        self.probe_ids = source[:8].copy()

    # ------------------------------------------------------------------ sizes
    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train_ids) / self.config.batch_size)

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def baselines(self) -> Baselines:
        """Majority-class and bag-of-words validation accuracies on this run's split
        (rnnviz/baselines.py), computed once when first asked."""
        return self.fit_baselines()

    def fit_baselines(self, progress=None) -> Baselines:
        """`baselines`, computed now if not yet; `progress(fraction)` hears the fit."""
        if self._baselines is None:
            self._baselines = compute_baselines(
                self.train_ids, self.train_labels, self.val_ids, self.val_labels,
                self.tokenizer.vocab_size, self.num_classes, progress=progress,
            )  # fmt: skip
        elif progress is not None:
            progress(1.0)
        return self._baselines

    def encode(self, texts: list[str]) -> np.ndarray:
        """Texts -> (B, maxlen) ids, pre-padded, keeping the last maxlen tokens."""
        return self.tokenizer.padding(self.tokenizer.encode(texts), self.maxlen, "pre")

    # ------------------------------------------------------------------ training
    def _plan_epoch(self) -> list[np.ndarray]:
        """The batches of one epoch, in random order.

        With bucketing, each run of 32 batches' worth of shuffled examples is sorted by
        length before it is cut into batches: a batch then holds texts of similar
        length, so few steps are all-[PAD] rows that still cost a matmul.
        """
        size = self.config.batch_size
        order = self._rng.permutation(len(self.train_ids))
        if self.config.bucketing:
            chunk = size * 32
            for start in range(0, len(order), chunk):
                part = order[start : start + chunk]
                order[start : start + chunk] = part[
                    np.argsort(self.train_lengths[part], kind="stable")
                ]
        batches = [order[i : i + size] for i in range(0, len(order), size)]
        return [batches[i] for i in self._rng.permutation(len(batches))]

    def _next_batch(self) -> Batch:
        rows = self._batches[self._cursor]
        self._cursor += 1
        epoch_done = self._cursor >= len(self._batches)
        if epoch_done:
            self._batches = self._plan_epoch()
            self._cursor = 0
        config = self.config
        ids = word_dropout(self._word_rng, self.train_ids[rows], config.word_dropout)  # (B, T)
        options = dict(dropout=config.embed_dropout, output_dropout=config.output_dropout)
        return Batch(ids, self.train_labels[rows], epoch_done, options)

    def _after_backward(self, batch: Batch, capture: bool) -> None:
        if capture:
            real_token_grad_norms(self.model.rnn, batch.inputs)

    def _accuracy(self, output: np.ndarray, batch: Batch) -> float:
        return float(np.mean(output.argmax(axis=1) == batch.targets))  # output (B, C)

    def _end_batch(self, loss: float, batch: Batch) -> None:
        self._epoch_loss_sum += loss
        self._epoch_batches += 1
        if batch.epoch_done:
            self.epoch += 1
            self.last_epoch_train_loss = self._epoch_loss_sum / self._epoch_batches
            self._epoch_loss_sum, self._epoch_batches = 0.0, 0

    @property
    def epoch_progress(self) -> float:
        return self._cursor / len(self._batches)

    def _can_validate(self) -> bool:
        return len(self.val_ids) > 0

    def evaluate(self, ids: np.ndarray | None = None, labels: np.ndarray | None = None):
        """(mean loss, accuracy) on the validation split, or on the given ids/labels
        (with the averaged weights when config.weight_average is on)."""
        with self.averaged_weights():
            return self._evaluate(ids, labels)

    def _evaluate(self, ids, labels) -> tuple[float, float]:
        if ids is None:
            ids, labels = self.val_ids, self.val_labels
        total_loss, correct = 0.0, 0
        for start in range(0, len(ids), EVAL_CHUNK):
            chunk, target = ids[start : start + EVAL_CHUNK], labels[start : start + EVAL_CHUNK]
            out = self.model.forward(chunk)
            if self.model.head == "softmax":
                loss = softmax_cross_entropy(out.logits, target)[0]
            else:
                loss = tanh_squared_error(out.logits, target)[0]
            total_loss += loss * len(chunk)
            correct += int(np.sum(out.proba.argmax(axis=1) == target))
        n = max(len(ids), 1)
        return total_loss / n, correct / n

    def report(self, max_seconds: float | None = None, **extra) -> dict:
        """Metrics of the weights the model holds now, which `save` writes (the CLI's JSON
        line): `weights` says whether those are the best evaluation's ("best", step
        `best_step`) or the last step's ("last"); `last_val_*` describe the last
        evaluation of the trained weights. With `max_seconds`, on random samples of each
        split sized from the training speed to take about that long; "report_sample"
        then says how many examples were used."""
        limit = self._report_limit(max_seconds, min(self.config.batch_size, len(self.train_ids)))
        train = sample_indices(len(self.train_ids), limit, self.config.seed)
        val = sample_indices(len(self.val_ids), limit, self.config.seed)
        train_loss, train_accuracy = self.evaluate(self.train_ids[train], self.train_labels[train])
        val_loss, val_accuracy = (
            self.evaluate(self.val_ids[val], self.val_labels[val])
            if len(self.val_ids)
            else (None, None)
        )
        if isinstance(train, np.ndarray) or isinstance(val, np.ndarray):
            extra["report_sample"] = {
                "train_examples": len(self.train_ids[train]),
                "val_examples": len(self.val_ids[val]),
            }
        return {
            "train_loss": train_loss,
            "train_accuracy": train_accuracy,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            **self.weights_report(),
            "baseline_majority": self.baselines.majority,
            "baseline_bag_of_words": self.baselines.bag_of_words,
            "steps": self.step_count,
            "epochs": self.epoch,
            "stop_reason": self.stop_reason or "stopped",
            "train_examples": len(self.train_ids),
            "val_examples": len(self.val_ids),
            "vocab_size": self.tokenizer.vocab_size,
            "maxlen": self.maxlen,
            "truncated_texts": self.truncated_texts,
            "truncated_tokens": self.truncated_tokens,
            "cell": self.config.cell,
            "train_seconds": self.seconds,
            **extra,
        }

    # ------------------------------------------------------------------ control
    def _on_config_change(self, old: Config) -> None:
        if self.config.batch_size != old.batch_size:  # re-cut what is left of this epoch
            rest = np.concatenate(self._batches[self._cursor :])
            size = self.config.batch_size
            self._batches = self._batches[: self._cursor] + [
                rest[i : i + size] for i in range(0, len(rest), size)
            ]

    # ------------------------------------------------------------------ files
    def _checkpoint_meta(self) -> dict:
        return {"maxlen": self.maxlen}

    @classmethod
    def load(cls, path, corpus: Corpus) -> Trainer:
        """Continue from a checkpoint on `corpus` (its labels must match the model's)."""
        ck = checkpoint.load(path)
        if ck.config.task != "classify":
            raise checkpoint.CheckpointError(f"{path} holds a language model, not a classifier")
        if ck.config.label_names:
            corpus = rename_labels(corpus, ck.config.label_names)
        if list(corpus.label_names) != ck.label_names:
            raise checkpoint.CheckpointError(
                f"{path} was trained on labels {ck.label_names}, this corpus has "
                f"{list(corpus.label_names)}"
            )
        config = ck.config.replace(maxlen=int(ck.meta.get("maxlen", ck.config.maxlen)))
        return cls(corpus, config, tokenizer=ck.tokenizer, model=ck.model)


def real_token_grad_norms(cell, ids: np.ndarray) -> None:
    """Gradient flow over real tokens only: ||dL/dh_t|| summed over the sequences whose
    step t is a word, not `[PAD]`; NaN where no sequence of the batch has a word yet.

    Sequences are pre-padded, so column t is `T - 1 - t` steps before every one's end.
    """
    squares = getattr(cell, "state_grad_squares", None)  # (T, B)
    if squares is None or squares.shape != ids.T.shape:
        return
    real = ids.T != 0  # (T, B)
    norms = np.sqrt((squares * real).sum(axis=1))  # (T,)
    norms[~real.any(axis=1)] = np.nan
    cell.state_grad_norms = norms
