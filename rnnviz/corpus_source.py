"""A corpus source as one string: a path with its reading options, "reviews.csv?format=csv".

The app loads a corpus from one string (typed in the Corpus tab, remembered between
sessions, sent to the worker); `--format` and `--label-column` travel with it as a query,
the way a synthetic sample's parameters do ("sample:recall?length=40"). `train` passes the
same options as arguments: `load_corpus(path, format=..., label_column=...)` reads both.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlencode

from rnnviz.corpus import CorpusError

SOURCE_OPTIONS = ("format", "label_column")


def corpus_source(path: str, format: str = "auto", label_column: str | int | None = None) -> str:
    """`path` with the options that differ from the defaults ("auto", None) as a query.

    A sample's own query (sample:recall?length=40) is its parameters: samples take no
    reading options, and `path` comes back as it is, as `load_corpus` ignores them there.
    """
    path, base_format, base_column = split_source(path)
    if path.startswith("sample:"):
        return path
    format = base_format if format == "auto" else format
    label_column = base_column if label_column is None else str(label_column)
    query = {k: v for k, v in (("format", format), ("label_column", label_column))
             if v not in ("auto", None)}  # fmt: skip
    return f"{path}?{urlencode(query)}" if query else path


def split_source(source: str) -> tuple[str, str, str | None]:
    """(path, format, label_column) of a source; a path whose name holds a "?" (and that
    exists) is a path. Raises CorpusError for an unknown option, in one line."""
    text = os.fspath(source)
    path, sep, query = text.rpartition("?")
    if not sep or text.startswith("sample:") or os.path.exists(text):
        return text, "auto", None
    try:
        options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise CorpusError(f"{text}: options must look like ?format=csv&label_column=2") from None
    unknown = sorted(set(options) - set(SOURCE_OPTIONS))
    if unknown:
        raise CorpusError(
            f"{text}: unknown option {unknown[0]!r}; a path takes {' and '.join(SOURCE_OPTIONS)}"
        )
    return path, options.get("format", "auto"), options.get("label_column")
