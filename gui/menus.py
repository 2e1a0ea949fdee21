"""The window's menus and keyboard shortcuts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog

from gui.exports import save_path
from gui.theme import ThemeMenu


def action(parent, text: str, slot, shortcut: str = "") -> QAction:
    """A menu action that calls `slot` (with `shortcut`, if given)."""
    act = QAction(text, parent)
    if shortcut:
        act.setShortcut(QKeySequence(shortcut))
    act.triggered.connect(slot)
    return act


def build_menus(w) -> None:
    """File (corpus, samples, models, experiments, exports), View (theme), shortcuts;
    the actions tests and lessons use are kept on the window `w`."""
    file_menu = w.menuBar().addMenu("&File")
    w.action_open = action(w, "&Open corpus file…", w.corpus_panel.choose_file, "Ctrl+O")
    w.action_open_folder = action(w, "Open corpus &folder…", w.corpus_panel.choose_folder)
    file_menu.addAction(w.action_open)
    file_menu.addAction(w.action_open_folder)
    w.samples_menu = file_menu.addMenu("&Samples")
    file_menu.addSeparator()
    w.action_save_model = action(w, "&Save model…", lambda: save_model(w), "Ctrl+S")
    w.action_load_model = action(w, "&Load model…", lambda: load_model(w), "Ctrl+L")
    file_menu.addAction(w.action_save_model)
    file_menu.addAction(w.action_load_model)
    file_menu.addSeparator()
    w.experiments.add_menus(file_menu, w.menuBar())
    file_menu.addSeparator()
    w.action_export_window = action(w, "Export &window as PNG…", lambda: export_window(w))
    file_menu.addAction(w.action_export_window)
    plots_menu = file_menu.addMenu("Export &plot (PNG at 2x, or SVG)")
    for name, plot in w.plots().items():
        plots_menu.addAction(action(w, name, lambda _=False, p=plot, n=name: export_plot(w, p, n)))
    w.action_export_csv = action(w, "Export metric &history as CSV…", lambda: export_csv(w))
    file_menu.addAction(w.action_export_csv)
    file_menu.addAction(w.insight.movie_action)
    file_menu.addSeparator()
    file_menu.addAction(action(w, "&Quit", w.close, "Ctrl+Q"))

    view_menu = w.menuBar().addMenu("&View")
    w.theme = ThemeMenu(w, view_menu)  # light, dark, high contrast (issue 13)

    QShortcut(QKeySequence(Qt.Key_Space), w, w.toggle_training)
    QShortcut(QKeySequence(Qt.Key_S), w, w.step)
    QShortcut(QKeySequence("Ctrl+R"), w, w.reset)


def fill_samples_menu(w, samples: list[tuple[str, str]]) -> None:
    """The built-in samples in File › Samples."""
    w.samples_menu.clear()
    for name, description in samples:
        w.samples_menu.addAction(
            action(
                w, f"{name} — {description}", lambda _=False, n=name: w.load_source(f"sample:{n}")
            )
        )


# -- the File menu's dialogs ----------------------------------------------------------------
def save_model(w) -> None:
    path = save_path(w, "Save model", "model.npz", "Checkpoints (*.npz)")
    if path:
        w.workers.save_requested.emit(path)


def load_model(w) -> None:
    path, _ = QFileDialog.getOpenFileName(w, "Load model", "", "Checkpoints (*.npz)")
    if path:
        w.load_checkpoint(path)


def export_window(w) -> None:
    path = save_path(w, "Export window", "rnnviz.png", "PNG (*.png)")
    if path:
        w.export_window(path)


def export_plot(w, plot, name: str) -> None:
    path = save_path(w, f"Export {name}", f"{name}.png", "PNG, 2x (*.png);;SVG (*.svg)")
    if path:
        w.export_plot(plot, path)


def export_csv(w) -> None:
    path = save_path(w, "Export metrics", "metrics.csv", "CSV (*.csv)")
    if path:
        w.export_csv(path)
