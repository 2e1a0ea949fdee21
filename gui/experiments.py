"""Experiments and lessons in the window: File › Save / Open experiment, the Lessons
menu, the lesson's note, and the live changes recorded with their step.

The window calls three hooks (`on_info`, `on_frame`, `add_menus`); the worker's
`live_applied` signal comes here directly. A run is recorded from the `RunInfo` that
starts it: its corpus and settings, then each live change with the step at which the
worker applied it (exact). An opened experiment's changes are replayed by sending each
once a frame reaches its step: exact while stepping, while training the worker may be a
frame's worth of steps further on (the recording then says where they landed).
"""

from __future__ import annotations

import html
from dataclasses import replace

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from rnnviz import experiment
from rnnviz.corpus_source import corpus_source, split_source
from rnnviz.experiment import Experiment, ExperimentError, LiveChange
from rnnviz.lessons import list_lessons, load_lesson


class LessonNote(QFrame):
    """The lesson's note above the views: a title, a few lines, hide and show."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("lessonNote")
        self.setFrameShape(QFrame.StyledPanel)
        self.title = QLabel()
        self.title.setTextFormat(Qt.RichText)
        self.toggle = QPushButton("Hide")
        self.toggle.setFlat(True)
        self.toggle.setCheckable(True)
        self.toggle.toggled.connect(self._on_toggled)
        close = QPushButton("×")
        close.setFlat(True)
        close.setFixedWidth(24)
        close.setToolTip("Close the lesson's note (Lessons › Show the note brings it back)")
        close.clicked.connect(self.hide)
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.RichText)
        self.body.setTextInteractionFlags(Qt.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.toggle)
        top.addWidget(close)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 6)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.body)
        self.hide()

    def show_note(self, title: str, note: str) -> None:
        self.title.setText(f"<b>Lesson: {html.escape(title)}</b>")
        self.body.setText(" ".join(note.split()))  # the file's line breaks are for the file
        self.toggle.setChecked(False)
        self.body.show()
        self.show()

    def _on_toggled(self, hidden: bool) -> None:
        self.body.setVisible(not hidden)
        self.toggle.setText("Show" if hidden else "Hide")


class ExperimentActions(QObject):
    """Records the window's run as an experiment; opens experiments and lessons."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.note = LessonNote()
        self.opened: Experiment | None = None  # the experiment or lesson last opened
        self.run_config = None  # the settings the current run started with
        self.recorded: list[LiveChange] = []  # live changes of the current run
        self.pending: list[LiveChange] = []  # an opened experiment's changes still to send
        self._replaying = False

        self.save_action = QAction("Save e&xperiment…", window)
        self.save_action.setToolTip("The corpus, every setting, the steps and your live changes")
        self.save_action.triggered.connect(self.save_dialog)
        self.open_action = QAction("Open &experiment…", window)
        self.open_action.triggered.connect(self.open_dialog)
        self.show_note_action = QAction("Show the lesson's &note", window)
        self.show_note_action.triggered.connect(self._show_note_again)
        window.worker.live_applied.connect(self.on_live_applied)

    # -- hooks the window calls -----------------------------------------------------------
    def add_menus(self, file_menu, menu_bar) -> None:
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.save_action)
        lessons = menu_bar.addMenu("&Lessons")
        for name, title in list_lessons():
            action = QAction(title, self.window)
            action.setToolTip(f"python main.py --lesson {name}")
            action.triggered.connect(lambda _=False, n=name: self.open_lesson(n))
            lessons.addAction(action)
        lessons.addSeparator()
        lessons.addAction(self.show_note_action)
        self.lessons_menu = lessons

    def on_info(self, info) -> None:
        """A new run (load, reset, checkpoint): recording starts again from its settings."""
        self.run_config = info.config
        self.recorded = []
        self._send_due(info.step)

    def on_frame(self, frame) -> None:
        if self.pending:
            self._send_due(frame.snapshot.step)

    def on_live_applied(self, step: int, changes: dict) -> None:
        """The worker applied `changes` after `step` steps: record them at that step."""
        if self.recorded and self.recorded[-1].step == step:  # one slider drag, one entry
            merged = {**self.recorded[-1].changes, **changes}
            self.recorded[-1] = LiveChange(step, merged)
        else:
            self.recorded.append(LiveChange(step, dict(changes)))

    # -- experiments ------------------------------------------------------------------------
    def current(self) -> Experiment:
        """The window's run as an experiment: re-run headless, it gives the same numbers."""
        w = self.window
        frame = w.last_frame
        steps = frame.snapshot.step if frame is not None else 0
        config = self.run_config or w.controls.config()
        base = self.opened if self.opened is not None else Experiment()
        source, format, label_column = split_source(w.source or base.source)
        return replace(
            base, source=source, format=format, label_column=label_column, config=config,
            steps=steps, changes=tuple(c for c in self.recorded if c.step < steps or steps == 0),
        )  # fmt: skip

    def save(self, path: str) -> None:
        experiment.save(self.current(), path)
        self.window.statusBar().showMessage(f"Saved {path}", 5000)

    def open(self, exp: Experiment, path: str = "") -> None:
        """Load the experiment's corpus with its settings, open its tab, show its note."""
        w = self.window
        self.opened = exp
        w.controls.set_config(exp.config, applied=False)
        w.diverged_message = ""
        w.task_switch.forget()  # its settings and task were chosen, not the command line's
        w.load_source(corpus_source(exp.source, exp.format or "auto", exp.label_column))
        self.pending = list(exp.changes)
        if exp.panel:
            w.show_panel(exp.panel)
        if exp.note:
            self.note.show_note(exp.title or exp.source, exp.note)
        else:
            self.note.hide()
        self.show_note_action.setEnabled(bool(exp.note))

    def open_lesson(self, name: str) -> None:
        self.open(load_lesson(name))

    def open_file(self, path: str) -> bool:
        try:
            exp = experiment.load(path)
        except ExperimentError as exc:
            self.window.message.show_message(html.escape(str(exc)), "error")
            return False
        self.open(exp, path)
        return True

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save experiment", "experiment.toml", "Experiments (*.toml)"
        )
        if path:
            self.save(path)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Open experiment", "", "Experiments (*.toml)"
        )
        if path:
            self.open_file(path)

    # -- internals --------------------------------------------------------------------------
    def _send_due(self, step: int) -> None:
        """Send the opened experiment's changes whose step has been reached."""
        w = self.window
        while self.pending and self.pending[0].step <= step:
            changes = self.pending.pop(0).changes
            w.controls.set_config(w.controls.config().replace(**changes), applied=False)
            w._on_live_changed(changes)  # as if the user changed them: sent and recorded

    def _show_note_again(self) -> None:
        exp = self.opened
        if exp is not None and exp.note:
            self.note.show_note(exp.title or exp.source, exp.note)
