"""Every control's extremes are numbers Config accepts, and a refused combination is
shown on the banner instead of raising inside a Qt slot."""

import pytest
from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

from gui.panels.controls import ControlsPanel
from rnnviz.config import Config

pytestmark = pytest.mark.gui


def test_every_spin_box_and_the_lr_slider_at_both_ends(qtbot):
    panel = ControlsPanel()
    qtbot.addWidget(panel)
    panel.set_config(Config())
    panel.show()
    boxes = panel.findChildren(QSpinBox) + panel.findChildren(QDoubleSpinBox)
    assert len(boxes) >= 10
    for end in ("maximum", "minimum"):
        panel.lr_slider.setValue(getattr(panel.lr_slider, end)())
        for box in boxes:
            box.setValue(getattr(box, end)())  # a slot raising here fails the test
        assert isinstance(panel.config(), Config)
        assert not panel.banner_label.text().startswith("Not applied"), panel.banner_label.text()


def test_a_refused_value_is_named_on_the_banner(qtbot):
    panel = ControlsPanel()
    qtbot.addWidget(panel)
    panel.set_config(Config())
    panel.show()
    before = panel.config()
    panel._apply({"clip_value": 0.0})  # as if a control could reach it
    assert panel.banner.isVisible() and "clip_value" in panel.banner_label.text()
    assert panel.config() == before
