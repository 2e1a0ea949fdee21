"""The window's layout: controls | curves over the tabs | live sample and prediction."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from gui.help_notes import HelpNote


def build_layout(w) -> None:
    """Place the window `w`'s panels; its tabs and help note are kept on `w`."""
    scroll = QScrollArea()
    scroll.setWidget(w.controls)
    scroll.setWidgetResizable(True)
    scroll.setMinimumWidth(300)
    scroll.setFrameShape(QFrame.NoFrame)
    w.tabs = QTabWidget()
    w.tabs.addTab(w.heatmaps, "Network")
    w.tabs.addTab(w.corpus_panel, "Corpus")
    w.insight.add_tabs(w.tabs)
    w.help_note = HelpNote(w.settings)  # "How to read this" for the tab in front
    middle = QSplitter(Qt.Vertical)
    middle.addWidget(w.curves)
    middle.addWidget(column((w.help_note, 0), (w.tabs, 1), spacing=2))
    middle.setSizes([330, 560])
    split = QSplitter(Qt.Horizontal)
    split.addWidget(scroll)
    split.addWidget(middle)
    split.addWidget(column((w.sample_panel, 1), (w.prediction, 1)))  # sample: LM only
    split.setStretchFactor(1, 1)
    split.setSizes([310, 880, 330])
    w.setCentralWidget(column((w.message, 0), (w.experiments.note, 0), (split, 1), margin=6))


def column(*widgets: tuple[QWidget, int], margin: int = 0, spacing: int = -1) -> QWidget:
    """(widget, stretch) pairs stacked top to bottom."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(margin, margin, margin, margin)
    if spacing >= 0:
        layout.setSpacing(spacing)
    for widget, stretch in widgets:
        layout.addWidget(widget, stretch)
    return box
