"""View › Theme: light, dark, and high contrast with larger text (for a projector).

"auto" (the default) follows the desktop's colour scheme. A theme sets Qt's palette
and font size, and walks the window's plots once: backgrounds, axis lines and text,
titles and legends (axis text is near-black on white, never light grey). Panels that
add plot items later get the same colours from pyqtgraph's configured defaults, and
`apply` runs again when a new run starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QWidget

THEME_NAMES = {"auto": "Automatic (desktop)", "light": "Light", "dark": "Dark",
               "contrast": "High contrast, larger text"}  # fmt: skip
TICK_POINTS = 8.0  # axis tick labels
COLOUR_BAR_TEXT = 54  # pixels for a colour bar's tick labels
SECONDARY = "color: #555"
STYLED = "_rnnviz_theme"  # a plot item's attribute: the Theme it was last styled in
CONTRAST_SHEET = (
    "QCheckBox::indicator { width: 14px; height: 14px; border: 2px solid #ffffff; "
    "background: #000000; } QCheckBox::indicator:checked { background: #ffd700; }"
)  # the panels' grey for secondary text, recoloured per theme


@dataclass(frozen=True)
class Theme:
    window: str  # window and panel background
    text: str
    base: str  # text fields, lists
    button: str
    highlight: str
    plot_background: str
    plot_text: str  # axes, ticks, titles
    secondary: str  # hints and captions
    font_scale: float = 1.0


THEMES = {
    "light": Theme("#efefef", "#111111", "#ffffff", "#e4e4e4", "#3071c8",
                   "#ffffff", "#222222", "#4a4a4a"),
    "dark": Theme("#2b2b2b", "#e8e8e8", "#1f1f1f", "#3a3a3a", "#4a88d8",
                  "#1b1b1b", "#dddddd", "#b8b8b8"),
    "contrast": Theme("#000000", "#ffffff", "#000000", "#1a1a1a", "#ffd700",
                      "#000000", "#ffffff", "#f0f0f0", font_scale=1.3),
}  # fmt: skip


def resolve(name: str) -> str:
    """'auto' -> 'dark' or 'light' after the desktop's colour scheme."""
    if name != "auto":
        return name if name in THEMES else "light"
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)  # Qt >= 6.5
    return "dark" if scheme is not None and scheme() == Qt.ColorScheme.Dark else "light"


class ThemeMenu:
    """The View › Theme menu of `window`; remembers the choice in its settings."""

    def __init__(self, window, view_menu, initial: str | None = None) -> None:
        self.window = window
        app = QApplication.instance()
        self._base_font = QFont(app.font())
        self.name = initial or str(window.settings.value("theme", "auto"))
        menu = view_menu.addMenu("&Theme")
        group = QActionGroup(window)
        self.actions: dict[str, QAction] = {}
        for key, title in THEME_NAMES.items():
            action = QAction(title, window, checkable=True)
            action.setChecked(key == self.name)
            action.triggered.connect(lambda _=False, k=key: self.choose(k))
            group.addAction(action)
            menu.addAction(action)
            self.actions[key] = action
        self.apply()

    def choose(self, name: str) -> None:
        self.name = name
        self.actions[name].setChecked(True)
        self.window.settings.setValue("theme", name)
        self.apply()

    @property
    def theme(self) -> Theme:
        return THEMES[resolve(self.name)]

    def apply(self) -> None:
        """Palette, font and every plot of the window in the current theme."""
        t = self.theme
        app = QApplication.instance()
        if resolve(self.name) != "light" or app.style().name().lower() != "fusion":
            app.setStyle("Fusion")  # the one style that takes a dark palette everywhere
        app.setPalette(_palette(t))
        font = QFont(self._base_font)
        size = self._base_font.pointSizeF()
        if size > 0:
            font.setPointSizeF(size * t.font_scale)
        app.setFont(font)
        pg.setConfigOptions(background=t.plot_background, foreground=t.plot_text)
        for view in self.window.findChildren(pg.GraphicsView):
            style_plots(view, t)
        for label in self.window.findChildren(QLabel):
            _recolour_secondary(label, t)
        for box in self.window.findChildren(QCheckBox):
            # Fusion draws check boxes in the window's colour: on black they would vanish.
            box.setStyleSheet(CONTRAST_SHEET if t is THEMES["contrast"] else "")
        for widget in self.window.findChildren(QWidget):
            sheet = widget.styleSheet()
            if sheet:  # a style sheet keeps the palette of its last polish: polish again
                widget.setStyleSheet("")
                widget.setStyleSheet(sheet)


