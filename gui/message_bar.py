"""The dismissable line at the top of the window for errors and notices."""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton


class MessageBar(QFrame):
    """A dismissable line at the top of the window for errors and notices."""

    STYLES: ClassVar[dict[str, str]] = {
        "error": "background: #f8d7da; color: #842029;",
        "warning": "background: #fff3cd; color: #664d03;",
        "info": "background: #d1e7dd; color: #0f5132;",
    }

    def __init__(self) -> None:
        super().__init__()
        self.label = QLabel()
        self.label.setTextFormat(Qt.RichText)  # always: escaped text shows `'`, not `&#x27;`
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        close = QPushButton("×")
        close.setFlat(True)
        close.setFixedWidth(24)
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.kind = ""
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.kind = kind
        self.setStyleSheet(f"QFrame {{ {self.STYLES[kind]} border-radius: 4px; }}")
        self.label.setText(text)
        self.show()
