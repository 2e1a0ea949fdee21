"""The Network tab's grid of heatmaps fits its tab: every colour bar, labels included,
is inside the view (the titles' text widths once made the grid 67 px wider than the tab
at 780 px, and the right column's bars read "-0.0")."""

from __future__ import annotations

import numpy as np
import pytest

from gui.panels.heatmaps import HeatmapsPanel


@pytest.mark.parametrize("width", [640, 780, 1000])
def test_every_colour_bar_is_inside_the_view(qtbot, width):
    panel = HeatmapsPanel()
    qtbot.addWidget(panel)
    panel.resize(width, 420)
    panel.show()
    rng = np.random.default_rng(0)
    for name, view in panel.views.items():
        if name != "cell_state":
            view.set_data(rng.normal(0, 0.02, (30, 64)))  # levels ±0.05: "-0.04" labels
    qtbot.wait(50)
    shown = panel.graphics.viewport().width()
    assert panel.graphics.ci.sceneBoundingRect().width() <= shown + 0.5
    for name, view in panel.views.items():
        if name != "cell_state":
            assert view.bar.axis.sceneBoundingRect().right() <= shown + 0.5, name
