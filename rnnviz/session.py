"""One training session: commands in, frames and events out (no Qt, no threads).

A `Session` owns the corpus and the trainer. Its commands (`load`, `reset`, `start`,
`pause`, `step`, `update`, `save`, `load_checkpoint`, `restore`, `set_probe`, `stop`)
are plain method calls; what it has to say leaves through one callback,
`emit(event, *args)`, with the event names of the Qt host's signals (`info_ready`,
`snapshot_ready`, `running_changed`, ...). While it runs, its host calls `run_slice()`
again and again: each call trains for about SLICE_SECONDS, so that commands get in
between, and every FRAME_SECONDS emits one `Frame`: the metrics of every step since
the last frame and a snapshot whose arrays were captured by the trainer.

Two hosts drive the very same object: a QThread (gui/worker.py) and a child process
over a pipe (rnnviz/session_process.py, with no Qt in it).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from rnnviz.config import Config
from rnnviz.data import CorpusError, load_corpus
from rnnviz.frame_log import RATE_WINDOW, FrameLog  # noqa: F401 (RATE_WINDOW: gui.worker's)
from rnnviz.run_info import RunInfo, describe
from rnnviz.run_loading import checkpoint_run, one_line, where
from rnnviz.snapshot import Snapshot
from rnnviz.trainers import make_trainer
from rnnviz.training import PROGRESS_PIECES

SLICE_SECONDS = 0.025  # steps per run_slice() before letting queued commands in
FRAME_SECONDS = 1 / 30  # a captured snapshot at most this often
RESUME_SECONDS = 1.0  # with keep_resume: a resume state (weights + moments) this often
BUSY = -1.0  # a load_progress fraction: a phase under way whose share is not known
LAST_SHARE = 0.99  # a phase's share as shown until the next phase (1.0 ends the load)
PREPARING = "Preparing the views: the vocabulary table and the reference baselines…"

# The events a session emits, with what they carry (the Qt host declares one signal each).
EVENTS = {
    "info_ready": (object,),  # RunInfo after a load, reset, checkpoint or restore
    "snapshot_ready": (object,),  # Frame
    "running_changed": (bool,),
    "load_progress": (float, str),  # (fraction of the phase, or BUSY; what it does)
    "load_failed": (str,),
    "plain_text_found": (str, str),  # (source, message): a classify load met plain text
    "diverged": (str,),  # the loss became NaN/inf or exploded: where and what to try
    "finished": (str,),  # the run reached its end (epochs, early stopping)
    "error": (str,),
    "saved": (str,),
    "live_applied": (int, object),  # (steps done, changes): a live change took effect
    "resume_ready": (object,),  # with keep_resume: trainer.resume_state() (see restore)
    "stopped": (),
}


class Session:
    """A training session driven by commands; see the module's docstring.

    Parameters
    ----------
    emit : called as emit(event, *args) for every event in EVENTS.
    keep_resume : also emit "resume_ready" every RESUME_SECONDS while training and when
        it stops (a host that may lose the session, e.g. a child process, keeps it).
    """

    def __init__(self, emit: Callable[..., None], keep_resume: bool = False) -> None:
        self.emit = emit
        self.keep_resume = keep_resume
        self.trainer = None
        self.corpus = None
        self.source = ""  # where the corpus came from, to reload it for the other task
        self.running = False
        self.stopping = False  # set by stop() from any thread; checked between steps
        self.frame_seconds = FRAME_SECONDS
        self.slice_seconds = SLICE_SECONDS
        self.step_budget: int | None = None  # pause after this many steps (screenshots)
        self._reset_buffers()

    def _reset_buffers(self) -> None:
        self.log = FrameLog()  # the run's steps since its last frame, and its rate
        self._last_resume = time.perf_counter()

    @property
    def steps_done(self) -> int:
        """Steps trained in this run by this session (what --profile-ui counts)."""
        return self.log.steps_done

    # -- commands ----------------------------------------------------------------------
    def stop(self) -> None:
        """End the loop after the current step (a plain flag: safe from any thread)."""
        self.stopping = True

    def load(self, source: str, config: Config) -> None:
        """Load a corpus and build a fresh trainer on it (for `config.task`)."""
        self._set_running(False)

        def reading(fraction: float) -> None:  # (1.0 would hide the bar)
            self.emit(
                "load_progress", min(fraction, LAST_SHARE), f"Reading {source}… {fraction:.0%}"
            )

        try:
            corpus = load_corpus(source, task=config.task, progress=reading,
                                 cancel=lambda: self.stopping)  # fmt: skip
            self.emit("load_progress", BUSY, building_text(corpus, config))
            trainer = make_trainer(corpus, config, progress=self._building)
        except Exception as exc:
            if isinstance(exc, CorpusError) and config.task == "classify" and _is_plain(exc):
                self.emit("load_progress", 1.0, "")
                self.emit("plain_text_found", source, one_line(exc))
            else:
                self.emit("load_failed", one_line(exc))
            return
        self.corpus, self.source = corpus, source
        self._new_run(trainer)

    def reset(self, config: Config) -> None:
        """Fresh weights (and shapes) with `config` on the current corpus."""
        if self.corpus is None:
            return
        if config.task != self.trainer.config.task:  # the corpus is read differently
            self.load(self.source, config)
            return
        self._set_running(False)  # a reset leaves the run paused: the user restarts it
        try:
            trainer = make_trainer(self.corpus, config, progress=self._building)
        except Exception as exc:
            self.emit("load_progress", 1.0, "")
            self.emit("error", f"Reset failed: {one_line(exc)}")
            return
        self._new_run(trainer)

    def load_checkpoint(self, path: str) -> None:
        """Continue from a checkpoint on the current corpus (read again for its task)."""
        self._set_running(False)
        if self.corpus is None:
            self.emit("error", "Load a corpus first: a model continues training on a corpus")
            return
        try:
            task_now = self.trainer.config.task
            corpus, trainer = checkpoint_run(path, self.corpus, self.source, task_now)
        except Exception as exc:
            self.emit("error", f"Could not load the model: {one_line(exc)}")
            return
        self.corpus = corpus
        self._new_run(trainer)

    def restore(self, state: dict, rows=None, val_rows=None) -> None:
        """Go on from a `trainer.resume_state()` (weights, optimiser moments, step) kept
        by the host, with the curves' earlier `rows` and `val_rows` ((N, 4) each) sent
        again in the first frame: a replacement process after a crash. Refused when the
        shapes differ."""
        if self.trainer is None:
            return
        try:
            self.trainer.resume(state)
        except ValueError:
            self.emit("error", "The last weights do not fit the new model: it starts afresh")
            return
        self._new_run(self.trainer)
        self.log.extend(rows, val_rows)
        self._emit_frame(capture_now=True)

    def save(self, path: str) -> None:
        if self.trainer is None:
            self.emit("error", "Nothing to save yet: load a corpus first")
            return
        try:
            self.trainer.save(path)  # atomic: a temporary file renamed into place
        except Exception as exc:
            self.emit("error", f"Could not save the model: {one_line(exc)}")
            return
        self.emit("saved", path)

    def start(self) -> None:
        if self.trainer is None or self.running or self.stopping:
            return
        if self.trainer.finished:
            if self.trainer.diverged or not np.isfinite(self._last_loss()):
                self.emit("diverged", self.trainer.stop_reason)
            else:
                self.emit("finished", self.trainer.stop_reason)
            self._set_running(False)
            return
        self.log.start_rate_window()
        self._set_running(True)

    def pause(self) -> None:
        self._set_running(False)
        if self.trainer is not None:
            self._emit_frame(capture_now=True)
            self._emit_resume()

    def step(self) -> None:
        """One batch, captured and shown at once."""
        if self.trainer is None or self.stopping:
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
            self._emit_resume()

    def update(self, changes: dict) -> None:
        """Live changes (learning rate, clipping, ...), applied between two steps; fields
        that are not live (Config.live_fields) are left for the next reset."""
        if self.trainer is None:
            return
        fields = self.trainer.config.live_fields()
        live = {k: v for k, v in changes.items() if k in fields}
        try:
            self.trainer.update(**live)
        except Exception as exc:
            self.emit("error", f"Could not apply {', '.join(live)}: {one_line(exc)}")
            return
        if live:  # the exact step, for experiment files (gui/experiments.py)
            self.emit("live_applied", int(self.trainer.step_count), live)

    def set_probe(self, ids: np.ndarray) -> None:
        if self.trainer is not None:
            self.trainer.set_probe(ids)

    def describe(self, progress: Callable[[float], None] | None = None) -> RunInfo:
        """The one description of the current run (see rnnviz/run_info.py)."""
        return describe(self.trainer, self.corpus, progress)

    # -- the loop -------------------------------------------------------------------------
    def run_slice(self) -> bool:
        """Train for about `slice_seconds` (while running); True while it should go on."""
        if not self.running or self.stopping or self.trainer is None:
            return False
        now = time.perf_counter()
        deadline = now + self.slice_seconds
        while self.running and not self.stopping:
            capture = now - self.log.last_frame >= self.frame_seconds
            snap = self._safe_step(capture)
            if snap is None:
                return False  # the error was reported and the run paused
            if capture or snap.finished:
                self._emit_frame(capture_now=False, snapshot=snap, captured=capture)
            if snap.finished:
                self._on_finished(snap)
                return False
            if self.step_budget is not None and self.steps_done >= self.step_budget:
                self._set_running(False)
                self._emit_frame(capture_now=True)
                self._emit_resume()
                return False
            now = time.perf_counter()
            if now >= deadline:
                break
        if self.keep_resume and now - self._last_resume >= RESUME_SECONDS:
            self._emit_resume()
        return self.running and not self.stopping

    def _safe_step(self, capture: bool) -> Snapshot | None:
        try:
            # Overflow on the way to NaN is expected when the learning rate is too high:
            # the trainer reports the non-finite loss itself, so no warnings here.
            with np.errstate(all="ignore"):
                snap = self.trainer.step(capture=capture)
        except Exception as exc:
            self._set_running(False)
            self.emit("error", f"Training step failed: {one_line(exc)}\n{where(exc)}")
            return None
        self.log.record(snap)
        return snap

    def _on_finished(self, snap: Snapshot) -> None:
        self._set_running(False)
        if snap.diverged or not snap.finite:
            self.emit(
                "diverged", snap.stop_reason or f"loss became {snap.loss} at step {snap.step}"
            )
        else:
            self.emit("finished", snap.stop_reason)
        # The last frame says the run stopped (the one before it was sent while running);
        # after early stopping it shows the restored best weights.
        restored = not (snap.diverged or not snap.finite) and snap.stop_reason == "early stopping"
        self._emit_frame(capture_now=restored)
        self._emit_resume()

    def _new_run(self, trainer) -> None:
        """A new run on the current corpus: described, and shown at its first frame."""
        self.trainer = trainer
        self._reset_buffers()
        info = self.describe(self._phase(PREPARING))
        self.emit("load_progress", 1.0, "")  # the load's (or reset's) last phase here ended
        self.emit("info_ready", info)
        self._emit_frame(capture_now=True)

    def _building(self, text: str, fraction: float) -> None:  # (1.0 would hide the bar)
        self.emit("load_progress", min(fraction, LAST_SHARE), text)

    def _phase(self, text: str) -> Callable[[float], None]:
        """progress(fraction) of a phase as load_progress events: one a PROGRESS_PIECES-th
        of the way, never 1.0 (that hides the bar; the load's end says it)."""
        shown = -1.0

        def say(fraction: float) -> None:
            nonlocal shown
            if fraction - shown >= 1 / PROGRESS_PIECES:
                shown = fraction
                self.emit("load_progress", min(fraction, LAST_SHARE), text)

        return say

    def _last_loss(self) -> float:
        return self.log.latest.loss if self.log.latest is not None else 0.0

    def _emit_resume(self) -> None:
        if self.keep_resume and self.trainer is not None:
            if self.log.unsent:  # the curves first: as far as the resume state
                self._emit_frame(capture_now=False)
            self._last_resume = time.perf_counter()
            self.emit("resume_ready", self.trainer.resume_state())

    def _emit_frame(
        self, capture_now: bool, snapshot: Snapshot | None = None, captured: bool = False
    ) -> None:
        """Send the steps since the last frame with `snapshot`, or the latest one
        (captured afresh when `capture_now`)."""
        if capture_now and self.trainer is not None:
            snapshot, captured = self.trainer.capture(self.log.latest), True
        if snapshot is None:
            snapshot = self.log.latest
        if snapshot is None:
            return
        self.emit("snapshot_ready", self.log.frame(snapshot, captured, self.running))

    def _set_running(self, running: bool) -> None:
        if running != self.running:
            self.running = running
            self.emit("running_changed", running)


def building_text(corpus, config: Config) -> str:
    """The load's second phase, as the progress line says it."""
    if config.task == "lm":
        chars = sum(len(t) for t in corpus.texts)
        return f"Building the vocabulary and encoding {chars:,} characters of text…"
    return f"Building the vocabulary and encoding {len(corpus.texts):,} texts…"


def _is_plain(exc: BaseException) -> bool:
    """The loader's "this is plain text (for the language model)" errors."""
    return "plain text" in str(exc)
