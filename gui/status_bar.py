"""The run's state where the user reads it: the status bar (state, loss in the run's
unit, speed) and the message line for the worker's events (errors, divergence, end)."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel

from gui.presentation import NO_RUN, Presentation, format_setting


class RunStatus(QObject):
    """Status-bar labels updated from frames; the worker's events as messages."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.state = QLabel("idle")
        self.rate = QLabel("")
        self.loss = QLabel("")
        bar = window.statusBar()
        bar.addWidget(self.state)
        bar.addPermanentWidget(self.loss)
        bar.addPermanentWidget(self.rate)
        self.presentation: Presentation = NO_RUN
        # Bound methods of this QObject, never lambdas: a lambda would run in the worker's
        # thread, and widgets may only be touched from the GUI thread.
        worker = window.worker
        worker.running_changed.connect(self._on_running_changed)
        worker.load_progress.connect(self._on_load_progress)
        worker.load_failed.connect(self._on_load_failed)
        worker.diverged.connect(self._on_diverged)
        worker.finished.connect(self._on_finished)
        worker.error.connect(self._on_error)
        worker.saved.connect(self._on_saved)
        window.run_setup.progress.connect(self._on_views_progress)

    def show_frame(self, frame, current_val_loss: float | None) -> None:
        """Speed, step, training loss, validation loss (current and best) and lr."""
        p, snap = self.presentation, frame.snapshot
        self.rate.setText(
            f"{frame.steps_per_second:,.0f} steps/s · {frame.tokens_per_second:,.0f} tokens/s"
            + ("" if frame.running else " (last run)")
        )
        loss = p.format_loss(snap.loss)  # bits per character for a char LM
        if not math.isfinite(snap.loss) and not snap.diverged:
            loss = "– (no step trained in this run yet)"  # step 0, or a loaded model
        val = ""
        best = snap.best_val_loss
        if current_val_loss is not None and best is not None:
            fmt = p.format_loss
            val = f" · val loss: current {fmt(current_val_loss)}, best {fmt(best)}"
        self.loss.setText(f"step {snap.step:,} · loss {loss}{val} · lr {format_setting(snap.lr)}")

    # -- the worker's events ---------------------------------------------------------------
    def _on_error(self, text: str) -> None:
        self.window.message.show_message(html.escape(text).replace("\n", "<br>"), "error")

    def _on_saved(self, path: str) -> None:
        self.window.statusBar().showMessage(f"Saved {path}", 5000)

    def _on_running_changed(self, running: bool) -> None:
        self.window.controls.set_running(running)
        self.state.setText("training" if running else "paused")

    def _on_load_progress(self, fraction: float, text: str) -> None:
        if fraction < 1.0 and text:  # seen from every tab
            self.state.setText(text)
        self.window.corpus_panel.set_loading(fraction, text)

    def _on_views_progress(self, done: int, total: int) -> None:
        """The views' set-up of a new run (gui/run_setup.py), counted in its steps: the
        last phase of a load (and of a Reset), with its real share."""
        fraction = done / total if done < total else 1.0
        self.window.corpus_panel.set_loading(fraction, f"Setting up the views: {done} of {total}…")

    def _on_load_failed(self, text: str) -> None:
        w = self.window
        w.source = w.info.source if w.info is not None else ""  # still the one shown
        w.corpus_panel.show_error(text)
        w.message.show_message(f"Could not load the corpus: {html.escape(text)}", "error")

    def _on_diverged(self, text: str) -> None:
        w = self.window
        w.diverged_message = (
            f"Training paused: {text}" if text else "Training paused: the loss is not finite"
        )
        w.controls.set_running(False)
        w.message.show_message(html.escape(w.diverged_message), "error")
        self.state.setText("diverged")

    def _on_finished(self, reason: str) -> None:
        self.window.controls.set_running(False)
        if reason == "early stopping":
            text = "Early stopping: validation loss stopped improving; the best weights are kept."
        else:
            text = f"Finished ({reason}). Raise Epochs to continue, or Reset to start again."
        self.window.message.show_message(text, "info")
        self.state.setText(f"finished ({reason})")
