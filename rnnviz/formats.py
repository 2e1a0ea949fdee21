"""Lines to labelled texts: tab/comma-separated files and one-folder-per-class trees.

Delimited files: the delimiter, the header row and the label column are detected
from the first `SAMPLE_ROWS` rows (a label column has a few short, repeated values;
the text column is the longest); the rest is streamed. Bad lines are skipped and
reported with their line numbers, unless most lines are bad.
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rnnviz.corpus import CorpusError, label_sort_key
from rnnviz.textio import MAX_LINE_CHARS

SAMPLE_ROWS = 1000
MAX_LISTED = 20  # skipped lines listed one by one; the rest are counted
LABEL_MAX_CHARS = 40
MAX_CLASSES = 100
LABEL_NAMES = {"label", "labels", "class", "category", "target", "sentiment", "y", "tag", "topic"}
TEXT_NAMES = {"text", "sms", "message", "sentence", "review", "body", "content", "document"}
EXPECTED = (
    "expected lines of label<TAB>text (or label,text CSV, label first or last), "
    "or a folder with one subfolder per class"
)


@dataclass(frozen=True)
class Layout:
    """Where the label and the text are in a row."""

    ncols: int
    label: int  # column index, may be -1 (last)
    text: int | None  # column index; None = every other field, joined back
    header: bool


class NotDelimited(Exception):
    """The file has no consistent columns: it is plain text."""


class Skips:
    """Skipped lines: the first few listed with their numbers, all of them counted."""

    def __init__(self, source: str) -> None:
        self.source, self.count, self.listed = source, 0, []

    def add(self, line: int, why: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_LISTED:
            self.listed.append(f"{self.source}: line {line}: {why}; skipped")

    def summary(self) -> list[str]:
        extra = self.count - len(self.listed)
        more = [f"{self.source}: {extra} more lines skipped"] if extra > 0 else []
        return self.listed + more


def sniff_delimiter(sample: list[str], suffix: str) -> str:
    """ "\\t" or "," from the extension, else from which one most lines contain."""
    if suffix in (".tsv", ".tab"):
        return "\t"
    if suffix == ".csv":
        return ","
    lines = [s for s in sample if s.strip()]
    tabs = sum("\t" in s for s in lines)
    return "\t" if lines and tabs >= 0.2 * len(lines) else ","


class RunawayQuote(Exception):
    """A CSV quote that is never closed swallows the lines after it into one field."""

    def __init__(self, line: int, lines: int) -> None:
        super().__init__(line, lines)
        self.line, self.lines = line, lines


RUNAWAY_RECORDS = 2  # record-like lines inside one quoted field that mean it never closed
SEEN_VALUES = 1000  # first/last fields remembered to recognise a record-like line


def iter_rows(
    lines: Iterable[str], delimiter: str, quoted: bool = True
) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for each non-blank record; CSV records may span lines.

    A quoted CSV field that runs over lines which look like records of their own, or
    to the end of the file, raises RunawayQuote (an unclosed quote would otherwise
    swallow the rest of the file). quoted=False reads quote characters as text.
    """
    if delimiter == "\t":
        # TSV is not quoted in practice ('"Hi" he said' is text): split, and only
        # unwrap a field that is quoted from end to end.
        for lineno, line in enumerate(lines, 1):
            if line and not line.isspace():
                fields = line.split("\t")
                yield lineno, [_unquote(f) for f in fields] if '"' in line else fields
        return
    raw: list[str] = []  # the lines of the record being read

    def feed() -> Iterator[str]:
        for line in lines:
            raw.append(line)
            yield line + "\n"

    quoting = csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE
    seen_first: set[str] = set()
    seen_last: set[str] = set()
    old_limit = csv.field_size_limit(MAX_LINE_CHARS)
    try:
        reader = csv.reader(feed(), delimiter=delimiter, quoting=quoting)
        while True:
            start = reader.line_num + 1
            raw.clear()
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                if len(raw) > 1:  # a quoted field grew past the size limit
                    raise RunawayQuote(start, len(raw)) from None
                yield start, [f"\0{e}"]  # reported as a bad line by the caller
                continue
            if len(raw) > 1:
                _check_quoted_lines(raw, delimiter, seen_first, seen_last, start)
            elif len(fields) >= 2 and len(seen_first) < SEEN_VALUES:
                seen_first.add(fields[0].strip())
                seen_last.add(fields[-1].strip())
            if fields and any(f.strip() for f in fields):
                yield start, fields
    finally:
        csv.field_size_limit(old_limit)


