"""The task of the next load: the user's task switch, and the plain-text auto-switch.

A classification load that meets plain text is opened again for the language model
(and said so); a labelled file opened after that is classified again, unless the user
chose the language model themselves. Knows the controls and a few callables, never
the window.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QObject

from gui.tasks import config_for_task
from rnnviz.config import Config


class TaskSwitch(QObject):
    """Picks the settings a source is opened with; reloads on a task switch."""

    def __init__(
        self,
        controls,
        load: Callable[[str], None],
        current_source: Callable[[], str],
        notify: Callable[[str, str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.controls = controls
        self._load, self._current_source, self._notify = load, current_source, notify
        self.pinned: dict = {}  # settings a task switch keeps (given on the command line)
        self.auto_source = ""  # plain text that switched to the language model by itself
        controls.task_changed.connect(self._on_task_changed)

    def forget(self) -> None:
        """An experiment chose the settings and the task: nothing pinned, nothing auto."""
        self.pinned, self.auto_source = {}, ""

    def config_for_source(self, source: str, config: Config) -> Config:
        """The settings to open `source` with: a labelled file after plain text had
        switched to the language model by itself is classified again (it is tried so,
        and plain text switches back); a task the user chose is kept."""
        if not self.auto_source or source == self.auto_source or config.task != "lm":
            return config
        self.auto_source = ""
        config = config_for_task(config, "classify").replace(**self.pinned)
        self.controls.set_config(config, applied=False)
        return config

    def on_plain_text(self, source: str, _message: str) -> None:
        """A classification load met plain text: switch to the language model, say so."""
        config = config_for_task(self.controls.config(), "lm").replace(**self.pinned)
        self.controls.set_config(config, applied=False)
        self.auto_source = source
        self._load(source)
        self._notify(
            f"{html.escape(source)} is plain text, so it was opened for the "
            "<b>language-model</b> task (predict the next character). Choose Task › "
            "Classify and a labelled corpus (tsv, csv, folders) to classify texts.",
            "info",
        )

    def _on_task_changed(self, _task: str) -> None:
        self.auto_source = ""  # the user's own choice from now on
        if self.pinned:
            config = self.controls.config().replace(**self.pinned)
            self.controls.set_config(config, applied=False)
        source = self._current_source()
        if source:
            self._load(source)  # the corpus is read anew for the task, fresh weights
