"""What the classifier's and the language model's trainers share.

One step skeleton (`_step`: batch, loss and gradients, update, bookkeeping, snapshot),
the update with its divergence check, validation bookkeeping with early stopping,
settings changed while a run goes on, and the one routine that captures a snapshot's
arrays. A subclass brings its data: `_next_batch`, `_accuracy`, `_end_batch`,
`evaluate` and `epoch_progress`.
"""

from __future__ import annotations

import math
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from rnnviz import blas, checkpoint, memory
from rnnviz.config import Config
from rnnviz.optim import make_optimizer
from rnnviz.parallel import BatchSplit
from rnnviz.snapshot import Snapshot, frozen_copy


def tune_process(config: Config) -> None:
    """Process-wide settings for a run: freed memory kept for the next step
    (rnnviz/memory.py); BLAS threads (rnnviz/blas.py): one per batch thread when the
    batch is split (rnnviz/parallel.py), else config.blas_threads (0: NumPy's)."""
    memory.keep_freed_memory()
    if config.batch_threads > 1:
        blas.set_threads(1)
    elif config.blas_threads:
        blas.set_threads(config.blas_threads)


# A loss this many times its untrained value (ln C, ln V), averaged over the last
# EXPLOSION_WINDOW steps, has exploded even if it is still finite: pause as for NaN.
EXPLOSION_FACTOR = 10.0
EXPLOSION_WINDOW = 10


PROGRESS_PIECES = 50  # a load phase reports its share this many times


