"""Issue 14's window side: panels that know the task, glyphs no font has, the window's
size, and issue 16's staged set-up of a new run (hidden tabs in later event-loop turns)."""

import itertools
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from gui.glyphs import can_draw, drawable, shown_token
from gui.panels.corpus import VocabularyModel
from gui.panels.prediction import _prefix_html
from gui.presentation import presentation_of
from rnnviz.config import Config

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
SMALL = Config(epochs=0, embed_dim=16, hidden_size=48, batch_size=16, bptt=32, lr=0.01)
HIEROGLYPH = "\U00013000"  # in no font this machine has (nor the usual desktops)


def run_info(task: str, words: list[str], labels=("neg", "pos"), head="softmax"):
    config = Config(task=task, head=head, level="char" if task == "lm" else "word")
    return SimpleNamespace(config=config, words=words, label_names=list(labels))


def test_characters_no_font_has_are_spelled_out(qapp):
    assert not can_draw(HIEROGLYPH)
    assert drawable(f"a{HIEROGLYPH}b") == "aU+13000b"
    assert drawable("café ✓") == "café ✓"  # what a font has stays as it is
    assert drawable("zero\u200bwidth\x00") == "zeroU+200BwidthU+0000"  # invisible otherwise
    assert drawable("two\nlines\tand a tab") == "two\nlines\tand a tab"  # running text
    assert shown_token(" ") == "␣" and shown_token("\n") == "⏎"
    assert shown_token(HIEROGLYPH) == "U+13000"


def test_views_show_the_code_point_not_a_box(qapp):
    model = VocabularyModel()
    model.set_vocabulary(["[PAD]", "[UNK]", HIEROGLYPH, "ok"], np.array([0, 0, 9, 5]))
    shown = {model.data(model.index(r, 0)) for r in range(model.rowCount())}
    assert "U+13000" in shown and HIEROGLYPH not in shown and "ok" in shown
    html = _prefix_html(["a", HIEROGLYPH, " "], [True, True, True])
    assert "U+13000" in html and HIEROGLYPH not in html and "␣" in html


def test_presentation_of_each_task():
    words = ["[PAD]", "[UNK]", *"abcdef"]
    classify = presentation_of(run_info("classify", words, labels=("a", "b", "c")))
    assert classify.reference == pytest.approx(math.log(3))
    assert classify.reference_label == "ln C (untrained)" and not classify.hidden_tabs
    assert classify.format_loss(0.5) == "0.5000"
    assert presentation_of(run_info("classify", words, head="tanh")).reference is None
    lm = presentation_of(run_info("lm", words))
    assert lm.reference == pytest.approx(math.log2(len(words)))
    assert lm.loss_unit == "bits per character"
    assert lm.hidden_tabs == {"errors", "state_space"}
    assert lm.format_loss(math.log(2)) == "1.0000 bits/char"
    assert lm.accuracy_title == "Next-token accuracy" and "H x V" in lm.output_title


def test_window_is_split_and_has_no_language_model_mode():
    assert not (ROOT / "gui" / "lm_mode.py").exists()
    lines = (ROOT / "gui" / "window.py").read_text().count("\n")
    assert lines < 350, f"gui/window.py has {lines} lines"


