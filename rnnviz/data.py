"""Corpus loading (formats, encodings, built-in samples) and stratified splits.

`load_corpus(path)` accepts a file, a folder, or "sample:NAME" and returns a Corpus,
or raises CorpusError with a one-line message naming the file and line. Formats:

- "tsv" / "csv": one text per line with its label, first or last column, with or
  without a header; detected from the extension and the content.
- "folder": one subfolder per class (data/pos/*.txt, data/neg/*.txt).
- "text": plain text, one document, for the language-model task (task="lm").

Samples: `list_samples()` names them; synthetic ones take parameters as a query
string, e.g. "sample:recall?length=40&n=2000&seed=1" (keys: n, length, seed).
"""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TextIO
from urllib.parse import parse_qsl

import numpy as np

from rnnviz import synthetic
from rnnviz.corpus import Corpus, CorpusError, build_corpus, rename_labels
from rnnviz.corpus_source import corpus_source, split_source
from rnnviz.formats import (
    EXPECTED,
    NotDelimited,
    RunawayQuote,
    class_folders,
    folder_files,
    parse_delimited,
)
from rnnviz.textio import (
    MAX_LINE_CHARS,
    SNIFF_BYTES,
    NotUtf8,
    Progress,
    check_path,
    fallback_warning,
    iter_lines,
    open_binary,
    read_text,
    sniff_encoding,
)

__all__ = [
    "FORMATS",
    "Corpus",
    "CorpusError",
    "TerminalProgress",
    "list_samples",
    "load_corpus",
    "rename_labels",
    "stratified_split",
]

FORMATS = ("auto", "tsv", "csv", "folder", "text")
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
SAMPLE_FILES = {  # name -> (file in rnnviz/samples, description)
    "sentiment": ("sentiment.tsv", "short sentences, positive / negative (default)"),
    "topics": ("topics.tsv", "short sentences in 4 topics: cooking, science, sports, tech"),
    "prose": ("prose.txt", "a few KB of plain prose, for the language-model task"),
    "shakespeare": (
        "shakespeare.txt",
        "200 KB of Shakespeare (public domain), for the language-model task",
    ),
}
SAMPLE_SYNTHETIC = {
    "parity": "bit strings, even or odd number of ones (params: n, length, seed)",
    "order": "letters with one x and one y: which comes first? (params: n, length, seed)",
    "recall": "label = first token, then distractors; harder as length grows "
    "(params: n, length, seed)",
}


def list_samples() -> list[tuple[str, str]]:
    """(name, one-line description) of every built-in sample, for menus and the CLI."""
    files = [(name, desc) for name, (_, desc) in SAMPLE_FILES.items()]
    return files + list(SAMPLE_SYNTHETIC.items())