def _check_quoted_lines(
    raw: list[str], delimiter: str, seen_first: set[str], seen_last: set[str], start: int
) -> None:
    """Raise RunawayQuote if a record spanning `raw` lines only ended at the end of the
    file inside its quote, or holds lines that look like records (a label seen before,
    then the delimiter)."""
    inside = raw[1:-1] if len(raw) > 2 else raw[1:]
    record_like = 0
    for line in inside:
        if delimiter in line:
            first, _, rest = line.partition(delimiter)
            last = rest.rpartition(delimiter)[2]
            if first.strip() in seen_first or last.strip() in seen_last:
                record_like += 1
                if record_like >= RUNAWAY_RECORDS:
                    raise RunawayQuote(start, len(raw))
    try:
        list(csv.reader((line + "\n" for line in raw), delimiter=delimiter, strict=True))
    except csv.Error as e:
        if "end of data" in str(e):  # still inside the quote when the file ended
            raise RunawayQuote(start, len(raw)) from None


def _unquote(field: str) -> str:
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return field[1:-1].replace('""', '"')
    return field


def _is_label_like(values: list[str]) -> bool:
    """A few short values, repeated: spam/ham, 0/1, sports/science/..."""
    if not values:
        return False
    short = sum(0 < len(v) <= LABEL_MAX_CHARS and len(v.split()) <= 4 for v in values)
    distinct = len(set(values))
    few = distinct <= max(2, len(values) // 2) or (len(values) <= 20 and distinct < len(values))
    return short >= 0.95 * len(values) and distinct <= MAX_CLASSES and few


def _column(rows: list[list[str]], j: int) -> list[str]:
    return [r[j].strip() for r in rows]


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def detect_layout(
    rows: list[list[str]],
    label_column: int | str | None,
    source: str,
    min_coverage: float = 0.5,
) -> Layout:
    """Find the header, the label column and the text column from sample rows."""
    counts = Counter(len(r) for r in rows)
    multi = {k: c for k, c in counts.items() if k >= 2}
    if not multi:
        raise NotDelimited
    ncols = max(multi, key=lambda k: (multi[k], k))
    ragged = counts[ncols] < 0.9 * len(rows)
    if ncols > 2 and ragged and label_column is None:
        # Ragged rows: maybe label,text with unquoted delimiters inside the text.
        two = [r for r in rows[1:] if len(r) >= 2] or rows
        if any(_is_label_like(_column(two, j)) for j in (0, -1)):
            ncols = 2
    if sum(c for k, c in counts.items() if k >= ncols) < min_coverage * len(rows):
        raise NotDelimited
    first = [f.strip() for f in rows[0]] + [""] * ncols
    data = [r for r in rows[1:] if len(r) >= ncols] or [r for r in rows if len(r) >= ncols]
    lowered = [f.lower() for f in first]
    named = bool(set(lowered) & (LABEL_NAMES | TEXT_NAMES))

    if isinstance(label_column, str) and not label_column.lstrip("-").isdigit():
        if label_column.lower() not in lowered[:ncols]:
            raise CorpusError(
                f"{source}: no column named {label_column!r} in the header "
                f"(line 1: {', '.join(first[:ncols])})"
            )
        label, named = lowered.index(label_column.lower()), True
    elif label_column is not None:
        label = int(label_column)
        if not -ncols <= label < ncols:
            raise CorpusError(
                f"{source}: label column {label} does not exist; rows have {ncols} columns "
                "(counted from 0)"
            )
    elif any(f in LABEL_NAMES for f in lowered[:ncols]):  # a header names it
        label = next(j for j, f in enumerate(lowered) if f in LABEL_NAMES)
    else:
        edges = [0, -1] if ncols == 2 else list(range(ncols))
        candidates = [j for j in edges if _is_label_like(_column(data, j))]
        if not candidates and ragged and not named:
            raise NotDelimited  # prose with commas, not a table
        if not candidates:
            raise CorpusError(
                f"{source}: no label column found: every column looks like free text "
                "(a label column has a few short repeated values such as spam/ham or 0/1; "
                "name it with label_column / --label-column)"
            )
        label = min(candidates, key=lambda j: (len(set(_column(data, j))), j != 0))
    label = (0 if label in (0, -2) else -1) if ncols == 2 else label % ncols
    values = _column(data, label)
    if not _is_label_like(values):
        raise free_text_error(source, label % ncols, values)
    header = len(rows[0]) >= ncols and (
        named or _looks_like_header(first[:ncols], rows[0][label].strip(), values)
    )
    if ncols == 2:
        return Layout(2, label, None, header)
    others = [j for j in range(ncols) if j != label]
    text_named = [j for j in others if header and lowered[j] in TEXT_NAMES]
    text = text_named[0] if text_named else max(others, key=lambda j: _mean_len(data, j))
    return Layout(ncols, label, text, header)


def _looks_like_header(first: list[str], first_label: str, values: list[str]) -> bool:
    """A first row whose label is not one of the labels, made of short names."""
    if first_label in set(values) or _is_number(first_label):
        return False
    if all(_is_number(v) for v in values):
        return True
    return all(len(f) <= 30 for f in first)


def _mean_len(rows: list[list[str]], j: int) -> float:
    values = _column(rows, j)
    return sum(map(len, values)) / max(len(values), 1)


def free_text_error(source: str, label: int, values: list[str]) -> CorpusError:
    distinct = len(set(values))
    return CorpusError(
        f"{source}: column {label} does not look like labels ({distinct} different values "
        f"in {len(values)} rows); expected a few short values such as spam/ham or 0/1"
    )


def parse_delimited(
    lines: Iterator[str],
    suffix: str,
    fmt: str,
    label_column: int | str | None,
    source: str,
    quoted: bool = True,
) -> tuple[list[str], list[str], Skips, str]:
    """(texts, label strings, skipped lines, format) from the lines of a delimited file;
    quoted=False reads CSV quote characters as text (RunawayQuote: see iter_rows)."""
    head = list(itertools.islice(lines, SAMPLE_ROWS))
    delimiter = {"tsv": "\t", "csv": ","}.get(fmt) or sniff_delimiter(head, suffix)
    rows = iter_rows(itertools.chain(head, lines), delimiter, quoted)
    sample = list(itertools.islice(rows, SAMPLE_ROWS))
    if not sample:
        raise NotDelimited("blank")
    coverage = 0.2 if delimiter == "\t" else 0.5  # tabs are rare in prose
    layout = detect_layout([f for _, f in sample], label_column, source, coverage)
    texts: list[str] = []
    labels: list[str] = []
    skips = Skips(source)
    distinct: set[str] = set()
    overflow_line = 0
    all_rows = itertools.chain(sample, rows)
    if layout.header:
        next(all_rows)
    for lineno, fields in all_rows:
        n = len(fields)
        if n == 1 and fields[0].startswith("\0"):
            skips.add(lineno, f"unreadable CSV ({fields[0][1:]})")
            continue
        if n < layout.ncols:
            skips.add(lineno, f"expected {layout.ncols} fields, found {n}")
            continue
        if layout.text is None:  # two columns: extra delimiters belong to the text
            if layout.label == 0:
                label, text = fields[0], delimiter.join(fields[1:])
            else:
                label, text = fields[-1], delimiter.join(fields[:-1])
        elif n > layout.ncols:
            skips.add(lineno, f"expected {layout.ncols} fields, found {n}")
            continue
        else:
            label, text = fields[layout.label], fields[layout.text]
        label, text = label.strip(), text.strip()
        if not label:
            skips.add(lineno, "empty label")
        elif not text:
            skips.add(lineno, "empty text")
        else:
            labels.append(label)
            texts.append(text)
            if label not in distinct:
                distinct.add(label)
                if len(distinct) == MAX_CLASSES + 1:
                    overflow_line = lineno
    if len(distinct) > MAX_CLASSES:  # the head looked like labels; the whole file does not
        raise CorpusError(
            f"{source}: column {layout.label % layout.ncols} has {len(distinct):,} different "
            f"values in {len(labels):,} rows (the {MAX_CLASSES + 1}st first on line "
            f"{overflow_line:,}): free text, not labels; a label column has at most "
            f"{MAX_CLASSES} classes (choose it with label_column / --label-column)"
        )
    return texts, labels, skips, "tsv" if delimiter == "\t" else "csv"


def sorted_names(names: Iterable[str]) -> list[str]:
    return sorted(set(names), key=label_sort_key)


def inside(path: Path, root: Path) -> bool:
    """Whether `path`, links followed, stays within the (resolved) folder `root`."""
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link loop, a vanished target
        return False


def _visible(folder: Path, root: Path, escaped: list[Path]) -> list[Path]:
    """Sorted visible entries of `folder`; symbolic links leading out of `root` are
    left out and added to `escaped` (a link to /etc must not bring its files in)."""
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    kept = []
    for p in entries:
        if p.is_symlink() and not inside(p, root):
            escaped.append(p)
        else:
            kept.append(p)
    return kept


def class_folders(root: Path, escaped: list[Path] | None = None) -> list[Path]:
    """The visible subfolders of `root`, sorted; CorpusError if there are none. Links
    that lead out of `root` are skipped and listed in `escaped`."""
    escaped = [] if escaped is None else escaped
    try:
        entries = _visible(root, root.resolve(), escaped)
    except OSError as e:
        raise CorpusError(f"{root}: cannot be read ({e.strerror or e})") from None
    folders = [p for p in entries if p.is_dir()]
    if not folders:
        what = "has files but no" if entries else "is empty: it has no"
        links = f" ({len(escaped)} links out of it not followed)" if escaped else ""
        raise CorpusError(
            f"{root}: folder {what} class subfolders{links}; expected one subfolder per "
            f"class (e.g. {root / 'pos'}/*.txt and {root / 'neg'}/*.txt)"
        )
    return folders


def folder_files(folder: Path, root: Path | None = None, escaped: list[Path] | None = None):
    """Visible regular files directly inside `folder`, sorted; with `root`, links that
    lead out of it are skipped and listed in `escaped`."""
    escaped = [] if escaped is None else escaped
    try:
        entries = _visible(folder, (root or folder).resolve(), escaped)
    except OSError:
        return []
    return [p for p in entries if p.is_file()]
