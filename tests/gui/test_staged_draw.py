"""A captured snapshot is drawn over several redraw ticks, never all views in one
(gui/staged_draw.py): one frame's paint is the curves and one part, not everything."""

import pytest
from PySide6.QtCore import Qt

from gui.panels.heatmaps import GROUPS
from gui.staged_draw import StagedDraw

pytestmark = pytest.mark.gui


def test_steps_run_one_at_a_time_and_a_new_start_drops_the_rest():
    done = []
    staged = StagedDraw()
    staged.start([lambda: done.append(1), lambda: done.append(2), lambda: done.append(3)])
    staged.run_next()
    assert done == [1] and staged.busy
    staged.start([lambda: done.append("a")])  # a newer snapshot: the old parts are dropped
    staged.run_next()
    assert done == [1, "a"] and not staged.busy
    staged.run_next()  # nothing left: nothing happens
    assert done == [1, "a"]


def test_training_draws_the_heatmap_groups_in_different_ticks(qtbot, make_window):
    window = make_window()
    drawn = []  # (tick, view name) of every heatmap update
    for name, view in window.heatmaps.views.items():
        set_data = view.set_data

        def record(*args, _name=name, _set_data=set_data, **kwargs):
            drawn.append((window.frames_drawn, _name))
            return _set_data(*args, **kwargs)

        view.set_data = record
    qtbot.mouseClick(window.controls.train_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len({tick for tick, _ in drawn}) >= 9, timeout=20000)
    qtbot.mouseClick(window.controls.train_button, Qt.LeftButton)
    qtbot.waitUntil(window.training_stopped, timeout=5000)
    group_of = {name: i for i, group in enumerate(GROUPS) for name in group}
    groups_per_tick: dict[int, set[int]] = {}
    for tick, name in drawn:
        groups_per_tick.setdefault(tick, set()).add(group_of[name])
    assert all(len(groups) == 1 for groups in groups_per_tick.values()), groups_per_tick
    assert {g for groups in groups_per_tick.values() for g in groups} == set(range(len(GROUPS)))


def test_the_network_tab_shows_the_last_snapshot_when_brought_to_the_front(qtbot, make_window):
    window = make_window()
    window.tabs.setCurrentWidget(window.corpus_panel)
    qtbot.mouseClick(window.controls.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.last_captured.step >= 1, timeout=10000)
    qtbot.waitUntil(lambda: not window.snapshots.pending, timeout=5000)
    window.tabs.setCurrentWidget(window.heatmaps)  # paused: no other frame will come
    shown = window.heatmaps.views["W_h"].data
    assert shown is not None and (shown == window.last_captured.params["W_h"]).all()
