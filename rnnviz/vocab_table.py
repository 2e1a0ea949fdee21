"""What the vocabulary table shows, built once off the GUI thread (NumPy, no Qt).

The session builds a `VocabularyTable` with the run's description: the three orders the
table can be sorted by (count, id, word) are argsorts done there, once, and a search
is a vectorised substring test over lower-cased keys. The GUI's table model then only
indexes arrays: Qt asks for the rows on screen, never for 166k Python rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from rnnviz.tokenizer import Tokenizer

KEY_CHARS = 48  # sort and search keys: the first this many characters of a token
VISIBLE = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍"}  # what the views show for blanks


@dataclass(frozen=True)
class VocabularyTable:
    """Tokens by id with their counts, and the table's sort orders (arrays of ids)."""

    words: list[str]  # id -> token as shown
    counts: np.ndarray  # (V,) occurrences in the training texts
    keys: np.ndarray  # (V,) lower-cased, truncated tokens: search and alphabetical order
    by_count: np.ndarray  # (V,) ids, most frequent first (ties: lower id first)
    by_word: np.ndarray  # (V,) ids in alphabetical order of their keys
    fingerprint: str  # equal for equal vocabularies and counts: a reset keeps the table

    def __len__(self) -> int:
        return len(self.words)

    def order(self, column: int, descending: bool) -> np.ndarray:
        """Ids sorted by column 0 (word), 1 (id) or 2 (count)."""
        if column == 0:
            ids = self.by_word
        elif column == 2:  # by_count is already descending
            return self.by_count[::-1] if not descending else self.by_count
        else:
            ids = np.arange(len(self.words))
        return ids[::-1] if descending else ids

    def matching(self, text: str) -> np.ndarray | None:
        """(V,) bool: tokens containing `text`, case-insensitively; None for no filter."""
        text = text.strip().lower()
        if not text:
            return None
        if len(text) > KEY_CHARS:
            return np.zeros(len(self.words), bool)
        return np.char.find(self.keys, text) >= 0


def build_table(words: list[str], counts: np.ndarray) -> VocabularyTable:
    """Sort and index a vocabulary for the table (seconds of work at 166k tokens: call
    it where the corpus was loaded, not on the GUI thread)."""
    V = len(words)  # `words` is kept, not copied: one list shared with the RunInfo
    full = np.zeros(V, np.int64)
    n = min(V, len(counts))
    full[:n] = np.asarray(counts)[:n]
    keys = np.array([w[:KEY_CHARS].lower() for w in words] or [""], dtype=str)[:V]
    by_count = np.lexsort((np.arange(V), -full))  # last key first: count, then id
    by_word = np.argsort(keys, kind="stable")
    digest = hashlib.blake2b(digest_size=16)
    digest.update("\0".join(words).encode("utf-8", "surrogatepass"))
    digest.update(full.tobytes())
    for array in (full, keys, by_count, by_word):
        array.flags.writeable = False
    return VocabularyTable(words, full, keys, by_count, by_word, digest.hexdigest())


def most_frequent(counts: np.ndarray, n: int, first: int = 2) -> np.ndarray:
    """Ids `first`.. (after [PAD], [UNK]) of the `n` largest counts, most frequent first,
    ties by id: `np.argsort(-counts, kind="stable")` cut to `n`, in O(V) for small `n`."""
    counts = np.asarray(counts)[first:]
    if n <= 0 or not len(counts):
        return np.zeros(0, np.int64)
    candidates = np.arange(len(counts))
    if n < len(counts):
        threshold = np.partition(counts, len(counts) - n)[len(counts) - n]
        candidates = np.flatnonzero(counts >= threshold)
    order = candidates[np.argsort(-counts[candidates], kind="stable")]
    return order[:n] + first


class WordList(list):
    """A vocabulary's tokens, pickled as a few long strings and rebuilt piece by piece.

    Why: the window's reader thread unpickles each message from the trainer's process
    in one C call that holds the GIL; 146k separate strings kept the GUI thread waiting
    ~30 ms (and a dict of them ~70 ms more). Rebuilt in Python, chunk by chunk, the
    interpreter can hand the GIL to the GUI thread between chunks.
    """

    def __reduce__(self):
        chunks = tuple(
            SEPARATOR.join(self[i : i + CHUNK_WORDS]) for i in range(0, len(self), CHUNK_WORDS)
        )
        if any(SEPARATOR in chunk for chunk in chunks):  # a token with a NUL in it
            return (WordList, (list(self),))
        return (_join_words, (chunks,))


SEPARATOR = "\0"
CHUNK_WORDS = 2048


def _join_words(chunks: tuple[str, ...]) -> WordList:
    words = WordList()
    for chunk in chunks:  # a switch point for the GIL between chunks
        words.extend(chunk.split(SEPARATOR))
    return words


class ViewTokenizer(Tokenizer):
    """The views' read-only copy of a run's tokenizer, light to send between processes:
    pickled as its words and settings (no token counts), its lookup rebuilt on arrival."""

    def __reduce__(self):
        settings = (self.level, self.split_punctuation, self.lower, self.unknown)
        return (_rebuild_tokenizer, (self.id_to_word, settings))


def view_tokenizer(tokenizer: Tokenizer) -> ViewTokenizer:
    """A copy of `tokenizer` for the views (its own lists: the trainer may go on)."""
    settings = (tokenizer.level, tokenizer.split_punctuation, tokenizer.lower, tokenizer.unknown)
    return _rebuild_tokenizer(WordList(tokenizer.id_to_word), settings)


def _rebuild_tokenizer(words: list[str], settings: tuple) -> ViewTokenizer:
    tok = ViewTokenizer(*settings)
    tok.id_to_word = words
    tok.vocab = vocab = {}
    for start in range(0, len(words), CHUNK_WORDS):  # in pieces: see WordList
        stop = min(start + CHUNK_WORDS, len(words))
        vocab.update(zip(words[start:stop], range(start, stop)))  # noqa: B905
    return tok


def visible_token(token: str) -> str:
    """A token as shown on screen: space as '␣', newline as '⏎', tab as '⇥'."""
    if len(token) == 1:
        return VISIBLE.get(token, token)
    return "".join(VISIBLE.get(c, c) for c in token)


def visible_words(words: list[str]) -> list[str]:
    """`visible_token` of every vocabulary entry."""
    return [visible_token(w) for w in words]