def style_plots(view: pg.GraphicsView, t: Theme) -> None:
    """Background, axes, titles and legends of one pyqtgraph view.

    Only items not yet in theme `t` are restyled: a new run styles each view's new
    items, and restyling an axis drops its drawing (every tick label laid out again
    at the next paint: tens of ms a view, on every load and Reset)."""
    if getattr(view, STYLED, None) is not t:
        view.setBackground(t.plot_background)
        setattr(view, STYLED, t)
    text_pen = pg.mkPen(t.plot_text)
    kinds = (pg.ColorBarItem, pg.AxisItem, pg.LabelItem, pg.LegendItem)
    items = [item for item in view.scene().items()
             if isinstance(item, kinds) and getattr(item, STYLED, None) is not t]  # fmt: skip
    for item in items:
        setattr(item, STYLED, t)
        if isinstance(item, pg.ColorBarItem):  # room for "-0.002": labels never clipped
            item.axis.setWidth(int(COLOUR_BAR_TEXT * t.font_scale))
            item.updateGeometry()
        elif isinstance(item, pg.AxisItem):
            item.setPen(text_pen)
            item.setTextPen(text_pen)
            font = QFont()
            font.setPointSizeF(TICK_POINTS * t.font_scale)
            item.setStyle(tickFont=font)
            if hasattr(item, "label"):
                item.label.setDefaultTextColor(QColor(t.plot_text))
        elif isinstance(item, pg.LabelItem):
            item.opts["color"] = t.plot_text
            item.setText(item.text)
        elif isinstance(item, pg.LegendItem):
            background = QColor(t.plot_background)
            background.setAlpha(210)
            item.setBrush(pg.mkBrush(background))
            item.setLabelTextColor(t.plot_text)
    if items:
        for item in view.scene().items():  # the plots around widened colour bars: resized
            if isinstance(item, pg.GraphicsLayout):
                item.layout.invalidate()


def _recolour_secondary(label: QWidget, t: Theme) -> None:
    sheet = label.property("themeSheet")
    if sheet is None:
        sheet = label.styleSheet()
        if SECONDARY not in sheet:
            return
        label.setProperty("themeSheet", sheet)
    label.setStyleSheet(sheet.replace(SECONDARY, f"color: {t.secondary}"))


def _palette(t: Theme) -> QPalette:
    p = QPalette()
    colours = {
        QPalette.Window: t.window,
        QPalette.WindowText: t.text,
        QPalette.Base: t.base,
        QPalette.AlternateBase: t.button,
        QPalette.Text: t.text,
        QPalette.Button: t.button,
        QPalette.ButtonText: t.text,
        QPalette.ToolTipBase: t.base,
        QPalette.ToolTipText: t.text,
        QPalette.Highlight: t.highlight,
        QPalette.HighlightedText: t.base if t.highlight == "#ffd700" else "#ffffff",
        QPalette.PlaceholderText: t.secondary,
        QPalette.Link: t.highlight,
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    p.setColor(QPalette.Disabled, QPalette.Text, QColor(t.secondary))
    p.setColor(QPalette.Disabled, QPalette.WindowText, QColor(t.secondary))
    p.setColor(QPalette.Disabled, QPalette.ButtonText, QColor(t.secondary))
    return p
