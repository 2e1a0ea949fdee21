"""The training worker: a thin QObject on a QThread that drives the trainer.

The trainer is `rnnviz.trainer.Trainer` (classify) or
`rnnviz.lm_trainer.LanguageModelTrainer` (task "lm"); both have the same surface.

It steps in time slices of ~25 ms inside one slot call, then re-posts itself with
`QTimer.singleShot(0, ...)` so that commands (pause, live changes, stop) are handled
in between. Every ~33 ms it asks the trainer for a captured snapshot (read-only copies
of the arrays) and emits one `Frame`: the metrics of every step since the previous
frame plus that snapshot. The GUI never touches the trainer.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from gui.eval_data import EvalData, eval_data
from gui.tasks import visible_words
from gui.vocabulary import VocabularyTable, WordList, build_table, view_tokenizer
from rnnviz.config import Config
from rnnviz.snapshot import Snapshot

SLICE_SECONDS = 0.025  # steps per slot call before letting queued commands in
FRAME_SECONDS = 1 / 30  # a captured snapshot at most this often
RATE_WINDOW = 0.25  # seconds over which steps/s and tokens/s are averaged
SHORT_TEXT_STEPS = 4  # lm: fewer steps per epoch than this earns a warning
BUSY = -1.0  # a load_progress fraction: a phase under way whose share is not known
STEP_GRACE_SECONDS = 120.0  # closing: how long to wait on for a step still running


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
    """What the GUI receives: metrics since the last frame and the latest snapshot."""

    rows: np.ndarray  # (N, 4) step, epoch (fractional), loss, accuracy
    val_rows: np.ndarray  # (M, 4) the same for validation passes
    snapshot: Snapshot  # the latest; its arrays are filled when `captured`
    captured: bool
    steps_per_second: float
    tokens_per_second: float
    running: bool
    grad_norms: dict[str, float] = field(default_factory=dict)


def make_trainer(corpus, config: Config):
    """The trainer for `config.task`: a LanguageModelTrainer for "lm", else a Trainer."""
    if config.task == "lm":
        from rnnviz.lm_trainer import LanguageModelTrainer

        return LanguageModelTrainer(corpus, config)
    from rnnviz.trainer import Trainer

    return Trainer(corpus, config)


def live_fields(trainer) -> tuple[str, ...]:
    """The Config fields `trainer.update` accepts mid-run."""
    if trainer.config.task == "lm":
        from rnnviz.lm_trainer import LIVE_FIELDS
    else:
        from rnnviz.trainer import LIVE_FIELDS
    return LIVE_FIELDS


def run_info(trainer, corpus) -> RunInfo:
    """Summarise a trainer for the views, copying what they keep."""
    if trainer.config.task == "lm":
        return lm_run_info(trainer, corpus)

    tok = view_tokenizer(trainer.tokenizer)
    names = list(trainer.label_names)
    lengths = np.asarray(trainer.train_lengths).copy()
    n = min(6, len(trainer.train_ids))
    examples = [
        (trainer.train_texts[i], trainer.train_ids[i].copy(), names[int(trainer.train_labels[i])])
        for i in range(n)
    ]
    return RunInfo(
        source=str(corpus.source),
        warnings=list(corpus.warnings),
        label_names=names,
        class_counts=dict(trainer.corpus.class_counts()),  # with config.label_names applied
        num_texts=len(corpus.texts),
        num_train=len(trainer.train_ids),
        num_val=len(trainer.val_ids),
        words=tok.id_to_word,  # one list with the tokenizer's and the table's: sent once
        token_counts=np.asarray(trainer.token_counts).copy(),
        maxlen=int(trainer.maxlen),
        lengths=lengths,
        truncated=int(np.sum(lengths > trainer.maxlen)),
        examples=examples,
        probe_texts=list(trainer.val_texts[: len(trainer.probe_ids)]),
        config=trainer.config,
        tokenizer=tok,
        steps_per_epoch=int(trainer.steps_per_epoch),
        step=int(trainer.step_count),
        epoch=int(trainer.epoch),
        eval_data=eval_data(trainer),
        vocabulary=build_table(tok.id_to_word, trainer.token_counts),
        truncated_texts=int(getattr(trainer, "truncated_texts", 0)),
        truncated_tokens=int(getattr(trainer, "truncated_tokens", 0)),
        baselines=baseline_lines(trainer),
    )


def baseline_lines(trainer) -> dict[str, float]:
    """{label: validation accuracy} of the majority class and the bag of words."""
    found = trainer.baselines
    lines = {"majority class": found.majority, "bag of words": found.bag_of_words}
    return {name: float(v) for name, v in lines.items() if v is not None}


def lm_run_info(trainer, corpus) -> RunInfo:
    """`run_info` for a language model: token counts instead of texts and labels; the
    examples and probe texts are BPTT windows of the stream."""

    tok = view_tokenizer(trainer.tokenizer)
    T = int(trainer.config.bptt)
    ids = trainer.train_ids
    examples = [
        (tok.decode(ids[i : i + T]), ids[i : i + T].copy(), "")
        for i in range(0, min(len(ids) - 1, 3 * T), T)
    ]
    probe = trainer.probe_ids
    warnings = list(corpus.warnings)
    if trainer.steps_per_epoch < SHORT_TEXT_STEPS:  # one pass is a handful of windows
        warnings.append(
            f"A short text for a language model: {len(ids):,} tokens make "
            f"{trainer.steps_per_epoch} step(s) per epoch at batch size "
            f"{trainer.config.batch_size}, and a large model soon learns it by heart (watch "
            "the validation loss). A smaller batch size or hidden size, or a longer text, "
            "generalises better."
        )
    return RunInfo(
        source=str(corpus.source),
        warnings=warnings,
        label_names=[],
        class_counts={},
        num_texts=len(corpus.texts),
        num_train=len(trainer.train_ids),
        num_val=len(trainer.val_ids),
        words=tok.id_to_word,
        token_counts=np.asarray(trainer.token_counts).copy(),
        maxlen=T,
        lengths=np.zeros(0, np.int64),
        truncated=0,
        examples=examples,
        probe_texts=[tok.decode(row) for row in probe],
        config=trainer.config,
        tokenizer=tok,
        steps_per_epoch=int(trainer.steps_per_epoch),
        step=int(trainer.step_count),
        epoch=int(trainer.epoch),
        text_chars=sum(len(t) for t in corpus.texts),
        vocabulary=build_table(WordList(visible_words(tok.id_to_word)), trainer.token_counts),
    )


class TrainingWorker(QObject):
    """Lives on its own thread; every slot runs there. Exceptions become `error`."""

    info_ready = Signal(object)  # RunInfo after a load, reset or checkpoint load
    snapshot_ready = Signal(object)  # Frame
    running_changed = Signal(bool)
    load_progress = Signal(float, str)  # (fraction of the phase, or BUSY; what it does)
    load_failed = Signal(str)
    plain_text_found = Signal(str, str)  # (source, message): a classify load met plain text
    diverged = Signal(str)  # loss became NaN/inf: the message says where and what to try
    finished = Signal(str)  # the run reached its end (epochs, early stopping)
    error = Signal(str)
    saved = Signal(str)
    live_applied = Signal(int, object)  # (steps done, changes): a live change took effect
    stopped = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.trainer = None
        self.corpus = None
        self.source = ""  # where the corpus came from, to reload it for the other task
        self.running = False
        self._stop = False  # set from the GUI thread; checked between steps
        self._load_generation = 0
        self.frame_seconds = FRAME_SECONDS
        self.step_budget: int | None = None  # stop after this many steps (screenshots)
        self._latest: Snapshot | None = None
        self._reset_buffers()

    def _reset_buffers(self) -> None:
        self._rows: list[tuple[float, float, float, float]] = []
        self._val_rows: list[tuple[float, float, float, float]] = []
        self._last_frame = 0.0
        self._rate_mark = (time.perf_counter(), 0, 0)  # (time, steps, tokens) at window start
        self._rate = (0.0, 0.0)
        self._steps_done = 0
        self._tokens_done = 0
        self._latest = None

    # -- thread-safe from any thread ----------------------------------------------------
    def request_stop(self) -> None:
        """Ask the loop to end after the current step (plain flag: safe from any thread)."""
        self._stop = True

    # -- slots (queued from the GUI thread) ---------------------------------------------
    @Slot(str, object)
    def load(self, source: str, config: Config) -> None:
        """Load a corpus and build a fresh trainer on it (for `config.task`)."""
        from rnnviz.data import CorpusError, load_corpus

        self._set_running(False)
        self._load_generation += 1
        gen = self._load_generation

        def progress(fraction: float) -> None:
            self.load_progress.emit(fraction, f"Reading {source}… {fraction:.0%}")

        try:
            corpus = load_corpus(
                source, task=config.task, progress=progress,
                cancel=lambda: self._stop or gen != self._load_generation,
            )  # fmt: skip
            self.load_progress.emit(BUSY, _building_text(corpus, config))
            trainer = make_trainer(corpus, config)
        except Exception as exc:
            if isinstance(exc, CorpusError) and config.task == "classify" and _is_plain(exc):
                self.load_progress.emit(1.0, "")
                self.plain_text_found.emit(source, _one_line(exc))
            else:
                self.load_failed.emit(_one_line(exc))
            return
        self.corpus, self.trainer, self.source = corpus, trainer, source
        self._reset_buffers()
        self.load_progress.emit(BUSY, "Preparing the views (vocabulary table, baselines)…")
        info = run_info(trainer, corpus)
        self.load_progress.emit(1.0, "")
        self.info_ready.emit(info)
        self._emit_frame(capture_now=True)

    @Slot(object)
    def reset(self, config: Config) -> None:
        """Fresh weights (and shapes) with `config` on the current corpus."""
        if self.corpus is None:
            return
        if config.task != self.trainer.config.task:  # the corpus is read differently
            self.load(self.source, config)
            return
        self._set_running(False)  # a reset leaves the run paused: the user restarts it
        try:
            self.trainer = make_trainer(self.corpus, config)
        except Exception as exc:
            self.error.emit(f"Reset failed: {_one_line(exc)}")
            return
        self._reset_buffers()
        self.info_ready.emit(run_info(self.trainer, self.corpus))
        self._emit_frame(capture_now=True)

    @Slot(str)
    def load_checkpoint(self, path: str) -> None:
        """Continue from a checkpoint on the current corpus (read again for its task)."""
        from rnnviz import checkpoint
        from rnnviz.data import load_corpus
        from rnnviz.lm_trainer import LanguageModelTrainer
        from rnnviz.trainer import Trainer

        self._set_running(False)
        if self.corpus is None:
            self.error.emit("Load a corpus first: a model continues training on a corpus")
            return
        try:
            ck = checkpoint.load(path)
            meta, task = ck.meta, ck.config.task
            corpus = self.corpus
            if task != self.trainer.config.task:
                try:
                    corpus = load_corpus(self.source, task=task)
                except Exception as exc:
                    kind = "a language model" if task == "lm" else "a classifier"
                    raise ValueError(f"it is {kind}, and {_one_line(exc)}") from None
            cls = LanguageModelTrainer if task == "lm" else Trainer
            trainer = cls.load(path, corpus=corpus)
        except Exception as exc:
            self.error.emit(f"Could not load the model: {_one_line(exc)}")
            return
        # Trainer.load starts counting at 0; the checkpoint knows where it was.
        trainer.step_count = int(meta.get("step", 0))
        trainer.epoch = int(meta.get("epoch", 0))
        self.trainer, self.corpus = trainer, corpus
        self._reset_buffers()
        self.info_ready.emit(run_info(trainer, self.corpus))
        self._emit_frame(capture_now=True)

    @Slot(object, int, int)
    def restore_weights(self, params: dict, step: int, epoch: int) -> None:
        """Put back the weights of a captured snapshot (a replacement process after a
        crash); the optimiser's state starts afresh. Refused when the shapes differ."""
        if self.trainer is None:
            return
        own = self.trainer.model.params
        if set(params) != set(own) or any(own[k].shape != params[k].shape for k in own):
            self.error.emit("The last weights do not fit the new model: it starts afresh")
            return
        for name, value in params.items():
            np.copyto(own[name], value)
        self.trainer.step_count, self.trainer.epoch = step, epoch
        self._reset_buffers()
        self.info_ready.emit(run_info(self.trainer, self.corpus))
        self._emit_frame(capture_now=True)

    @Slot(str)
    def save(self, path: str) -> None:
        if self.trainer is None:
            self.error.emit("Nothing to save yet: load a corpus first")
            return
        try:
            self.trainer.save(path)  # atomic: a temporary file renamed into place
        except Exception as exc:
            self.error.emit(f"Could not save the model: {_one_line(exc)}")
            return
        self.saved.emit(path)

    @Slot()
    def start(self) -> None:
        if self.trainer is None or self.running or self._stop:
            return
        if self.trainer.finished:
            if self.trainer.diverged or not np.isfinite(self._last_loss()):
                self.diverged.emit(self.trainer.stop_reason)
            else:
                self.finished.emit(self.trainer.stop_reason)
            self._set_running(False)
            return
        self._rate_mark = (time.perf_counter(), self._steps_done, self._tokens_done)
        self._set_running(True)
        QTimer.singleShot(0, self._run_slice)

    @Slot()
    def pause(self) -> None:
        self._set_running(False)
        if self.trainer is not None:
            self._emit_frame(capture_now=True)

    @Slot()
    def step_once(self) -> None:
        """One batch, captured and shown at once."""
        if self.trainer is None or self._stop:
            return
        self._set_running(False)
        if self.trainer.finished:
            self._emit_frame(capture_now=True)
            return
        snap = self._safe_step(capture=True)
        if snap is not None:
            self._emit_frame(capture_now=False, snapshot=snap, captured=True)
            if snap.finished:
                self._on_finished(snap)

    @Slot(dict)
    def update_config(self, changes: dict) -> None:
        """Live changes (learning rate, clipping, ...), applied between two steps."""
        if self.trainer is None:
            return
        fields = live_fields(self.trainer)
        live = {k: v for k, v in changes.items() if k in fields}
        try:
            self.trainer.update(**live)
        except Exception as exc:
            self.error.emit(f"Could not apply {', '.join(live)}: {_one_line(exc)}")
            return
        if live:  # the exact step, for experiment files (gui/experiments.py)
            self.live_applied.emit(int(self.trainer.step_count), live)

    @Slot(object)
    def set_probe(self, ids: np.ndarray) -> None:
        if self.trainer is not None:
            self.trainer.set_probe(ids)

    # -- the loop -------------------------------------------------------------------------
    @Slot()
    def _run_slice(self) -> None:
        if not self.running or self._stop or self.trainer is None:
            return
        now = time.perf_counter()
        deadline = now + SLICE_SECONDS
        while self.running and not self._stop:
            capture = now - self._last_frame >= self.frame_seconds
            snap = self._safe_step(capture)
            if snap is None:
                return  # the error was reported and the run paused
            if capture or snap.finished:
                self._emit_frame(capture_now=False, snapshot=snap, captured=capture)
            if snap.finished:
                self._on_finished(snap)
                return
            if self.step_budget is not None and self._steps_done >= self.step_budget:
                self._set_running(False)
                self._emit_frame(capture_now=True)
                return
            now = time.perf_counter()
            if now >= deadline:
                break
        if self.running and not self._stop:
            QTimer.singleShot(0, self._run_slice)

    def _safe_step(self, capture: bool) -> Snapshot | None:
        try:
            # Overflow on the way to NaN is expected when the learning rate is too high:
            # the trainer reports the non-finite loss itself, so no warnings here.
            with np.errstate(all="ignore"):
                snap = self.trainer.step(capture=capture)
        except Exception as exc:
            self._set_running(False)
            self.error.emit(f"Training step failed: {_one_line(exc)}\n{_where(exc)}")
            return None
        epoch = snap.epoch + snap.epoch_progress
        self._rows.append((snap.step, epoch, snap.loss, snap.accuracy))
        if snap.val_loss is not None:
            self._val_rows.append((snap.step, epoch, snap.val_loss, snap.val_accuracy))
        self._steps_done += 1
        self._tokens_done += snap.tokens
        self._latest = snap
        return snap

    def _on_finished(self, snap: Snapshot) -> None:
        self._set_running(False)
        if snap.diverged or not snap.finite:
            self.diverged.emit(snap.stop_reason or f"loss became {snap.loss} at step {snap.step}")
        else:
            self.finished.emit(snap.stop_reason)
            if snap.stop_reason == "early stopping":
                self._emit_frame(capture_now=True)  # show the restored best weights

    def _last_loss(self) -> float:
        return self._latest.loss if self._latest is not None else 0.0

    def _emit_frame(
        self, capture_now: bool, snapshot: Snapshot | None = None, captured: bool = False
    ) -> None:
        if capture_now and self.trainer is not None:
            snapshot, captured = self._capture(), True
        if snapshot is None:
            snapshot = self._latest
        if snapshot is None:
            return
        now = time.perf_counter()
        t0, s0, k0 = self._rate_mark
        # A full window, or a short run that just stopped (it would otherwise show 0/s).
        stopped_short = not self.running and self._steps_done > s0
        if now - t0 >= RATE_WINDOW or (stopped_short and now > t0):
            dt = now - t0
            self._rate = ((self._steps_done - s0) / dt, (self._tokens_done - k0) / dt)
            self._rate_mark = (now, self._steps_done, self._tokens_done)
        self._last_frame = now
        frame = Frame(
            rows=np.array(self._rows, np.float64).reshape(-1, 4),
            val_rows=np.array(self._val_rows, np.float64).reshape(-1, 4),
            snapshot=snapshot,
            captured=captured,
            steps_per_second=self._rate[0],  # the last measured rate, also when paused
            tokens_per_second=self._rate[1],
            running=self.running,
        )
        self._rows, self._val_rows = [], []
        self.snapshot_ready.emit(frame)

    def _capture(self) -> Snapshot:
        """A captured snapshot of the current state without training (a zero-step view)."""
        from dataclasses import replace

        from rnnviz.snapshot import frozen_copy
        from rnnviz.training import cell_arrays

        t = self.trainer
        with np.errstate(all="ignore"):
            probe = t.model.forward(t.probe_ids)
        base = self._latest
        if base is None or base.step != t.step_count:  # nothing trained yet (or a new run)
            base = Snapshot(
                step=t.step_count, epoch=t.epoch, epoch_progress=0.0, loss=float("nan"),
                accuracy=float("nan"), lr=t.config.lr, grad_norms={}, grad_norm=0.0,
                clipped=False, tokens=0, seconds=t.seconds,
            )  # fmt: skip
        return replace(
            base,
            params={k: frozen_copy(v) for k, v in t.model.params.items()},
            grads={k: frozen_copy(v) for k, v in t.model.grads.items()},
            probe_ids=frozen_copy(t.probe_ids),
            probe_hidden=frozen_copy(probe.hidden),
            probe_proba=frozen_copy(probe.proba),
            cell=getattr(t.model, "cell", "rnn"),
            **cell_arrays(t.model),
        )

    def _set_running(self, running: bool) -> None:
        if running != self.running:
            self.running = running
            self.running_changed.emit(running)


