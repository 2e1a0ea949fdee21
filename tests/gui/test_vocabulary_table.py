"""The corpus tab's vocabulary table: sorted once off the GUI thread, rows on demand."""

import pickle

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gui.panels.corpus import VocabularyModel, length_histogram
from gui.vocabulary import build_table, most_frequent, view_tokenizer
from rnnviz.tokenizer import Tokenizer

pytestmark = pytest.mark.gui


def shown(model: VocabularyModel, column: int) -> list:
    return [model.data(model.index(r, column)) for r in range(model.rowCount())]


def test_the_orders_match_a_plain_sort_and_the_search_is_case_insensitive():
    words = ["[PAD]", "[UNK]", "the", "Cat", "sat", "on", "mat", "a"]
    counts = np.array([0, 3, 9, 2, 2, 5, 2, 7])
    model = VocabularyModel()
    model.set_table(build_table(words, counts))
    model.sort(2, Qt.DescendingOrder)  # ties by id: the order a stable argsort gives
    assert shown(model, 1) == list(np.argsort(-counts, kind="stable"))
    model.sort(0, Qt.AscendingOrder)
    assert shown(model, 0) == sorted(words, key=str.lower)
    model.sort(1, Qt.DescendingOrder)
    assert shown(model, 1) == list(range(len(words)))[::-1]
    model.set_filter("AT")
    assert shown(model, 0) == ["mat", "sat", "Cat"]  # still by id, descending
    model.set_filter("")
    assert model.rowCount() == len(words)


def test_helpers_equal_the_plain_numpy_they_replace():
    rng = np.random.default_rng(0)
    for _ in range(50):
        counts = rng.integers(0, 6, rng.integers(0, 400))
        n = int(rng.integers(0, 420))
        order = np.argsort(-counts, kind="stable")
        np.testing.assert_array_equal(most_frequent(counts, n), order[order >= 2][:n])
        lengths = rng.integers(0, rng.integers(1, 300), rng.integers(1, 3000))
        maxlen = int(rng.integers(1, 200))
        top = int(max(lengths.max(), maxlen)) + 1
        hist, edges = np.histogram(lengths, bins=np.linspace(0, top, min(top, 60) + 1))
        got_hist, got_edges = length_histogram(lengths, maxlen)
        np.testing.assert_array_equal(got_hist, hist)
        np.testing.assert_allclose(got_edges, edges)


def test_the_views_tokenizer_travels_as_its_words():
    tok = Tokenizer().fit(["the cat sat", "on the mat!"])
    light = pickle.loads(pickle.dumps(view_tokenizer(tok)))
    assert light.id_to_word == tok.id_to_word
    assert light.encode(["the dog sat !"]) == tok.encode(["the dog sat !"])


@pytest.fixture
def big_corpus(tmp_path):
    """A labelled corpus of 20,000 distinct words (the old table sorted it in Python)."""
    path = tmp_path / "big.tsv"
    words = [f"w{i}" for i in range(20_000)]
    lines = [f"{'ab'[i % 2]}\t{' '.join(words[i * 20 : i * 20 + 20])}" for i in range(1000)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_the_table_serves_only_rows_on_screen_and_a_reset_keeps_it(
    qtbot, make_window, big_corpus, monkeypatch
):
    calls = []
    original = VocabularyModel.data
    monkeypatch.setattr(
        VocabularyModel, "data", lambda self, *a: calls.append(1) or original(self, *a)
    )
    window = make_window(source=big_corpus)
    window.show_panel("corpus")
    qtbot.wait(50)
    model = window.corpus_panel.vocab_model
    words = window.info.words  # those of the training split (80%)
    assert model.rowCount() == len(words) > 15_000
    assert len(calls) < 5_000, "Qt asked for every row (a sort or filter proxy in Python)"
    calls.clear()
    window.corpus_panel.search.setText("w1999")
    found = [w for w in words if "w1999" in w]  # every count is 1: in id order
    assert shown(model, 0) == found and len(found) > 3
    assert len(calls) < 1_000
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    first = window.info
    window.reset()
    qtbot.waitUntil(lambda: window.info is not first, timeout=15000)
    assert resets == [], "Reset refilled an unchanged vocabulary"
    assert window.corpus_panel.search.text() == "w1999" and model.rowCount() == len(found)
