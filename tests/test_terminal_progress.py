"""The command line's loading progress (rnnviz.data.TerminalProgress)."""

import io

from rnnviz.data import TerminalProgress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_share_redrawn_in_place():
    out = Tty()
    progress = TerminalProgress("reading big.tsv", out, quiet=0)
    for fraction in (0.0, 0.004, 0.45, 1.0):
        progress(fraction)
    assert (
        out.getvalue() == "\rreading big.tsv:   0%\rreading big.tsv:  45%\rreading big.tsv: 100%\n"
    )


def test_a_log_gets_one_line_when_the_read_is_done_then_the_phase():
    out = io.StringIO()
    progress = TerminalProgress("reading big.tsv", out, quiet=0)
    for fraction in (0.1, 0.5, 0.9, 1.0):
        progress(fraction)
    progress.phase("building the vocabulary and encoding 10 texts…")
    assert out.getvalue().splitlines() == [
        "reading big.tsv: done",
        "building the vocabulary and encoding 10 texts…",
    ]


def test_a_quick_load_prints_nothing():
    out = Tty()
    progress = TerminalProgress("reading small.tsv", out, quiet=60)
    progress(0.5)
    progress(1.0)
    progress.phase("building the vocabulary and encoding 10 texts…")
    assert out.getvalue() == ""


def test_the_vocabulary_and_encoding_phases_show_their_shares():
    """Issue 16: after the read, the trainer's phases report real percentages."""
    from rnnviz.data import Corpus
    from rnnviz.trainer import Trainer

    out = Tty()
    progress = TerminalProgress("reading big.tsv", out, quiet=0)
    progress(1.0)
    texts = [f"text number {i} with word{i % 97}" for i in range(2000)]
    corpus = Corpus(texts, [i % 2 for i in range(2000)], ["a", "b"], "big.tsv")
    Trainer(corpus, progress=progress.share)
    lines = out.getvalue().split("\n")
    assert lines[0] == "\rreading big.tsv: 100%"
    assert lines[1].startswith("\rbuilding the vocabulary:   0%\rbuilding the vocabulary:   2%")
    assert lines[1].endswith("\rbuilding the vocabulary: 100%")
    assert lines[2].startswith("\rencoding the texts:   0%")
    assert lines[2].endswith("\rencoding the texts: 100%")