def _building_text(corpus, config: Config) -> str:
    """The load's second phase, as the progress line says it."""
    if config.task == "lm":
        chars = sum(len(t) for t in corpus.texts)
        return f"Building the vocabulary and encoding {chars:,} characters of text…"
    return f"Building the vocabulary and encoding {len(corpus.texts):,} texts…"


def _is_plain(exc: BaseException) -> bool:
    """The loader's "this is plain text (for the language model)" errors."""
    return "plain text" in str(exc)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _where(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return ""
    last = tb[-1]
    return f"({type(exc).__name__} in {last.filename.rsplit('/', 1)[-1]}:{last.lineno})"


# Request signal of a worker host -> the TrainingWorker slot it calls.
COMMANDS = {
    "load_requested": "load",
    "reset_requested": "reset",
    "start_requested": "start",
    "pause_requested": "pause",
    "step_requested": "step_once",
    "update_requested": "update_config",
    "save_requested": "save",
    "load_checkpoint_requested": "load_checkpoint",
    "probe_requested": "set_probe",
}


class WorkerCommands(QObject):
    """The commands the window sends to wherever the trainer lives (see COMMANDS)."""

    load_requested = Signal(str, object)
    reset_requested = Signal(object)
    start_requested = Signal()
    pause_requested = Signal()
    step_requested = Signal()
    update_requested = Signal(dict)
    save_requested = Signal(str)
    load_checkpoint_requested = Signal(str)
    probe_requested = Signal(object)


class WorkerThread(WorkerCommands):
    """Owns the QThread and the worker; sends commands as queued signals."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("rnnviz-trainer")
        self.worker = TrainingWorker()
        self.worker.moveToThread(self.thread)
        for signal_name, slot in COMMANDS.items():
            getattr(self, signal_name).connect(getattr(self.worker, slot))
        self.thread.start()

    def shutdown(self, timeout_ms: int = 2000) -> bool:
        """Stop the loop, end the thread and wait for it. True when it ended in time.

        A step cannot be interrupted, and a QThread destroyed while it runs aborts the
        whole process: past `timeout_ms` this waits on for the step to end (up to
        STEP_GRACE_SECONDS); a thread stuck even longer is left to the process's exit.
        """
        if not self.thread.isRunning():
            return True
        self.worker.request_stop()
        self.thread.quit()
        if self.thread.wait(timeout_ms):
            return True
        if not self.thread.wait(int(STEP_GRACE_SECONDS * 1000)):
            _leave_to_exit(self.thread, self.worker)
        return False


_STUCK: list = []  # threads still in a step at shutdown: never destroyed while running


def _leave_to_exit(thread: QThread, worker: QObject) -> None:
    """Keep a stuck thread alive, and end the process without destroying it."""
    import atexit
    import os
    import sys

    if not _STUCK:
        atexit.register(lambda: (sys.stdout.flush(), sys.stderr.flush(), os._exit(0)))
    print("rnnviz: a training step did not end; exiting without it", file=sys.stderr)
    _STUCK.append((thread, worker))
