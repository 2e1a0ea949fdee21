"""'How to read this' on every tab, and the truthful corpus summary."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from gui.help_notes import CURVES_NOTE, NOTES
from rnnviz.config import Config

pytestmark = pytest.mark.gui


def test_every_tab_has_a_collapsible_note(qtbot, make_window):
    from gui.window import PANELS

    window = make_window(load=False)
    note = window.help_note
    assert set(PANELS) <= set(NOTES), "a tab without a 'How to read this' note"
    for index, name in enumerate(PANELS):
        window.tabs.tabBar().setCurrentIndex(index)
        assert note.isVisible() and note.name == name
        assert window.tabs.tabText(index) in note.toggle.text()
        qtbot.mouseClick(note.toggle, Qt.LeftButton)  # unfold, as a user does
        assert note.body.isVisible()
        for part in ("Shows", "Try"):
            assert part in note.body.text(), name
        qtbot.mouseClick(note.toggle, Qt.LeftButton)  # and fold again
        assert not note.body.isVisible()
    assert window.settings.value("help_open", type=bool) is False


@pytest.mark.parametrize(
    "where, word",
    [("neurons", "swing"), ("projection", "lean"), ("why", "occlusion"), ("curves", "ln C")],
)
def test_jargon_is_explained_where_it_appears(where, word):
    text = CURVES_NOTE if where == "curves" else NOTES[where][1]
    assert f"<i>{word}" in text or f"<b>{word}" in text, f"{word!r} is not introduced"


def test_corpus_tab_says_what_max_length_cuts(qtbot, make_window):
    source = "sample:recall?length=30&n=100"
    window = make_window(Config(epochs=0, maxlen=20), source=source)
    text = window.corpus_panel.summary.text()
    assert "max length T = 20 cuts 100 texts, dropping 1,000 tokens" in text
    window = make_window(Config(epochs=0), source=source)
    assert "no text is cut" in window.corpus_panel.summary.text()


def test_themes_from_the_view_menu(qtbot, make_window):
    import pyqtgraph as pg
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    window = make_window(load=False)
    axis = window.curves.loss_plot.getAxis("left")
    window.theme.actions["light"].trigger()
    light = QColor_of(axis)
    assert light.lightness() < 80, "axis text must not be light grey on white"
    window.theme.actions["dark"].trigger()
    assert QApplication.palette().color(QPalette.Window).lightness() < 80
    assert QColor_of(axis).lightness() > 180
    assert window.curves.graphics.backgroundBrush().color().lightness() < 60
    base = QApplication.font().pointSizeF()
    window.theme.actions["contrast"].trigger()
    assert QApplication.font().pointSizeF() > base
    assert window.settings.value("theme") == "contrast"
    window.theme.actions["auto"].trigger()  # offscreen has no dark desktop: light
    assert QApplication.palette().color(QPalette.Window).lightness() > 180
    assert QApplication.font().pointSizeF() == base  # larger text only while high contrast
    assert isinstance(axis, pg.AxisItem)


def QColor_of(axis):
    return axis.textPen().color()


def test_plot_exports_are_2x_png_and_svg(qtbot, make_window, tmp_path):
    from PySide6.QtGui import QImage

    window = make_window()
    plot = window.curves.loss_plot
    png, svg = tmp_path / "loss.png", tmp_path / "loss.svg"
    window.export_plot(plot, str(png))
    assert QImage(str(png)).width() >= 2 * int(plot.sceneBoundingRect().width())
    window.export_plot(plot, str(svg))
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "<path" in text
    shot = tmp_path / "window.png"
    assert window.export_window(str(shot))
    assert QImage(str(shot)).width() >= 2 * window.width()