def test_each_panel_follows_the_task(qtbot, make_window):
    window = make_window(SMALL)  # the sentiment sample: a classifier
    assert not hasattr(window, "lm_mode")
    assert not window.sample_panel.isVisible()
    assert "Try a sentence" in window.prediction.title.text()
    assert window.curves.chance_line.label.format == "ln C (untrained)"
    errors = window.tabs.indexOf(window.insight.errors)
    state_space = window.tabs.indexOf(window.insight.state_space)
    assert window.tabs.isTabVisible(errors) and window.tabs.isTabVisible(state_space)
    window.controls.set_task("lm")  # reloads the corpus for the language model
    qtbot.waitUntil(lambda: window.info.config.task == "lm", timeout=15000)
    qtbot.waitUntil(lambda: not window.run_setup.pending, timeout=5000)
    assert window.sample_panel.isVisible()
    assert "Next token" in window.prediction.title.text()
    assert "uniform guess" in window.curves.chance_line.label.format
    assert not window.tabs.isTabVisible(errors) and not window.tabs.isTabVisible(state_space)
    assert window.heatmaps.views["W_out"].title == "W_out (H x V)"
    window.status_loss.setText("")
    window.redraw(force=True)
    qtbot.waitUntil(lambda: window.last_frame is not None, timeout=5000)
    window.redraw(force=True)
    assert "loss" in window.status_loss.text()


def test_hidden_tabs_are_set_up_in_later_turns_or_when_shown(qtbot, make_window):
    window = make_window(SMALL)
    window.show_panel("network")
    calls = []
    original = window.insight.errors.set_data
    window.insight.errors.set_data = lambda *a: (calls.append("errors"), original(*a))
    window.run_setup.new_run(window.info)  # as a Reset's new run does
    pending = list(window.run_setup.pending)
    on_screen = ["curves", "prediction", "sample", "tabs", "network"]
    assert pending[:5] == on_screen  # on screen first, then the hidden tabs, a turn each
    assert {"corpus", "errors", "neurons", "projection"} <= set(pending[5:])
    assert not {"compare", "gates", "gradient_flow"} & set(pending)  # they record every frame
    assert calls == []
    for name in on_screen:  # (their turns)
        window.run_setup.run(name)
    assert not set(on_screen) & set(window.run_setup.pending)
    assert "errors" in window.run_setup.pending
    window.tabs.setCurrentWidget(window.insight.errors)  # shown before its turn: now
    assert calls == ["errors"] and window.run_setup.ready("errors")
    qtbot.waitUntil(lambda: not window.run_setup.pending, timeout=5000)  # the rest, later
    assert calls == ["errors"]


def test_a_reset_keeps_the_embedding_rows_of_the_same_vocabulary(qtbot, make_window):
    window = make_window(SMALL)
    heatmaps = window.heatmaps
    picks = []
    original = heatmaps._pick_rows
    heatmaps._pick_rows = lambda: (picks.append(1), original())
    shown_before = heatmaps.top_ids.copy()
    old_info = window.info
    qtbot.mouseClick(window.controls.reset_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.info is not old_info, timeout=15000)
    qtbot.waitUntil(lambda: not window.run_setup.pending, timeout=5000)  # its views set up
    assert picks == []  # the same words and counts: the top rows are not picked again
    assert np.array_equal(heatmaps.top_ids, shown_before)


def test_compare_accuracy_is_drawn_before_two_validation_passes(qtbot):
    from gui.panels.compare import ComparePanel

    panel = ComparePanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.new_run({"cell": "rnn"}, 1 / math.log(2), "bits per character")
    steps = np.arange(1, 301, dtype=np.float64)
    rows = np.stack([steps, steps / 100, np.full(300, 2.0), np.linspace(0.1, 0.45, 300)], 1)
    panel.add_rows(rows, np.array([[200.0, 2.0, 2.1, 0.4]]))  # one validation pass
    panel.redraw(force=True)
    x, y = panel._items[0][2].getData()
    assert x is not None and len(x) > 1 and 0.1 <= y[-1] <= 0.45  # training's, smoothed
    assert panel.acc_plot.titleLabel.text == "Training accuracy (next token)"
    panel.add_rows(rows[:0], np.array([[300.0, 3.0, 2.0, 0.45]]))
    panel.redraw(force=True)
    x, _ = panel._items[0][2].getData()
    assert list(x) == [200.0, 300.0]
    assert panel.acc_plot.titleLabel.text == "Validation accuracy (next token)"