def in_pieces(items: list, work, progress, text: str) -> list:
    """[work(part) for consecutive parts of `items`], saying after each part how far
    it got: progress(text, fraction) (the vocabulary and encoding phases of a load)."""
    if progress is None:
        return [work(items)]
    n = len(items)
    size = max(1, -(-n // PROGRESS_PIECES))
    out = []
    progress(text, 0.0)
    for start in range(0, n, size):
        out.append(work(items[start : start + size]))
        progress(text, min(1.0, (start + size) / n))
    return out


REPORT_MIN_UNITS = 64  # a sampled closing evaluation still sees at least this many
FORWARD_SPEEDUP = 2.0  # an evaluation pass is at least this much faster than a step


def sample_indices(n: int, limit: int | None, seed: int) -> np.ndarray | slice:
    """All of `n` rows (a slice), or a sorted random `limit` of them when there are more."""
    if limit is None or n <= limit:
        return slice(None)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def cell_arrays(model) -> dict:
    """Read-only copies of what the cell's last forward (the probe's) kept beyond the
    states: a gated cell's gates (P, T, G*H) and the LSTM's cell states (P, T, H)."""
    cell, arrays = model.rnn, {}
    if getattr(cell, "gate_values", None) is not None:
        arrays["probe_gates"] = frozen_copy(cell.gate_values.transpose(1, 0, 2))
    if getattr(cell, "cs", None) is not None:
        arrays["probe_cells"] = frozen_copy(cell.cs[1:].transpose(1, 0, 2))
    return arrays


@dataclass(frozen=True)
class Batch:
    """One step's data, as a trainer's `_next_batch` lays it out."""

    inputs: np.ndarray  # (B, T) token ids
    targets: np.ndarray  # (B,) labels (classify) or (B, T) next tokens (lm)
    epoch_done: bool  # the last batch of an epoch
    options: dict = field(default_factory=dict)  # more keywords of loss_and_grads (h0, ...)


class TrainingRun:
    """Base of `Trainer` and `LanguageModelTrainer`; knows nothing of threads or Qt.

    Subclasses set `config`, `model`, `probe_ids` and call `_start_optimizer()` and
    `_start_run()` in their constructor.
    """

    updating = False  # True while the weights change: a step must not be cut off there
    probe_proba_limit: int | None = None  # larger probe probabilities stay out of snapshots

    def _start_run(self) -> None:
        self.step_count = 0
        self.epoch = 0
        self.seconds = 0.0  # wall-clock seconds spent in training steps
        self.finished = False
        self.stop_reason = ""
        self.diverged = False  # the loss became NaN/inf or exploded: paused with advice
        self._window_losses: deque[float] = deque(maxlen=EXPLOSION_WINDOW)
        self.best_val_loss: float | None = None  # the lowest validation loss so far
        self.last_val: tuple[float, float] | None = None
        # The best evaluation by config.early_stop_metric: {"step", "val_loss",
        # "val_accuracy"}, and its weights (kept whether or not early stopping is on).
        self.best: dict | None = None
        self.holds_best = False  # the model holds the best evaluation's weights (restored)
        self._best_params: np.ndarray | None = None
        self._evals_since_best = 0
        self._average: np.ndarray | None = None  # the weight average (config.weight_average)

    def _start_optimizer(self) -> None:
        """The optimiser and, with config.batch_threads > 1, the batch split whose
        threads also share the optimiser's update (after `self.model` is set)."""
        threads = self.config.batch_threads
        self._split = BatchSplit(self.model, threads) if threads > 1 else None
        self.optimizer = make_optimizer(self.config)
        self.optimizer.parallel = self._split

    # ------------------------------------------------------------------ stepping
    def step(self, capture: bool = False) -> Snapshot:
        """Train on one batch; return the state after it.

        capture=True also puts read-only copies of the parameters, gradients and the
        probe batch's hidden states and probabilities into the snapshot.
        """
        # A diverging run overflows; that is detected and reported in the snapshot
        # (finished, stop_reason) rather than as a stream of NumPy warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._step(capture)

    def _step(self, capture: bool) -> Snapshot:
        """The step skeleton both trainers share."""
        started = time.perf_counter()
        batch = self._next_batch()
        lr = self.optimizer.lr = self._current_lr()
        self.model.rnn.track_state_grads = capture  # gradient flow: ||dL/dh_t|| per step
        # A captured step runs on the model itself: the snapshot reads its caches.
        run = self.model if capture or self._split is None else self._split
        loss, grads, output = run.loss_and_grads(
            batch.inputs, batch.targets, return_output=True, **batch.options
        )
        self._after_backward(batch, capture)
        accuracy = self._accuracy(output, batch)
        grad_norms = grads.norms()
        grad_norm, clipped = self._apply_gradients(loss, grads, grad_norms, lr)
        self.step_count += 1
        self._end_batch(loss, batch)
        self.seconds += time.perf_counter() - started
        val_loss, val_accuracy = self._after_step(batch.epoch_done)
        tokens = int(np.count_nonzero(self._counted_tokens(batch)))
        return self._snapshot(
            loss, accuracy, lr, grad_norms, grad_norm, clipped, tokens,
            val_loss, val_accuracy, capture,
        )  # fmt: skip

    def _next_batch(self) -> Batch:
        """The next step's data (and the epoch's end)."""
        raise NotImplementedError

    def _after_backward(self, batch: Batch, capture: bool) -> None:
        """What a trainer reads from the model's caches right after the backward pass."""

    def _accuracy(self, output: np.ndarray, batch: Batch) -> float:
        """The batch's accuracy from the model's output."""
        raise NotImplementedError

    def _end_batch(self, loss: float, batch: Batch) -> None:
        """Bookkeeping after the update (the epoch's end, a carried state)."""

    def _counted_tokens(self, batch: Batch) -> np.ndarray:
        """The ids whose non-[PAD] entries the snapshot counts as tokens."""
        return batch.inputs

    @property
    def epoch_progress(self) -> float:
        """Fraction of the current epoch done, 0..1."""
        raise NotImplementedError

    def _apply_gradients(self, loss: float, grads, grad_norms: dict, lr: float):
        """Optimiser step, unless the loss or a gradient is not finite: then keep the
        last good weights and finish with advice. A finite loss that has exploded (see
        `explosion_bound`) finishes the same way. Returns (global norm, clipped)."""
        if np.isfinite(loss) and all(map(np.isfinite, grad_norms.values())):
            self.updating = True  # a deadline (the CLI's --max-seconds) waits for this
            try:
                self.optimizer.step(self.model.params, grads)
                self._update_average()
            finally:
                self.updating = False
            self._check_explosion(loss, lr)
            return self.optimizer.last_norm, self.optimizer.last_clipped
        self.finished, self.diverged = True, True
        self.stop_reason = (
            f"loss became {loss} at step {self.step_count + 1}: lower the learning "
            f"rate (now {lr:g}) or turn on gradient clipping, then Reset"
        )
        return float("nan"), False

    @property
    def explosion_bound(self) -> float | None:
        """EXPLOSION_FACTOR x the loss of a uniform guess: ln C for the softmax
        classifier, ln V for the language model; None for the bounded tanh head."""
        if self.config.task == "classify":
            outputs = len(self.label_names) if self.config.head == "softmax" else 0
        else:
            outputs = self.model.sizes[0]
        return EXPLOSION_FACTOR * math.log(outputs) if outputs >= 2 else None

    def _check_explosion(self, loss: float, lr: float) -> None:
        bound = self.explosion_bound
        self._window_losses.append(float(loss))
        if bound is None or len(self._window_losses) < EXPLOSION_WINDOW:
            return
        mean = sum(self._window_losses) / len(self._window_losses)
        if mean > bound:
            self.finished, self.diverged = True, True
            self.stop_reason = (
                f"loss exploded to {mean:.4g} (mean of the last {EXPLOSION_WINDOW} steps; "
                f"untrained it is {bound / EXPLOSION_FACTOR:.3g}) at step {self.step_count + 1}: "
                f"lower the learning rate (now {lr:g}) or turn on gradient clipping, then Reset"
            )

    def _after_step(self, epoch_done: bool) -> tuple[float | None, float | None]:
        """Validation when due, and the epoch budget; returns (val_loss, val_accuracy)."""
        val = (None, None)
        every = self.config.eval_every
        eval_due = self.step_count % every == 0 if every else epoch_done
        if not self.finished and eval_due:
            val = self._validate()
        if not self.finished and self.config.epochs and self.epoch >= self.config.epochs:
            self.finished, self.stop_reason = True, "epochs"
            if self.config.keep_best:
                self.restore_best()
        return val

    # ------------------------------------------------------------------ weight average
    def _update_average(self) -> None:
        """Exponential moving average of the weights, with decay config.weight_average
        (0: off). The decay ramps up as (1 + t) / (10 + t), so the first weights do not
        weigh on the average for long."""
        decay = self.config.weight_average
        if not decay:
            self._average = None
            return
        weights = self.model.params.flat
        if self._average is None:
            self._average = weights.copy()
            return
        d = min(decay, (1 + self.step_count) / (10 + self.step_count))
        change = np.subtract(weights, self._average)  # avg += (1 - d) (w - avg)
        change *= 1.0 - d
        self._average += change

    @contextmanager
    def averaged_weights(self):
        """Within the block the model holds the averaged weights (when averaging is on):
        evaluation, reports and checkpoints use them; training goes on with its own."""
        if self._average is None:
            yield
            return
        weights = self.model.params.flat
        live = weights.copy()
        weights[...] = self._average
        try:
            yield
        finally:
            weights[...] = live

    # ------------------------------------------------------------------ validation
    def _can_validate(self) -> bool:
        return True

    def _on_stalled(self) -> None:
        """An evaluation did not beat the best (a schedule may lower the rate here)."""

    def _validate(self) -> tuple[float, float] | tuple[None, None]:
        if not self._can_validate():
            return None, None
        val_loss, val_accuracy = self.evaluate()
        self.last_val = (val_loss, val_accuracy)
        self.holds_best = False
        patience = self.config.patience
        if self.best_val_loss is None or val_loss < self.best_val_loss:
            self.best_val_loss = val_loss
        if self._is_better(val_loss, val_accuracy):
            self.best = {"step": self.step_count, "val_loss": val_loss,
                         "val_accuracy": val_accuracy}  # fmt: skip
            self._evals_since_best = 0
            # Kept even with early stopping off: patience may be turned on mid-run.
            best = self._average if self._average is not None else self.model.params.flat
            self._best_params = best.copy()
        else:
            self._evals_since_best += 1
            self._on_stalled()
            if patience and self._evals_since_best >= patience:
                self.restore_best()
                self.finished, self.stop_reason = True, "early stopping"
        return val_loss, val_accuracy

    def _is_better(self, val_loss: float, val_accuracy: float) -> bool:
        """Whether this evaluation beats the best by config.early_stop_metric (accuracy:
        higher, or as high with a lower loss)."""
        best = self.best
        if best is None:
            return True
        by_accuracy = self.config.early_stop_metric == "accuracy"
        if by_accuracy and val_accuracy != best["val_accuracy"]:
            return val_accuracy > best["val_accuracy"]
        return val_loss < best["val_loss"]

    def restore_best(self) -> None:
        """Put back the weights of the best evaluation (early stopping, keep_best). They
        were copied from the averaged weights when averaging is on: the average restarts
        from them."""
        if self._best_params is not None:
            self.model.params.flat[...] = self._best_params
            if self._average is not None:
                self._average[...] = self._best_params
            self.holds_best = True

    def weights_report(self) -> dict:
        """Which weights the model holds and the evaluations that describe them: `weights`
        ("best" after a restore, else "last"), the best evaluation (`best_step`,
        `best_val_loss`, `best_val_accuracy`) and the last one (`last_val_loss`,
        `last_val_accuracy`: the trained weights before any restore)."""
        best = self.best or {}
        last = self.last_val or (None, None)
        return {
            "weights": "best" if self.holds_best else "last",
            "best_step": best.get("step"),
            "best_val_loss": best.get("val_loss"),
            "best_val_accuracy": best.get("val_accuracy"),
            "early_stop_metric": self.config.early_stop_metric,
            "last_val_loss": last[0],
            "last_val_accuracy": last[1],
        }

    def _report_limit(self, seconds: float | None, units_per_step: int) -> int | None:
        """How many examples (classify) or tokens (lm) each split's closing evaluation may
        take to end within about `seconds`, from the training speed; None: no limit."""
        if seconds is None:
            return None
        if self.step_count and self.seconds > 0:
            rate = FORWARD_SPEEDUP * self.step_count * units_per_step / self.seconds
        else:
            rate = float(units_per_step)  # not one step yet: keep it small
        return max(REPORT_MIN_UNITS, int(seconds * rate / 2))  # two splits share the time

    # ------------------------------------------------------------------ files
    def save(self, path) -> None:
        """Checkpoint model + tokenizer + config (atomic .npz), with the weights the model
        holds (averaged when config.weight_average is on) and the evaluation that
        describes them in its metadata."""
        meta = {**self._checkpoint_meta(), "step": self.step_count, "epoch": self.epoch}
        if self.holds_best:
            best = self.best
            meta.update(weights="best", weights_step=best["step"], val_loss=best["val_loss"],
                        val_accuracy=best["val_accuracy"])  # fmt: skip
        elif self.last_val:
            meta.update(weights="last", val_loss=self.last_val[0], val_accuracy=self.last_val[1])
        with self.averaged_weights():
            checkpoint.save(path, self.model, self.tokenizer, self.config, self.label_names, meta)

    def _checkpoint_meta(self) -> dict:
        """What a trainer adds to its checkpoint's metadata (the classifier: maxlen)."""
        return {}

    # ------------------------------------------------------------------ control
    def _check_config(self, config: Config) -> None:
        """Reject settings this kind of run cannot take (raises ValueError)."""

    def _current_lr(self) -> float:
        return self.config.lr

    def _on_config_change(self, old: Config) -> None:
        """Hook for subclasses: `self.config` just replaced `old`."""

    @property
    def live_fields(self) -> tuple[str, ...]:
        """The settings `update` may change during a run (rnnviz/config.py: LIVE)."""
        return self.config.live_fields()

    def update(self, **changes) -> None:
        """Change settings that do not alter shapes, between steps (live)."""
        bad = [name for name in changes if name not in self.live_fields]
        if bad:
            raise ValueError(f"{', '.join(bad)} cannot change during a run: reset to apply")
        old, config = self.config, self.config.replace(**changes)
        self._check_config(config)
        self.config = config
        self._on_config_change(old)
        opt = self.optimizer
        opt.lr, opt.weight_decay = self._current_lr(), config.weight_decay
        opt.clip_norm = config.clip_value if config.clip == "norm" else None
        opt.clip_value = config.clip_value if config.clip == "value" else None
        if hasattr(opt, "momentum"):
            opt.momentum = config.momentum
        if hasattr(opt, "beta1"):
            opt.beta1 = config.momentum
        self.model.mask_padding = config.mask_padding
        if self.stop_reason == "epochs" and (not config.epochs or self.epoch < config.epochs):
            self.finished, self.stop_reason = False, ""

    def resume_state(self) -> dict:
        """Copies of what it takes to go on from here in a fresh trainer on the same data
        (`resume`): the weights, the optimiser's moments, the step and the epoch."""
        return {
            "params": {k: v.copy() for k, v in self.model.params.items()},
            "optimizer": self.optimizer.state_dict(),
            "step": int(self.step_count),
            "epoch": int(self.epoch),
        }

    def resume(self, state: dict) -> None:
        """Go on from a `resume_state()` (its "optimizer" may be missing: a fresh one).
        Raises ValueError when the weights do not fit this model."""
        own, params = self.model.params, state["params"]
        if set(params) != set(own) or any(own[k].shape != params[k].shape for k in own):
            raise ValueError("the weights do not fit this model")
        for name, value in params.items():
            np.copyto(own[name], value)
        if state.get("optimizer") is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        self.step_count, self.epoch = int(state["step"]), int(state["epoch"])

    def set_probe(self, ids: np.ndarray) -> None:
        """The batch whose hidden states `step(capture=True)` records."""
        self.probe_ids = np.array(ids, dtype=np.int64, copy=True)

    # ------------------------------------------------------------------ snapshots
    def capture_arrays(self, state_grads: bool = True) -> dict:
        """Read-only copies of the weights, gradients and the probe batch's states and
        probabilities (the one capture routine: a captured step's and `capture`'s);
        with `state_grads`, the last backward pass's ||dL/dh_t|| when it tracked them."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            probe = self.model.forward(self.probe_ids)
        limit = self.probe_proba_limit
        keep_proba = limit is None or probe.proba.size <= limit
        arrays = dict(
            params={k: frozen_copy(v) for k, v in self.model.params.items()},
            grads={k: frozen_copy(v) for k, v in self.model.grads.items()},
            probe_ids=frozen_copy(self.probe_ids),
            probe_hidden=frozen_copy(probe.hidden),
            probe_proba=frozen_copy(probe.proba) if keep_proba else None,
            **cell_arrays(self.model),
        )
        cell = self.model.rnn
        if state_grads and getattr(cell, "track_state_grads", False):
            for name in ("state_grad_norms", "cell_grad_norms"):
                if getattr(cell, name, None) is not None:
                    arrays[name] = frozen_copy(getattr(cell, name))
        return arrays

    def capture(self, latest: Snapshot | None = None) -> Snapshot:
        """A captured snapshot of the run as it is, without training: `latest` (the last
        step's snapshot) with the arrays filled, or a zero-step one before any step."""
        base = latest
        if base is None or base.step != self.step_count:  # nothing trained yet (a new run)
            base = Snapshot(
                step=self.step_count, epoch=self.epoch, epoch_progress=0.0,
                loss=float("nan"), accuracy=float("nan"), lr=self._current_lr(),
                grad_norms={}, grad_norm=0.0, clipped=False, tokens=0, seconds=self.seconds,
            )  # fmt: skip
        return replace(base, cell=getattr(self.model, "cell", "rnn"), **self.capture_arrays(False))

    def _snapshot(self, loss, accuracy, lr, grad_norms, grad_norm, clipped, tokens,
                  val_loss, val_accuracy, capture) -> Snapshot:  # fmt: skip
        arrays = self.capture_arrays() if capture else {}
        return Snapshot(
            cell=getattr(self.model, "cell", "rnn"),
            step=self.step_count,
            epoch=self.epoch,
            epoch_progress=self.epoch_progress,
            loss=float(loss),
            accuracy=accuracy,
            lr=lr,
            grad_norms=grad_norms,
            grad_norm=float(grad_norm),
            clipped=bool(clipped),
            tokens=tokens,
            seconds=self.seconds,
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            best_val_loss=self.best_val_loss,
            finished=self.finished,
            stop_reason=self.stop_reason,
            diverged=self.diverged,
            **arrays,
        )
