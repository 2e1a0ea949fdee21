"""Corpus loading: every format, encoding and bad input of issue 3, plus samples."""

from __future__ import annotations

import gzip
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rnnviz import textio
from rnnviz.data import (
    Corpus,
    CorpusError,
    list_samples,
    load_corpus,
    rename_labels,
    stratified_split,
)

SMS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sms_spam.tsv"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content if isinstance(content, bytes) else content.encode(encoding)
    path.write_bytes(data)
    return path


def names_of(corpus: Corpus) -> list[str]:
    return [corpus.label_names[i] for i in corpus.labels]


SPAM_ROWS = [
    ("ham", "see you at lunch"),
    ("spam", "win a free prize now"),
    ("ham", "running late, sorry"),
    ("spam", "claim your reward today"),
    ("ham", "call me when you land"),
    ("spam", "cheap loans click here"),
]


# -- delimited formats ------------------------------------------------------------------


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("label_first", [True, False])
@pytest.mark.parametrize("sep,ext", [("\t", "tsv"), (",", "csv"), ("\t", "txt")])
def test_labelled_lines_any_side_any_header(tmp_path, header, label_first, sep, ext):
    rows = [(lab, text.replace(",", "")) for lab, text in SPAM_ROWS]
    lines = [f"{a}{sep}{b}" if label_first else f"{b}{sep}{a}" for a, b in rows]
    if header:
        lines.insert(0, f"label{sep}text" if label_first else f"message{sep}category")
    corpus = load_corpus(write(tmp_path, f"d.{ext}", "\n".join(lines) + "\n"))
    assert corpus.texts == [t for _, t in rows]
    assert names_of(corpus) == [lab for lab, _ in rows]
    assert corpus.label_names == ["ham", "spam"]
    assert corpus.labels.dtype == np.int64
    assert corpus.format == ("csv" if sep == "," else "tsv")
    assert corpus.warnings == []
    assert corpus.class_counts() == {"ham": 3, "spam": 3}


def test_header_without_known_names_is_detected(tmp_path):
    lines = ["Kind\tSMS"] + [f"{a}\t{b}" for a, b in SPAM_ROWS]
    corpus = load_corpus(write(tmp_path, "d.tsv", "\n".join(lines)))
    assert len(corpus) == 6 and "Kind" not in corpus.label_names


def test_quoted_csv_fields_with_commas_and_newlines(tmp_path):
    content = (
        'label,text\npos,"great, really great"\nneg,"bad\nso bad, truly"\n'
        'pos,"he said ""wow"""\nneg,plain text\npos\n'
    )
    corpus = load_corpus(write(tmp_path, "q.csv", content))
    assert corpus.texts == [
        "great, really great",
        "bad\nso bad, truly",
        'he said "wow"',
        "plain text",
    ]
    # The missing field is on physical line 7 (the quoted newline counts as a line).
    assert any("line 7: expected 2 fields, found 1" in w for w in corpus.warnings)


def test_unquoted_commas_in_text_stay_in_the_text(tmp_path):
    content = "pos,I love it, really\nneg,no, no and no\npos,fine\nneg,awful, just awful\n"
    corpus = load_corpus(write(tmp_path, "d.csv", content))
    assert corpus.texts[0] == "I love it, really" and corpus.texts[1] == "no, no and no"
    content = "I love it, really,pos\nno, no and no,neg\nfine,pos\nawful, just awful,neg\n"
    corpus = load_corpus(write(tmp_path, "e.csv", content))
    assert corpus.texts[0] == "I love it, really" and names_of(corpus)[:2] == ["pos", "neg"]


def test_three_columns_pick_label_and_longest_text(tmp_path):
    lines = ["id,review,rating"] + [
        f"{i},{'a long review text ' * (i % 3 + 1)}number {i},{i % 2}" for i in range(20)
    ]
    corpus = load_corpus(write(tmp_path, "r.csv", "\n".join(lines)))
    assert corpus.label_names == ["0", "1"] and corpus.texts[0].startswith("a long review")
    corpus = load_corpus(write(tmp_path, "s.csv", "\n".join(lines[1:])), label_column=2)
    assert len(corpus) == 20 and corpus.label_names == ["0", "1"]