def test_gradient_flow_log_axes_label_decades_only(qtbot):
    from gui.panels.gradient_flow import GradientFlowPanel

    panel = GradientFlowPanel()
    qtbot.addWidget(panel)
    panel.show()
    x = (-30.5, 0.5)
    panel._set_decades("now", panel.now_plot, x, np.array([0.004, 0.03]))  # two decades
    axis = panel.now_plot.getAxis("left")
    levels = axis._tickLevels or []  # the ticks drawn (pyqtgraph keeps set ticks here)
    assert [[v for v, _ in level] for level in levels] == [[-3, -2, -1], []]
    assert [text for _, text in levels[0]] == ["0.001", "0.01", "0.1"]  # no 0.002 ... 0.09


def test_a_new_run_sets_up_one_view_an_event_loop_turn(qtbot, make_window):
    window = make_window(SMALL)
    setup = window.run_setup
    window.show_panel("corpus")
    setup.new_run(window.info)  # as a Reset's new run does
    assert setup.steps_done == 0 and setup.settling  # nothing at once: from the next turn
    done = [0]
    for _ in range(10_000):
        if not setup.pending:
            break
        QApplication.processEvents()  # one turn of the event loop
        done.append(setup.steps_done)
    assert done[-1] == setup.steps_total >= 8
    assert all(b - a <= 1 for a, b in itertools.pairwise(done)), done


def test_the_network_tab_shows_the_step_taken_while_it_was_hidden(qtbot, make_window):
    window = make_window(SMALL)
    window.show_panel("corpus")
    qtbot.mouseClick(window.controls.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.last_captured is not None and window.last_captured.step == 1,
                    timeout=5000)  # fmt: skip
    window.redraw(force=True)  # the network tab is hidden: it keeps the snapshot, undrawn
    W = window.last_captured.params["W"]
    drawn = window.heatmaps.views["W"].data
    assert drawn is None or not np.array_equal(drawn, W)
    window.show_panel("network")  # paused: no frame comes to draw it
    np.testing.assert_array_equal(window.heatmaps.views["W"].data, W)


def test_a_reset_restyles_no_plot_item_the_theme_styled_already(qtbot, make_window, monkeypatch):
    import pyqtgraph as pg

    window = make_window(SMALL)
    styled = []
    original = pg.AxisItem.setTextPen

    def set_text_pen(self, *args, **kwargs):
        styled.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(pg.AxisItem, "setTextPen", set_text_pen)
    first = window.info
    qtbot.mouseClick(window.controls.reset_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.info is not first, timeout=15000)
    qtbot.waitUntil(lambda: not window.run_setup.pending, timeout=5000)
    assert styled == []  # restyling an axis drops its drawing: every label laid out again
    window.theme.actions["dark"].trigger()  # a new theme restyles them all
    assert len(styled) > 20


def test_a_new_runs_first_frame_is_drawn_turns_after_the_views_on_screen(
    qtbot, make_window, monkeypatch
):
    from gui.run_setup import ALWAYS_SHOWN, SETTLE_TURNS

    window = make_window(SMALL)
    window.show_panel("corpus")
    setup, events = window.run_setup, []
    run, steps = setup.run, window.snapshots.steps
    monkeypatch.setattr(setup, "run", lambda name: (events.append(name), run(name)))
    first = window.info

    def record_draw():  # the drawing of a snapshot begins (gui/staged_draw.py)
        parts = steps()
        if window.info is not first and parts:  # the new run's, not the old one's last
            events.append("draw")
        return parts

    monkeypatch.setattr(window.snapshots, "steps", record_draw)
    qtbot.mouseClick(window.controls.reset_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.info is not first and "draw" in events, timeout=15000)
    before = events[: events.index("draw")]
    on_screen = {*ALWAYS_SHOWN, "corpus"}
    assert on_screen <= set(before)  # the new run's views on screen first, ...
    assert len(set(before) - on_screen) >= SETTLE_TURNS  # ... then turns for their relayout
