"""A corpus source as one string (the app's): a path with --format / --label-column."""

from __future__ import annotations

import pytest

from rnnviz.corpus_source import corpus_source, split_source
from rnnviz.data import CorpusError, load_corpus
from tests.test_data import write


@pytest.fixture
def two_label_columns(tmp_path):
    """topic first, mood last: auto picks one; --label-column picks the other."""
    lines = ["topic\ttext\tmood"] + [
        f"{'sport' if i % 2 else 'news'}\tsome text number {i}\t{'up' if i % 3 else 'down'}"
        for i in range(30)
    ]
    return write(tmp_path, "t.tsv", "\n".join(lines))


def test_options_travel_with_the_path_and_back():
    assert corpus_source("r.csv") == "r.csv"
    assert corpus_source("r.csv", "csv", "2") == "r.csv?format=csv&label_column=2"
    assert split_source("r.csv?format=csv&label_column=2") == ("r.csv", "csv", "2")
    assert split_source("r.csv") == ("r.csv", "auto", None)
    assert corpus_source("r.csv?format=csv", label_column="mood") == (
        "r.csv?format=csv&label_column=mood"
    )
    # A sample's query is its parameters; samples take no reading options (as in train).
    assert corpus_source("sample:recall?length=40", "csv") == "sample:recall?length=40"
    assert split_source("sample:recall?length=40") == ("sample:recall?length=40", "auto", None)


def test_load_corpus_reads_the_options_of_a_source(two_label_columns):
    path = str(two_label_columns)
    by_name = load_corpus(corpus_source(path, label_column="mood"))
    assert by_name.label_names == ["down", "up"]
    assert by_name.source == f"{path}?label_column=mood"  # the window remembers the options
    assert load_corpus(path, label_column="mood").label_names == ["down", "up"]  # train's way
    first = load_corpus(corpus_source(path, "tsv", "0"))
    assert first.label_names == ["news", "sport"] and first.source.endswith(
        "format=tsv&label_column=0"
    )
    assert load_corpus(path).source == path  # no options: the plain path


def test_bad_options_in_one_line(two_label_columns, tmp_path):
    with pytest.raises(CorpusError, match="unknown option 'colour'"):
        load_corpus(f"{two_label_columns}?colour=red")
    with pytest.raises(CorpusError, match="unknown format 'xml'"):
        load_corpus(f"{two_label_columns}?format=xml")
    with pytest.raises(CorpusError, match="no column named 'kind'"):
        load_corpus(f"{two_label_columns}?label_column=kind")
    # A file whose name holds a "?" is read as that file.
    odd = write(tmp_path, "what?.tsv", two_label_columns.read_text())
    assert split_source(str(odd)) == (str(odd), "auto", None)
    assert len(load_corpus(odd)) == 30