def test_label_column_by_index_name_and_negative(tmp_path):
    lines = ["topic\tsource\ttext"] + [
        f"{'a' if i % 2 else 'b'}\tweb\tsome text number {i}" for i in range(10)
    ]
    path = write(tmp_path, "t.tsv", "\n".join(lines))
    assert load_corpus(path, label_column="topic").label_names == ["a", "b"]
    assert load_corpus(path, label_column="0").label_names == ["a", "b"]  # CLI passes str
    with pytest.raises(CorpusError, match="only one class"):
        load_corpus(path, label_column=1)  # "web" everywhere
    with pytest.raises(CorpusError, match="no column named 'kind'"):
        load_corpus(path, label_column="kind")
    with pytest.raises(CorpusError, match="label column 5 does not exist"):
        load_corpus(path, label_column=5)
    path = write(tmp_path, "u.tsv", "\n".join(f"x {i}\t{i % 2}" for i in range(10)))
    assert load_corpus(path, label_column=-1).label_names == ["0", "1"]


def test_header_names_columns_not_classes(tmp_path):
    """A header row names the columns (it picks the label and text columns and is not
    read as data); the classes keep the label values, named by rename_labels /
    --label-names. A header cell has no room for class names in any common format."""
    lines = ["sentence\tsentiment"] + [f"review number {i}\t{i % 2}" for i in range(10)]
    path = write(tmp_path, "h.tsv", "\n".join(lines))
    corpus = load_corpus(path)
    assert len(corpus) == 10 and corpus.texts[0] == "review number 0"
    assert corpus.label_names == ["0", "1"] and "sentiment" not in corpus.label_names
    assert load_corpus(path, label_column="sentiment").label_names == ["0", "1"]
    named = rename_labels(corpus, "negative,positive")
    assert names_of(named)[:2] == ["negative", "positive"]


def test_numeric_labels_sort_numerically_and_keep_names(tmp_path):
    lines = [f"{lab}\ttext {i}" for i, lab in enumerate(["10", "2", "2", "10", "1", "1"])]
    corpus = load_corpus(write(tmp_path, "n.tsv", "\n".join(lines)))
    assert corpus.label_names == ["1", "2", "10"]
    assert corpus.labels.tolist() == [2, 1, 1, 2, 0, 0]


def test_format_override(tmp_path):
    path = write(tmp_path, "d.txt", "pos;x\nneg;y\n" + "".join(f"{a},{b}\n" for a, b in SPAM_ROWS))
    corpus = load_corpus(path, format="csv")
    assert corpus.format == "csv" and len(corpus) == 6 and len(corpus.warnings) == 2
    with pytest.raises(CorpusError, match="format 'folder' needs"):
        load_corpus(path, format="folder")
    with pytest.raises(CorpusError, match="unknown format"):
        load_corpus(path, format="xlsx")


# -- folders and plain text -------------------------------------------------------------


def test_folder_per_class(tmp_path):
    for i in range(3):
        write(tmp_path, f"data/pos/{i}.txt", f"good film {i}\nreally good\n")
        write(tmp_path, f"data/neg/{i}.txt", f"bad film {i}")
    write(tmp_path, "data/neg/cover.png", PNG)
    write(tmp_path, "data/neg/empty.txt", "  \n")
    (tmp_path / "data" / "unused").mkdir()
    corpus = load_corpus(tmp_path / "data")
    assert corpus.format == "folder" and corpus.label_names == ["neg", "pos"]
    assert corpus.class_counts() == {"neg": 3, "pos": 3}
    assert "good film 0\nreally good" in corpus.texts
    text = " ".join(corpus.warnings)
    assert "cover.png: looks like a PNG image" in text and "empty.txt: empty" in text
    assert "unused: no text files; class ignored" in text


@pytest.mark.parametrize(
    "files,match",
    [
        ({}, "is empty: it has no class subfolders"),
        ({"a.txt": "hello"}, "has files but no class subfolders"),
        ({"pos/a.png": PNG, "neg/b.zip": b"PK\x03\x04rest"}, "no text files in its class folders"),
        ({"pos/a.txt": "only one class here"}, "only one class"),
    ],
)
def test_folder_errors(tmp_path, files, match):
    (tmp_path / "data").mkdir()
    for name, content in files.items():
        write(tmp_path / "data", name, content)
    with pytest.raises(CorpusError, match=match):
        load_corpus(tmp_path / "data")


