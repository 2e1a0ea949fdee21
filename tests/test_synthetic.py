"""Synthetic sequence tasks: labels follow from the texts, seeds reproduce, fast."""

from __future__ import annotations

import time

import numpy as np
import pytest

from rnnviz import synthetic
from rnnviz.data import CorpusError, load_corpus


def tokens(corpus) -> list[list[str]]:
    return [t.split(" ") for t in corpus.texts]


def test_parity_labels_count_the_ones():
    corpus = synthetic.parity(n=500, length=9, seed=1)
    assert corpus.label_names == ["even", "odd"] and corpus.format == "synthetic"
    for toks, label in zip(tokens(corpus), corpus.labels, strict=True):
        assert len(toks) == 9 and set(toks) <= {"0", "1"}
        assert toks.count("1") % 2 == label


def test_order_has_one_x_and_one_y():
    corpus = synthetic.order(n=500, length=7, seed=2)
    assert corpus.label_names == ["x_first", "y_first"]
    for toks, label in zip(tokens(corpus), corpus.labels, strict=True):
        assert len(toks) == 7 and toks.count("x") == 1 and toks.count("y") == 1
        assert set(toks) - {"x", "y"} <= set("abcdefgh")
        assert (toks.index("y") < toks.index("x")) == bool(label)


def test_recall_label_is_the_first_token_only():
    corpus = synthetic.recall(n=500, length=30, seed=3)
    assert corpus.label_names == ["a", "b", "c", "d"]
    for toks, label in zip(tokens(corpus), corpus.labels, strict=True):
        assert len(toks) == 30 and toks[0] == corpus.label_names[label]
        assert set(toks[1:]) <= set("pqrstuvw")  # the key appears nowhere else


@pytest.mark.parametrize("task", ["parity", "order", "recall"])
def test_seeded_balanced_and_fast(task):
    make = synthetic.TASKS[task]
    a, b, c = make(n=1000, seed=5), make(n=1000, seed=5), make(n=1000, seed=6)
    assert a.texts == b.texts and (a.labels == b.labels).all() and a.texts != c.texts
    counts = np.bincount(a.labels, minlength=a.num_classes)
    assert counts.min() > 0.8 * 1000 / a.num_classes
    started = time.perf_counter()
    big = make(n=10_000, length=50, seed=0)
    assert time.perf_counter() - started < 0.5
    assert len(big) == 10_000 and big.labels.dtype == np.int64


def test_load_by_name_with_parameters():
    corpus = load_corpus("sample:recall?length=40&n=300&seed=1")
    assert len(corpus) == 300 and len(corpus.texts[0].split()) == 40
    assert corpus.source == "sample:recall?n=300&length=40&seed=1"
    assert load_corpus("sample:parity").texts == synthetic.parity().texts
    lm = load_corpus("sample:order?n=10", task="lm")
    assert len(lm.texts) == 1 and lm.texts[0].count("\n") == 9


@pytest.mark.parametrize(
    "spec,match",
    [
        ("sample:parity?size=3", r"unknown parameter 'size'; use n, length, seed"),
        ("sample:parity?n=many", r"n must be a whole number; got 'many'"),
        ("sample:order?length=1", r"length must be in 2\.\.10000"),
        ("sample:recall?n=1", r"n must be in 2\.\.1000000"),
    ],
)
def test_bad_parameters(spec, match):
    with pytest.raises(CorpusError, match=match):
        load_corpus(spec)
