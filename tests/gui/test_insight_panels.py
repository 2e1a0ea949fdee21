"""The insight tabs in the real window: trained by the real worker, clicked as a user would."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImageReader

from gui.movie import qimage_to_rgb, write_gif
from gui.point_hover import nearest_point

pytestmark = pytest.mark.gui


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.LeftButton)


def train(qtbot, window, steps: int = 60) -> None:
    """Train with the Train button until `steps` steps, then pause."""
    start = window.train_history.total
    click(qtbot, window.controls.train_button)
    qtbot.waitUntil(lambda: window.train_history.total >= start + steps, timeout=20000)
    click(qtbot, window.controls.train_button)
    qtbot.waitUntil(window.training_stopped, timeout=5000)


def step(qtbot, window) -> int:
    """One captured step with the Step button; returns the new step number."""
    before = window.train_history.total
    click(qtbot, window.controls.step_button)
    qtbot.waitUntil(lambda: window.train_history.total == before + 1, timeout=5000)
    return before + 1


def assert_meaningful(widget) -> None:
    """Not blank, not uniform: many distinct colours and real contrast."""
    rgb = qimage_to_rgb(widget.grab().toImage())
    colours = np.unique(rgb.reshape(-1, 3), axis=0)
    assert len(colours) > 30 and rgb.std() > 10


def show(qtbot, window, name: str):
    window.show_panel(name)
    panel = window.insight.panels[name]
    qtbot.waitUntil(panel.isVisible, timeout=2000)
    return panel


def test_tabs_are_registered_for_the_cli(make_window):
    from gui.app import PANEL_CHOICES
    from gui.window import PANELS

    window = make_window(load=False)
    assert PANELS == PANEL_CHOICES
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles[2:10] == ["Why", "Gradient flow", "Gates", "Neurons", "Projection",
                            "State space", "Errors", "Compare"]  # fmt: skip


def test_why_explains_the_prediction_box_and_follows_training(qtbot, make_window):
    window = make_window()
    train(qtbot, window)
    panel = show(qtbot, window, "why")
    window.prediction.input.setText("the show was lovely")
    qtbot.waitUntil(lambda: panel.result is not None and len(panel.result["tokens"]) == 4)
    assert panel.result["tokens"] == ["the", "show", "was", "lovely"]
    assert np.abs(panel.result["gxi"]).max() > 0 and np.abs(panel.result["unk"]).max() > 0
    assert_meaningful(panel)
    before = dict(panel.result)
    n = step(qtbot, window)
    qtbot.waitUntil(lambda: f"step {n}" in panel.verdict.text(), timeout=5000)
    assert not np.array_equal(before["gxi"], panel.result["gxi"])


def test_gradient_flow_records_and_draws(qtbot, make_window):
    from rnnviz.config import Config

    window = make_window(Config(epochs=0), source="sample:recall?length=60&n=400")
    panel = show(qtbot, window, "gradient_flow")
    # Rows at known steps first: a free run's rows depend on how far it got before the
    # pause arrived (under load, hundreds of steps; by then Adam has shrunk the fading).
    for _ in range(4):
        step(qtbot, window)
    qtbot.waitUntil(lambda: panel.history.n >= 4, timeout=5000)
    ratio = panel.history.log_ratio()
    assert ratio.shape[1] == window.info.maxlen
    assert list(panel.history.steps[: panel.history.n][-4:]) == [1, 2, 3, 4]
    assert ratio[-4:, 0].max() < -2  # vanishing at every one (about -16 decades, seed 0)
    train(qtbot, window, 40)
    step(qtbot, window)
    qtbot.waitUntil(lambda: panel.history.steps[panel.history.n - 1] > 40, timeout=5000)
    window.redraw(force=True)
    assert panel.image.image is not None and np.ptp(panel.image.image) > 1
    assert "sampled steps" in panel.summary.text()
    assert_meaningful(panel)
    n = panel.history.n
    step(qtbot, window)
    qtbot.waitUntil(lambda: panel.history.n == n + 1, timeout=5000)


def test_neurons_select_a_unit_by_clicking(qtbot, make_window):
    window = make_window()
    train(qtbot, window)
    panel = show(qtbot, window, "neurons")
    window.prediction.input.setText("the show was lovely")
    qtbot.waitUntil(lambda: panel.units.count() == window.info.config.hidden_size)
    item = panel.units.item(5)
    wanted = item.data(Qt.UserRole)
    rect = panel.units.visualItemRect(item)
    qtbot.mouseClick(panel.units.viewport(), Qt.LeftButton, pos=rect.center())
    assert panel.unit == wanted
    assert f"Unit {wanted}" in panel.title.text()
    qtbot.waitUntil(lambda: "drive unit" in panel.corpus_label.text(), timeout=5000)
    assert_meaningful(panel)
    n = step(qtbot, window)
    qtbot.waitUntil(lambda: f"step {n}" in panel.title.text(), timeout=5000)
    assert panel.unit == wanted  # a chosen unit stays chosen


def test_neurons_list_is_wide_enough_for_its_entries(qtbot, make_window):
    window = make_window()
    panel = show(qtbot, window, "neurons")
    window.prediction.input.setText("the show was lovely")
    qtbot.waitUntil(lambda: panel.units.count() == window.info.config.hidden_size)
    qtbot.wait(50)  # let the splitter lay the list out at its new width
    units = panel.units
    metrics = units.fontMetrics()
    room = units.viewport().width()
    for row in range(units.count()):
        text = units.item(row).text()
        assert "swing" in text and metrics.horizontalAdvance(text) < room, text
    assert not units.horizontalScrollBar().isVisible()
    assert panel.graphics.width() > 2 * units.width()  # the plot keeps most of the room


def test_projection_plots_words_and_lists_neighbours(qtbot, make_window):
    window = make_window()
    train(qtbot, window)
    panel = show(qtbot, window, "projection")
    qtbot.waitUntil(window.training_stopped, timeout=5000)
    # Settled on the last frame's weights (a throttled refresh of earlier ones would move
    # the words away from under the mouse).
    last = f"step {window.last_frame.snapshot.step:,}:"
    qtbot.waitUntil(lambda: last in panel.summary.text() and len(panel.coords) > 20, timeout=5000)
    assert np.ptp(panel.coords, axis=0).min() > 0
    assert_meaningful(panel)
    first = panel.coords.copy()
    # Hover a word with the mouse (gui/point_hover.py, shared with the state space).
    vb = panel.plot.vb
    where = panel.graphics.mapFromScene(vb.mapViewToScene(QPointF(*panel.coords[0])))
    qtbot.mouseMove(panel.graphics.viewport(), where)
    qtbot.waitUntil(lambda: "nearest by cosine" in panel.hover_label.text(), timeout=5000)
    assert len(panel.marker.data) == 1
    # Over the plot, far from every word: the marker goes.
    corner = vb.sceneBoundingRect().topLeft() + QPointF(2, 2)
    assert nearest_point(vb, panel.coords, corner)[1] > panel.hover.radius  # 15% padding
    qtbot.mouseMove(panel.graphics.viewport(), panel.graphics.mapFromScene(corner))
    qtbot.waitUntil(lambda: len(panel.marker.data) == 0, timeout=5000)
    train(qtbot, window, 30)
    qtbot.wait(600)  # the projection refreshes at most twice a second
    step(qtbot, window)
    qtbot.waitUntil(lambda: not np.array_equal(first, panel.coords), timeout=5000)


def test_errors_confusion_and_click_to_predict(qtbot, make_window):
    window = make_window()
    train(qtbot, window, 20)
    panel = show(qtbot, window, "errors")
    qtbot.waitUntil(lambda: panel.matrix is not None, timeout=5000)
    assert panel.matrix.sum() == window.info.num_val
    assert_meaningful(panel)
    qtbot.waitUntil(lambda: panel.table.rowCount() > 0, timeout=5000)
    text = panel.table.item(0, 0).text()
    rect = panel.table.visualItemRect(panel.table.item(0, 0))
    qtbot.mouseClick(panel.table.viewport(), Qt.LeftButton, pos=rect.center())
    assert window.prediction.input.text() == text


def test_compare_keeps_a_run_after_reset(qtbot, make_window):
    window = make_window()
    train(qtbot, window, 30)
    panel = show(qtbot, window, "compare")
    click(qtbot, window.controls.reset_button)
    qtbot.waitUntil(lambda: len(panel.kept) == 1, timeout=5000)
    train(qtbot, window, 30)
    panel.redraw(force=True)
    assert panel._items[0][0].xData is not None and len(panel._items[0][0].xData) > 5
    assert_meaningful(panel)


def test_movie_exports_a_gif(qtbot, make_window, tmp_path):
    window = make_window()
    recorder = window.insight.recorder
    recorder.start(window.tabs.currentWidget())
    train(qtbot, window, 40)
    recorder.grab()
    recorder.stop()
    assert len(recorder.frames) >= 2
    path = str(tmp_path / "movie.gif")
    assert recorder.save(path) == len(recorder.frames)
    with open(path, "rb") as f:
        assert f.read(6) == b"GIF89a"
    reader = QImageReader(path)
    assert reader.imageCount() == len(recorder.frames) > 1
    decoded = qimage_to_rgb(reader.read())
    assert np.abs(decoded.astype(int) - recorder.frames[0]).mean() < 3  # 256 colours


def test_gif_writer_round_trips_through_qt(tmp_path):
    rng = np.random.default_rng(0)
    frames = []
    for i in range(4):
        f = np.full((60, 80, 3), 255, np.uint8)
        f[10:20, 5 + 10 * i : 25 + 10 * i] = (200, 30, 30)
        f[30:] = rng.integers(0, 4, (30, 80, 1)) * 60  # fills the LZW table: clear codes
        frames.append(f)
    path = str(tmp_path / "t.gif")
    write_gif(path, frames, 100)
    reader = QImageReader(path)
    assert reader.imageCount() == 4
    for f in frames:
        assert np.abs(qimage_to_rgb(reader.read()).astype(int) - f).max() <= 4
