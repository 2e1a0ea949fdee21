"""--format and --label-column in the app: they reach the corpus it loads (issue 13)."""

from __future__ import annotations

import pytest

from rnnviz import experiment
from tests.gui.test_launch import PNG_MAGIC, run_main
from tests.test_corpus_source import two_label_columns  # noqa: F401 (a fixture)

pytestmark = pytest.mark.gui
OFFSCREEN = {"QT_QPA_PLATFORM": "offscreen"}


def test_main_reads_the_corpus_with_the_options_given(tmp_path, two_label_columns):  # noqa: F811
    out = tmp_path / "shot.png"
    shot = ["--screenshot", str(out), "--steps", "0", "--size", "900x600"]
    run = run_main(["--data", str(two_label_columns), "--label-column", "mood", *shot], OFFSCREEN)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes()[:8] == PNG_MAGIC
    # The option is honoured, not ignored: a column that does not exist fails the load.
    run = run_main(["--data", str(two_label_columns), "--label-column", "kind", *shot], OFFSCREEN)
    assert run.returncode == 1 and "no column named 'kind'" in run.stderr
    assert "Traceback" not in run.stderr
    run = run_main(["--data", str(two_label_columns), "--format", "xml", *shot], OFFSCREEN)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "unknown format" in run.stderr


def test_window_loads_and_saves_a_source_with_options(
    qtbot,
    make_window,
    tmp_path,
    two_label_columns,  # noqa: F811
):
    """An experiment's format and label column reach the window's corpus, and a saved
    experiment keeps them as its own fields (so `train --experiment` reads the same)."""
    from rnnviz.config import Config

    exp = experiment.Experiment(
        source=str(two_label_columns), label_column="mood", steps=3,
        config=Config(epochs=0, hidden_size=8, embed_dim=8),
    )  # fmt: skip
    window = make_window(load=False)
    window.experiments.open(exp)
    qtbot.waitUntil(lambda: window.info is not None, timeout=15000)
    assert window.info.label_names == ["down", "up"]
    assert not window.message.isVisible()  # no "the app detects them itself" any more
    path = tmp_path / "saved.toml"
    window.experiments.save(str(path))
    saved = experiment.load(path)
    assert (saved.source, saved.format, saved.label_column) == (
        str(two_label_columns), "auto", "mood",
    )  # fmt: skip
