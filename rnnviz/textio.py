"""Bytes to lines: path checks, binary sniffing, encodings, line endings, progress.

A file is read in 1 MB chunks through an incremental decoder, so memory stays bounded
by the longest line kept (lines over `MAX_LINE_CHARS` are dropped while they stream by,
and reported). Encodings: UTF-8 with or without BOM, UTF-16/32 with BOM, UTF-16
without BOM when the NUL pattern is unmistakable, and a Windows-1252 fallback (bytes
it leaves undefined read as Latin-1) that is always reported. Line endings: \\n,
\\r\\n and old-Mac \\r.
"""

from __future__ import annotations

import codecs
import os
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from rnnviz.corpus import CorpusError

MAX_LINE_CHARS = 1_000_000  # a longer line is skipped (one text per line, not a book)
CHUNK_BYTES = 1 << 20
SNIFF_BYTES = 64 * 1024
FALLBACK = "cp1252"

# Leading bytes of common binary formats, and what to call them in a message.
MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "a zip archive"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"\x7fELF", "an executable"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x93NUMPY", "a NumPy array file"),
)
BOMS = (  # UTF-32 before UTF-16: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _latin1_for_undefined(err: UnicodeDecodeError) -> tuple[str, int]:
    # cp1252 leaves 0x81, 0x8D, 0x8F, 0x90, 0x9D undefined; Latin-1 maps every byte.
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("rnnviz-latin1", _latin1_for_undefined)


class NotUtf8(Exception):
    """Raised mid-stream when a file that began as UTF-8 stops being UTF-8."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class Progress:
    """Throttles `progress(fraction)` to ~20 calls a second and polls `cancel()`."""

    def __init__(
        self,
        progress: Callable[[float], None] | None,
        cancel: Callable[[], bool] | None,
        interval: float = 0.05,
    ) -> None:
        self._progress, self._cancel, self._interval = progress, cancel, interval
        self._last = -1.0

    def update(self, fraction: float) -> None:
        """Report `fraction` if enough time passed; raise CorpusError if cancelled."""
        if self._cancel is not None and self._cancel():
            raise CorpusError("loading cancelled")
        now = time.monotonic()
        if self._progress is not None and now - self._last >= self._interval:
            self._last = now
            self._progress(min(max(fraction, 0.0), 1.0))

    def done(self) -> None:
        if self._progress is not None:
            self._progress(1.0)


def check_path(path: Path) -> os.stat_result:
    """Stat `path`, turning every way it can be unusable into a CorpusError."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise CorpusError(f"{path}: no such file or directory") from None
    except OSError as e:
        raise CorpusError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        # FIFOs and devices would block or never end.
        raise CorpusError(f"{path}: not a regular file or folder")
    return st


def open_binary(path: Path):
    """Open for reading, with a CorpusError instead of an OSError."""
    try:
        return open(path, "rb")
    except OSError as e:
        raise CorpusError(f"{path}: cannot be read ({e.strerror or e})") from None


def sniff_encoding(head: bytes, path: Path) -> tuple[str, str | None]:
    """(encoding, warning or None) from a file's first bytes; CorpusError if binary."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding, None
    for magic, kind in MAGIC:
        if head.startswith(magic):
            raise CorpusError(f"{path}: looks like {kind}, not text")
    if b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        if len(head) >= 8 and odd.count(0) > 0.9 * len(odd) and even.count(0) == 0:
            return "utf-16-le", None
        if len(head) >= 8 and even.count(0) > 0.9 * len(even) and odd.count(0) == 0:
            return "utf-16-be", None
        raise CorpusError(f"{path}: looks binary (contains NUL bytes), not text")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as e:
        line = head[: e.start].count(b"\n") + 1
        return FALLBACK, fallback_warning(path, line)
    return "utf-8", None


def fallback_warning(path: Path, line: int) -> str:
    return f"{path}: not valid UTF-8 (first bad byte on line {line}); read as Windows-1252/Latin-1"


def iter_lines(
    path: Path,
    encoding: str,
    tracker: Progress,
    long_lines: list[tuple[int, int]],
    max_line: int | None = MAX_LINE_CHARS,
) -> Iterator[str]:
    """Lines of `path` without their endings, numbered from 1 by position.

    A line longer than `max_line` characters is yielded as "" (so numbering holds)
    and recorded in `long_lines` as (line number, length). With `encoding="utf-8"`
    a bad byte raises NotUtf8(line) so the caller can restart with the fallback.
    """
    errors = "rnnviz-latin1" if encoding == FALLBACK else "strict"
    decoder = codecs.getincrementaldecoder(encoding)(errors)
    limit = sys.maxsize if max_line is None else max_line
    size = max(path.stat().st_size, 1)
    done_bytes = 0
    carry: list[str] = []  # pieces of the unfinished line; dropped once it is too long
    carry_len = 0
    lineno = 0
    pending_cr = ""
    with open_binary(path) as f:
        while True:
            raw = f.read(CHUNK_BYTES)
            done_bytes += len(raw)
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as e:
                before = decoder.decode(raw[: e.start], final=False) if e.start else ""
                raise NotUtf8(lineno + 1 + before.count("\n")) from None
            text = pending_cr + text
            pending_cr = ""
            if raw and text.endswith("\r"):  # "\r\n" may straddle two chunks
                text, pending_cr = text[:-1], "\r"
            if "\r" in text:
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            parts = text.split("\n")  # parts[0] ends the carried line, parts[-1] starts one
            carry_len += len(parts[0])
            if carry_len <= limit:
                carry.append(parts[0])
            else:
                carry.clear()
            if len(parts) > 1:
                lineno += 1
                if carry_len > limit:
                    long_lines.append((lineno, carry_len))
                    yield ""
                else:
                    yield "".join(carry)
                middle = parts[1:-1]
                if middle and max(map(len, middle)) <= limit:
                    lineno += len(middle)
                    yield from middle
                else:
                    for line in middle:
                        lineno += 1
                        if len(line) > limit:
                            long_lines.append((lineno, len(line)))
                            yield ""
                        else:
                            yield line
                carry_len = len(parts[-1])
                carry = [parts[-1]] if carry_len <= limit else []
            tracker.update(done_bytes / size)
            if not raw:
                break
    if carry_len:
        lineno += 1
        if carry_len > limit:
            long_lines.append((lineno, carry_len))
            yield ""
        else:
            yield "".join(carry)


def read_text(path: Path, encoding: str, tracker: Progress) -> str:
    """The whole file as one string (newlines normalised to \\n)."""
    lines = iter_lines(path, encoding, tracker, [], max_line=None)
    return "\n".join(lines)