def load_corpus(
    path: str | os.PathLike,
    format: str = "auto",
    label_column: int | str | None = None,
    task: str = "classify",
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Corpus:
    """Load a labelled corpus (task="classify") or one document (task="lm").

    Parameters
    ----------
    path: a file, a folder of class subfolders, or "sample:NAME[?key=value&...]"; a
        file or folder may carry format and label_column as a query (rnnviz/corpus_source.py).
    format: "auto" (detect), "tsv", "csv", "folder" or "text".
    label_column: the label's column, as a 0-based index (negative counts from the
        end) or a header name; None detects it.
    task: "classify" or "lm". For "lm" the result holds one text and no labels.
    progress: called with a fraction in [0, 1] from the loading thread, ~20 times a
        second at most. cancel: polled as often; returning True aborts.

    Returns
    -------
    Corpus. Skipped lines and encoding fallbacks are listed in `corpus.warnings`.

    Raises
    ------
    CorpusError with a one-line message saying what is wrong and where.
    """
    text, given_format, given_column = split_source(os.fspath(path))  # "x.csv?format=csv"
    format = given_format if format == "auto" else format
    label_column = given_column if label_column is None else label_column
    if format not in FORMATS:
        raise CorpusError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    if task not in ("classify", "lm"):
        raise CorpusError(f"unknown task {task!r}; use classify or lm")
    tracker = Progress(progress, cancel)
    if text.startswith("sample:"):
        corpus = _load_sample(text, task, tracker)
    else:
        corpus = _load_path(Path(text), format, label_column, task, tracker)
        if (given_format, given_column) != ("auto", None):  # the source keeps its options
            corpus = replace(corpus, source=corpus_source(corpus.source, format, label_column))
    tracker.done()
    if task == "lm" and corpus.format != "text":
        corpus = Corpus(
            ["\n".join(corpus.texts)], np.zeros(0, np.int64), [], corpus.source,
            corpus.warnings, corpus.format,
        )  # fmt: skip
    return corpus


class TerminalProgress:
    """A `progress` callback for the command line, on stderr: "reading PATH: 45%"
    redrawn in place on a terminal; on a pipe or a log, one line when it is done (then
    `phase` names the long part: loading 100 MB took 44 s and said nothing)."""

    def __init__(self, label: str, stream: TextIO | None = None, quiet: float = 0.5) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = -1
        self._spoke = False  # something was written
        self._quiet_until = time.monotonic() + quiet  # a quick load prints nothing

    def _quiet(self) -> bool:
        return not self._spoke and time.monotonic() < self._quiet_until

    def share(self, text: str, fraction: float) -> None:
        """A later phase's share, as the trainers report building the vocabulary and
        encoding (`progress(text, fraction)`): a line of its own, like the read's."""
        label = text.rstrip("…")
        label = label[:1].lower() + label[1:]
        if label != self.label:
            if self.tty and 0 <= self._shown < 100:
                self.stream.write("\n")  # end the last phase's unfinished line
            self.label, self._shown = label, -1
        self(fraction)

    def __call__(self, fraction: float) -> None:
        percent = int(fraction * 100)
        if percent == self._shown or self._quiet():
            return
        self._spoke = True
        if self.tty:
            end = "\n" if percent >= 100 else ""
            self.stream.write(f"\r{self.label}: {percent:3d}%{end}")
        elif percent >= 100:  # a log: one line, when done (an interrupted read adds none)
            self.stream.write(f"{self.label}: done\n")
        self.stream.flush()
        self._shown = percent

    def phase(self, text: str) -> None:
        """Say what comes next (a phase without a share to show), after a slow read."""
        if self._quiet():
            return
        self.stream.write(f"{text}\n")
        self.stream.flush()


def _load_sample(spec: str, task: str, tracker: Progress) -> Corpus:
    name, _, query = spec[len("sample:") :].partition("?")
    try:
        params = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise CorpusError(f"{spec}: parameters must look like ?n=2000&length=20") from None
    if name in SAMPLE_SYNTHETIC:
        return synthetic.make(name, params)
    if name not in SAMPLE_FILES:
        names = ", ".join(n for n, _ in list_samples())
        raise CorpusError(f"{spec}: no such sample; available: {names}")
    if params:
        raise CorpusError(f"{spec}: this sample takes no parameters")
    file = SAMPLES_DIR / SAMPLE_FILES[name][0]
    if file.suffix == ".txt" and task == "classify":
        raise CorpusError(
            f"{spec}: plain text, for the language-model task; for classification try "
            "sample:sentiment or sample:topics"
        )
    # Labelled samples stay labelled for "lm" too: their texts get joined, not their tabs.
    corpus = _load_path(file, "auto", None, task if file.suffix == ".txt" else "classify", tracker)
    return Corpus(
        corpus.texts, corpus.labels, corpus.label_names, f"sample:{name}", corpus.warnings,
        corpus.format,
    )  # fmt: skip


def _load_path(
    path: Path, fmt: str, label_column: int | str | None, task: str, tracker: Progress
) -> Corpus:
    st = check_path(path)
    is_dir = stat.S_ISDIR(st.st_mode)
    if fmt == "folder" or (fmt == "auto" and is_dir):
        if not is_dir:
            raise CorpusError(
                f"{path}: not a folder; format 'folder' needs one subfolder per class"
            )
        return _load_folder(path, tracker)
    if is_dir:
        raise CorpusError(f"{path}: is a folder; format {fmt!r} needs a file")
    if st.st_size == 0:
        raise CorpusError(f"{path}: the file is empty")
    with open_binary(path) as f:
        head = f.read(SNIFF_BYTES)
    encoding, warning = sniff_encoding(head, path)
    warnings = [warning] if warning else []
    if task == "lm" and fmt in ("auto", "text"):
        try:
            text = read_text(path, encoding, tracker)
        except NotUtf8 as e:
            warnings = [fallback_warning(path, e.line)]
            text = read_text(path, "cp1252", tracker)
        if not text.strip():
            raise CorpusError(f"{path}: the file has only blank lines")
        return Corpus([text], np.zeros(0, np.int64), [], str(path), warnings, "text")
    if fmt == "text":
        raise _plain_text_error(path)
    try:
        return _load_delimited(path, encoding, fmt, label_column, tracker, warnings)
    except NotUtf8 as e:
        warnings = [fallback_warning(path, e.line)]
        return _load_delimited(path, "cp1252", fmt, label_column, tracker, warnings)


def _plain_text_error(path: Path) -> CorpusError:
    return CorpusError(
        f"{path}: looks like plain text, not a labelled corpus; for classification "
        f"{EXPECTED} (plain text is for the language-model task)"
    )


def _load_delimited(
    path: Path,
    encoding: str,
    fmt: str,
    label_column: int | str | None,
    tracker: Progress,
    warnings: list[str],
) -> Corpus:
    long_lines: list[tuple[int, int]] = []
    lines = iter_lines(path, encoding, tracker, long_lines)
    try:
        try:
            texts, labels, skips, found = parse_delimited(
                lines, path.suffix.lower(), fmt, label_column, str(path)
            )
        except RunawayQuote as e:  # read again, quotes as plain text, and say so
            warnings = [*warnings, _runaway_warning(path, e)]
            long_lines.clear()
            lines = iter_lines(path, encoding, tracker, long_lines)
            texts, labels, skips, found = parse_delimited(
                lines, path.suffix.lower(), fmt, label_column, str(path), quoted=False
            )
    except NotDelimited as e:
        if e.args and e.args[0] == "blank":  # every line was read, none had text
            if long_lines:
                raise _long_line_error(path, *long_lines[0]) from None
            raise CorpusError(f"{path}: the file has only blank lines") from None
        raise _plain_text_error(path) from None
    for lineno, length in long_lines:
        skips.add(lineno, f"{length:,} characters long (limit {MAX_LINE_CHARS:,})")
    total = len(texts) + skips.count
    if skips.count > len(texts):
        first = skips.listed[0].split(": ", 1)[1] if skips.listed else ""
        raise CorpusError(
            f"{path}: most lines could not be read ({skips.count} of {total} skipped; "
            f"first: {first.removesuffix('; skipped')}); {EXPECTED}"
        )
    if skips.count:
        warnings = warnings + skips.summary()
    return build_corpus(texts, labels, str(path), warnings, found)


def _runaway_warning(path: Path, e: RunawayQuote) -> str:
    return (
        f"{path}: line {e.line}: a quote is never closed (its field would swallow "
        f"{e.lines - 1:,} more lines); the file was read with quotes as plain text"
    )


def _long_line_error(path: Path, line: int, length: int) -> CorpusError:
    return CorpusError(
        f"{path}: line {line} is {length:,} characters long (limit {MAX_LINE_CHARS:,}); "
        "expected one short text per line (a single long document is for the "
        "language-model task)"
    )


def _load_folder(root: Path, tracker: Progress) -> Corpus:
    escaped: list[Path] = []  # symbolic links out of the corpus folder: never followed
    folders = class_folders(root, escaped)
    files = [(folder.name, p) for folder in folders for p in folder_files(folder, root, escaped)]
    texts: list[str] = []
    labels: list[str] = []
    warnings: list[str] = []
    skipped = 0
    for i, (name, file) in enumerate(files):
        tracker.update(i / max(len(files), 1))
        try:
            text = _read_document(file, warnings)
        except CorpusError as e:
            skipped += 1
            if skipped <= 20:
                warnings.append(f"{e}; skipped")
            continue
        texts.append(text)
        labels.append(name)
    if skipped > 20:
        warnings.append(f"{root}: {skipped - 20} more files skipped")
    if escaped:
        listed = ", ".join(str(p) for p in escaped[:3])
        more = f" and {len(escaped) - 3:,} more" if len(escaped) > 3 else ""
        warnings.append(
            f"{root}: {len(escaped):,} symbolic links lead out of the corpus folder and were "
            f"not followed: {listed}{more}"
        )
    if not texts:
        raise CorpusError(
            f"{root}: no text files in its class folders "
            f"({', '.join(f.name for f in folders)}; {skipped} unreadable)"
        )
    empty = sorted({f.name for f in folders} - set(labels))
    warnings += [f"{root / name}: no text files; class ignored" for name in empty]
    return build_corpus(texts, labels, str(root), warnings, "folder")


def _read_document(file: Path, warnings: list[str]) -> str:
    """One file of a class folder as one text (CorpusError if unusable)."""
    if file.stat().st_size > 4 * MAX_LINE_CHARS:
        raise CorpusError(f"{file}: larger than {4 * MAX_LINE_CHARS:,} bytes")
    with open_binary(file) as f:
        head = f.read(SNIFF_BYTES)
    if not head.strip():
        raise CorpusError(f"{file}: empty")
    encoding, warning = sniff_encoding(head, file)
    try:
        text = read_text(file, encoding, Progress(None, None))
    except NotUtf8 as e:
        warning = fallback_warning(file, e.line)
        text = read_text(file, "cp1252", Progress(None, None))
    if warning and len(warnings) < 40:
        warnings.append(warning)
    if len(text) > MAX_LINE_CHARS:
        raise CorpusError(f"{file}: {len(text):,} characters (limit {MAX_LINE_CHARS:,})")
    text = text.strip()
    if not text:
        raise CorpusError(f"{file}: empty")
    return text


def stratified_split(
    labels: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val), each class split in the same proportion, from a seed."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, val = [], []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        n_val = round(len(idx) * val_fraction)
        if val_fraction > 0 and len(idx) > 1:
            n_val = min(max(n_val, 1), len(idx) - 1)
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    train_idx = np.sort(np.concatenate(train)) if train else np.zeros(0, np.int64)
    val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, np.int64)
    return train_idx, val_idx