def test_plain_text_for_lm_and_error_for_classification(tmp_path):
    content = "The sea was grey.\r\nThe wind came from the west, mostly.\r\n\r\nThe end."
    path = write(tmp_path, "story.txt", content)
    corpus = load_corpus(path, task="lm")
    assert corpus.texts == [content.replace("\r\n", "\n")]
    assert corpus.labels.shape == (0,) and corpus.label_names == [] and corpus.format == "text"
    for fmt in ("auto", "text"):
        with pytest.raises(CorpusError, match=r"story.txt: looks like plain text.*label<TAB>text"):
            load_corpus(path, format=fmt)


def test_labelled_file_for_lm_joins_the_texts(tmp_path):
    path = write(tmp_path, "d.tsv", "".join(f"{a}\t{b}\n" for a, b in SPAM_ROWS))
    corpus = load_corpus(path, format="tsv", task="lm")
    assert corpus.texts == ["\n".join(b for _, b in SPAM_ROWS)] and corpus.label_names == []


# -- encodings and line endings ---------------------------------------------------------

TEXT = (
    "label\ttext\npos\tcafé crème, très bon\nneg\tnaïve and dull\npos\t€5 well spent\nneg\tnope\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-16-le"])
def test_unicode_encodings(tmp_path, encoding):
    data = TEXT.encode(encoding)
    if encoding == "utf-16-be":  # with a BOM, big-endian
        data = b"\xfe\xff" + data
    corpus = load_corpus(write(tmp_path, "e.tsv", data))
    assert corpus.texts == ["café crème, très bon", "naïve and dull", "€5 well spent", "nope"]
    assert corpus.warnings == [] and corpus.label_names == ["neg", "pos"]


def test_cp1252_fallback_is_reported_with_its_line(tmp_path):
    corpus = load_corpus(write(tmp_path, "e.tsv", TEXT, encoding="cp1252"))
    assert corpus.texts[0] == "café crème, très bon" and corpus.texts[2] == "€5 well spent"
    assert corpus.warnings == [
        f"{tmp_path / 'e.tsv'}: not valid UTF-8 (first bad byte on line 2); "
        "read as Windows-1252/Latin-1"
    ]


def test_late_non_utf8_byte_restarts_with_fallback(tmp_path):
    good = "".join(f"{'pos' if i % 2 else 'neg'}\tplain line {i}\n" for i in range(5000))
    data = good.encode() + "pos\tna\xefve\x81\n".encode("latin-1")  # past the sniffed head
    corpus = load_corpus(write(tmp_path, "late.tsv", data))
    assert len(corpus) == 5001 and corpus.texts[-1] == "na\u00efve\x81"
    assert "first bad byte on line 5001" in corpus.warnings[0]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(tmp_path, newline):
    content = newline.join(f"{a}\t{b}" for a, b in SPAM_ROWS) + newline
    corpus = load_corpus(write(tmp_path, "d.tsv", content))
    assert corpus.texts == [b for _, b in SPAM_ROWS]


