"""Data that used to be lost or silently wrong: an unclosed CSV quote, a label column
that turns into free text after the sampled head, classes with very few examples,
symbolic links out of a corpus folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnviz.data import CorpusError, load_corpus


def rows(n: int) -> list[str]:
    return [f"{'pos' if i % 2 else 'neg'},text number {i} here" for i in range(n)]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("where", [0, 10, 500, 995])
def test_an_unclosed_quote_does_not_swallow_the_file(tmp_path, where):
    lines = rows(1000)
    lines[where] = 'pos,"an unclosed quote here'
    corpus = load_corpus(write(tmp_path / "d.csv", lines))
    assert len(corpus) == 1000, "every line is still one text"
    assert max(map(len, corpus.texts)) < 40
    assert corpus.texts[where] == '"an unclosed quote here'
    assert len(corpus.warnings) == 1
    warning = corpus.warnings[0]
    assert f"line {where + 1}:" in warning and "quote" in warning


def test_a_stray_quote_closing_far_below_is_caught_too(tmp_path):
    lines = rows(1000)
    lines[10] = 'pos,"opens here'
    lines[600] = 'neg,closes here" much later'
    corpus = load_corpus(write(tmp_path / "d.csv", lines))
    assert len(corpus) == 1000 and "line 11:" in corpus.warnings[0]


def test_quoted_fields_over_a_few_lines_are_still_read_as_one_text(tmp_path):
    lines = [
        f'{"pos" if i % 2 else "neg"},"text, number {i}\nsecond line\nthird"' for i in range(50)
    ]
    lines.append('pos,"the last one\nends the file"')
    corpus = load_corpus(write(tmp_path / "d.csv", lines))
    assert len(corpus) == 51 and corpus.warnings == []
    assert corpus.texts[0] == "text, number 0\nsecond line\nthird"
    assert corpus.texts[-1] == "the last one\nends the file"


def test_a_label_column_that_becomes_free_text_after_the_head_is_refused(tmp_path):
    lines = [f"{'spam' if i % 2 else 'ham'}\tmessage {i}" for i in range(1500)]
    lines += [f"free text number {i}\tmessage {i}" for i in range(20_000)]
    with pytest.raises(CorpusError) as info:
        load_corpus(write(tmp_path / "d.tsv", lines))
    text = str(info.value)
    assert "\n" not in text
    assert "20,002 different values" in text and "line 1,599" in text  # the 101st class
    assert "free text" in text


def test_classes_with_very_few_examples_are_warned_about(tmp_path):
    lines = [*rows(400), "rare,only once", "odd,one", "odd,two"]
    corpus = load_corpus(write(tmp_path / "d.csv", lines))
    assert corpus.num_classes == 4
    (warning,) = corpus.warnings
    assert "2 of 4 classes have fewer than 5 examples" in warning
    assert "'odd' (2)" in warning and "'rare' (1)" in warning


def test_symlinks_out_of_a_corpus_folder_are_not_followed(tmp_path):
    root = tmp_path / "corpus"
    for name in ("pos", "neg"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            (root / name / f"{i}.txt").write_text(f"{name} text {i}")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "passwd.txt").write_text("root:x:0:0")
    (root / "etc").symlink_to(outside)  # a class folder that leads out
    (root / "pos" / "leak.txt").symlink_to(outside / "passwd.txt")  # a file that leads out
    (root / "neg" / "again.txt").symlink_to(root / "neg" / "0.txt")  # stays inside: kept
    corpus = load_corpus(root)
    assert corpus.label_names == ["neg", "pos"]
    assert not any("root:x" in t for t in corpus.texts)
    assert len(corpus) == 7
    (warning,) = corpus.warnings
    assert "2 symbolic links lead out of the corpus folder" in warning
    assert "etc" in warning and "leak.txt" in warning