def test_tiny_chunks_read_the_same(tmp_path, monkeypatch):
    """CRLF pairs, multi-byte characters and UTF-16 units split across chunk edges."""
    content = "label,text\r\n" + "".join(
        f'{"pos" if i % 2 else "neg"},"ça va {i},\r\nnaïve €"\r\n' for i in range(40)
    )
    for encoding in ("utf-8", "utf-16"):
        path = write(tmp_path, f"c-{encoding}.csv", content, encoding=encoding)
        expected = load_corpus(path)
        for chunk in (1, 2, 3, 7):
            monkeypatch.setattr(textio, "CHUNK_BYTES", chunk)
            got = load_corpus(path)
            assert got.texts == expected.texts and got.labels.tolist() == expected.labels.tolist()
        monkeypatch.undo()
    assert expected.texts[0] == "ça va 0,\nnaïve €"


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,content,match",
    [
        ("empty.tsv", b"", "the file is empty"),
        ("blank.tsv", b"\n  \r\n\t\n\n", "the file has only blank lines"),
        ("bom.tsv", b"\xef\xbb\xbf", "the file has only blank lines"),
        ("img.tsv", PNG, "looks like a PNG image, not text"),
        ("a.zip", b"PK\x03\x04\x14\x00\x00\x00", "looks like a zip archive, not text"),
        ("doc.pdf", b"%PDF-1.7\n%\xe2\xe3", "looks like a PDF document, not text"),
        ("d.tsv.gz", gzip.compress(b"pos\tx\n"), "looks like a gzip archive, not text"),
        ("data.bin", b"abc\x00\x01\x02\xff\xfe\x00\x07", "looks binary \\(contains NUL bytes\\)"),
        ("one.tsv", b"pos\ta\npos\tb\npos\tc\n", "only one class \\('pos', 3 texts\\)"),
    ],
)
def test_bad_files(tmp_path, name, content, match):
    path = write(tmp_path, name, content)
    with pytest.raises(CorpusError, match=match) as info:
        load_corpus(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message


def test_real_zip_is_refused(tmp_path):
    path = tmp_path / "corpus.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("pos/a.txt", "good")
    with pytest.raises(CorpusError, match=r"corpus\.zip: looks like a zip archive"):
        load_corpus(path)


def test_free_text_label_column(tmp_path):
    lines = ["question,answer"] + [f"why is sky {i} blue,because of light {i}" for i in range(50)]
    path = write(tmp_path, "qa.csv", "\n".join(lines))
    with pytest.raises(CorpusError, match="no label column found: every column looks like free"):
        load_corpus(path)
    with pytest.raises(CorpusError, match=r"column 1 does not look like labels \(50 different"):
        load_corpus(path, label_column=1)


def test_missing_fields_are_skipped_and_counted(tmp_path):
    lines = [f"{a}\t{b}" for a, b in SPAM_ROWS * 10]
    lines[3] = "ham"  # line 4
    lines[10] = "\tno label"  # line 11
    lines[20] = "spam\t   "  # line 21
    corpus = load_corpus(write(tmp_path, "m.tsv", "\n".join(lines)))
    assert len(corpus) == 57
    assert [w.split(": ", 1)[1] for w in corpus.warnings] == [
        "line 4: expected 2 fields, found 1; skipped",
        "line 11: empty label; skipped",
        "line 21: empty text; skipped",
    ]


def test_many_bad_lines_are_listed_then_counted(tmp_path):
    lines = [f"{a}\t{b}" if i % 3 else "broken" for i, (a, b) in enumerate(SPAM_ROWS * 100)]
    corpus = load_corpus(write(tmp_path, "m.tsv", "\n".join(lines)))
    assert len(corpus) == 400 and len(corpus.warnings) == 21
    assert corpus.warnings[-1].endswith("m.tsv: 180 more lines skipped")


def test_most_lines_bad_is_an_error(tmp_path):
    lines = [f"{a}\t{b}" if i % 3 == 0 else "ham" for i, (a, b) in enumerate(SPAM_ROWS * 10)]
    with pytest.raises(
        CorpusError, match=r"most lines could not be read \(40 of 60 skipped; first: line 2"
    ):
        load_corpus(write(tmp_path, "m.tsv", "\n".join(lines)))


def test_single_50mb_line_is_skipped_not_loaded(tmp_path):
    path = tmp_path / "long.tsv"
    with open(path, "w") as f:
        f.write("ham\thello there\n")
        f.write("spam\t" + "x" * 50_000_000 + "\n")
        f.writelines(f"{a}\t{b}\n" for a, b in SPAM_ROWS)
    started = time.perf_counter()
    corpus = load_corpus(path)
    assert time.perf_counter() - started < 5
    assert len(corpus) == 7 and max(map(len, corpus.texts)) < 100
    assert corpus.warnings == [
        f"{path}: line 2: 50,000,005 characters long (limit 1,000,000); skipped"
    ]


def test_file_that_is_one_50mb_line_is_an_error(tmp_path):
    path = write(tmp_path, "one.tsv", "pos\t" + "y" * 50_000_000)
    with pytest.raises(CorpusError, match=r"line 1 is 50,000,004 characters long \(limit"):
        load_corpus(path)
    assert len(load_corpus(path, task="lm").texts[0]) == 50_000_004  # fine for a language model


def test_100mb_corpus_loads_fast_with_progress(tmp_path):
    block = "".join(
        f"{'spam' if i % 4 == 0 else 'ham'}\tmessage number {i} with a little text to read\n"
        for i in range(20_000)
    ).encode()
    path = tmp_path / "big.tsv"
    with open(path, "wb") as f:
        f.write(b"label\ttext\n")
        for _ in range(100_000_000 // len(block) + 1):
            f.write(block)
    calls: list[tuple[float, float]] = []
    started = time.perf_counter()
    corpus = load_corpus(path, progress=lambda x: calls.append((time.perf_counter(), x)))
    elapsed = time.perf_counter() - started
    assert os.path.getsize(path) > 100_000_000 and len(corpus) > 1_500_000
    assert elapsed < 20
    fractions = [x for _, x in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 5
    gaps = np.diff([t for t, _ in calls[:-2]])  # throttled: ~20 calls a second at most
    assert (gaps >= 0.045).all()


def test_cancel_aborts(tmp_path):
    path = write(tmp_path, "d.tsv", "".join(f"{a}\t{b}\n" for a, b in SPAM_ROWS * 100))
    with pytest.raises(CorpusError, match=r"^loading cancelled$"):
        load_corpus(path, cancel=lambda: True)
    with pytest.raises(CorpusError, match=r"^loading cancelled$"):
        load_corpus("sample:sentiment", cancel=lambda: True)


def test_missing_and_unreadable_paths(tmp_path, monkeypatch):
    with pytest.raises(CorpusError, match=r"nope.tsv: no such file or directory$"):
        load_corpus(tmp_path / "nope.tsv")
    path = write(tmp_path, "d.tsv", "ham\thi\nspam\tbuy\n")
    with pytest.raises(CorpusError, match="cannot be read"):
        load_corpus(path / "inside")  # a file used as a folder
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(CorpusError, match="pipe: not a regular file or folder"):
        load_corpus(tmp_path / "pipe")  # must not block

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(textio, "open", denied, raising=False)
    with pytest.raises(CorpusError, match=r"d.tsv: cannot be read \(Permission denied\)$"):
        load_corpus(path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads all")
def test_permission_denied_for_real(tmp_path):
    path = write(tmp_path, "d.tsv", "ham\thi\nspam\tbuy\n")
    path.chmod(0)
    with pytest.raises(CorpusError, match="cannot be read"):
        load_corpus(path)


# -- samples and splits -----------------------------------------------------------------


def test_list_samples_names():
    names = [name for name, _ in list_samples()]
    for required in ("sentiment", "topics", "prose", "parity", "order", "recall"):
        assert required in names
    assert all(desc and "\n" not in desc for _, desc in list_samples())


def test_sentiment_sample():
    corpus = load_corpus("sample:sentiment")
    assert corpus.source == "sample:sentiment" and corpus.warnings == []
    assert corpus.label_names == ["negative", "positive"]
    counts = corpus.class_counts()
    assert counts["negative"] == counts["positive"] and len(corpus) >= 300
    lengths = [len(t.split()) for t in corpus.texts]
    assert min(lengths) >= 3 and max(lengths) <= 15
    assert len(set(corpus.texts)) == len(corpus.texts)
    assert sum(" not " in f" {t.lower()} " for t in corpus.texts) >= 10  # order matters


def test_topics_and_prose_samples():
    topics = load_corpus("sample:topics")
    assert topics.num_classes == 4 and min(topics.class_counts().values()) >= 80
    prose = load_corpus("sample:prose", task="lm")
    assert len(prose.texts) == 1 and len(prose.texts[0]) > 3000
    with pytest.raises(CorpusError, match="sample:prose: plain text, for the language-model"):
        load_corpus("sample:prose")
    joined = load_corpus("sample:sentiment", task="lm").texts[0]
    assert "\t" not in joined and "positive" not in joined.split("\n")[0]


def test_sample_errors():
    with pytest.raises(CorpusError, match="sample:nope: no such sample; available: sentiment"):
        load_corpus("sample:nope")
    with pytest.raises(CorpusError, match="takes no parameters"):
        load_corpus("sample:sentiment?n=3")
    with pytest.raises(CorpusError, match="parameters must look like"):
        load_corpus("sample:parity?n")


def test_stratified_split_keeps_proportions_and_seed():
    labels = np.array([0] * 80 + [1] * 20)
    train, val = stratified_split(labels, 0.25, seed=3)
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 100
    assert np.bincount(labels[val]).tolist() == [20, 5]
    again, _ = stratified_split(labels, 0.25, seed=3)
    other, _ = stratified_split(labels, 0.25, seed=4)
    assert (again == train).all() and not np.array_equal(other, train)


@pytest.mark.skipif(not SMS.exists(), reason="shared/data/sms_spam.tsv not present")
def test_sms_spam_collection():
    corpus = load_corpus(SMS)
    assert corpus.format == "tsv" and corpus.label_names == ["ham", "spam"]
    assert len(corpus) == 5574 and corpus.warnings == []
    assert corpus.class_counts() == {"ham": 4827, "spam": 747}
    assert not any(t.startswith('"') and t.endswith('"') for t in corpus.texts)
