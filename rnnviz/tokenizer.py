"""Tokenizer: text -> token ids, with the seed's conventions ([PAD]=0, [UNK]=1, pre-padding)."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

PAD, UNK = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1

# A word (letters/digits/underscore, with inner apostrophes: "don't", "it's") or one
# punctuation character. Splitting punctuation off means "good." and "good" share an id.
_WORD_OR_PUNCT = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]")


class Tokenizer:
    """Builds a vocabulary from texts and turns texts into padded id arrays.

    Parameters
    ----------
    level : "word" (default) or "char".
    split_punctuation : word level only. True splits punctuation into its own tokens;
        False is the seed's plain whitespace split.
    lower : lower-case the text; default True for words, False for characters.
    unknown : "unk" maps unseen tokens to [UNK] (id 1); "drop" leaves them out.
    min_count : a token enters the vocabulary once it has been seen this often in the
        fitted texts; rarer ones are unknown (default 1: every token).
    """

    def __init__(
        self,
        level: str = "word",
        split_punctuation: bool = True,
        lower: bool | None = None,
        unknown: str = "unk",
        min_count: int = 1,
    ) -> None:
        if level not in ("word", "char"):
            raise ValueError(f"level must be 'word' or 'char'; got {level!r}")
        if unknown not in ("unk", "drop"):
            raise ValueError(f"unknown must be 'unk' or 'drop'; got {unknown!r}")
        self.level = level
        self.split_punctuation = split_punctuation
        self.lower = (level == "word") if lower is None else bool(lower)
        self.unknown = unknown
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1; got {min_count}")
        self.min_count = int(min_count)
        self.vocab: dict[str, int] = {PAD: PAD_ID, UNK: UNK_ID}
        self.id_to_word: list[str] = [PAD, UNK]
        self.counts: Counter[str] = Counter()

    # ------------------------------------------------------------------ vocabulary
    def tokenize(self, text: str) -> list[str]:
        """Split one text into tokens (after lower-casing if enabled)."""
        if self.lower:
            text = text.lower()
        if self.level == "char":
            return list(text)
        if self.split_punctuation:
            return _WORD_OR_PUNCT.findall(text)
        return text.split()

    def fit(self, texts: Iterable[str]) -> Tokenizer:
        """Add every new token seen at least `min_count` times (so far) to the vocabulary,
        in order of first appearance."""
        if isinstance(texts, str):
            raise TypeError("fit() takes a list of texts, not one string")
        if self.min_count > 1:
            self.count(texts)
            # A Counter keeps its keys in order of first appearance.
            frequent = [t for t, n in self.counts.items() if n >= self.min_count]
            self._add(t for t in frequent if t not in self.vocab)
            return self
        for text in texts:
            tokens = self.tokenize(text)
            self.counts.update(tokens)
            self._add(t for t in tokens if t not in self.vocab)
        return self

    def count(self, texts: Iterable[str]) -> Tokenizer:
        """Count the tokens of `texts` without adding any to the vocabulary: with
        min_count > 1, `fit([])` then adds those counted often enough (so a corpus can
        be counted in pieces and get the same vocabulary as one `fit`)."""
        for text in texts:
            self.counts.update(self.tokenize(text))
        return self

    def _add(self, tokens: Iterable[str]) -> None:
        for token in tokens:
            if token not in self.vocab:
                self.vocab[token] = len(self.id_to_word)
                self.id_to_word.append(token)

    @property
    def vocab_size(self) -> int:
        """Number of ids, [PAD] and [UNK] included."""
        return len(self.id_to_word)

    def token_counts(self) -> np.ndarray:
        """(V,) how often each id occurred in the fitted texts."""
        return np.array([self.counts.get(word, 0) for word in self.id_to_word], dtype=np.int64)

    # ------------------------------------------------------------------ encoding
    def encode(self, texts: Iterable[str]) -> list[list[int]]:
        """Texts -> lists of ids (unknown tokens -> [UNK], or dropped)."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a list of texts, not one string")
        get = self.vocab.get
        if self.unknown == "drop":
            return [[i for i in map(get, self.tokenize(t)) if i is not None] for t in texts]
        return [[get(token, UNK_ID) for token in self.tokenize(t)] for t in texts]

    def decode(self, ids: Iterable[int], skip_pad: bool = True) -> str:
        """Ids -> text ([PAD] left out); words joined by spaces, characters by nothing."""
        words = self.id_to_word
        tokens = [words[i] if 0 <= i < len(words) else UNK for i in map(int, ids)]
        if skip_pad:
            tokens = [t for t in tokens if t != PAD]
        return ("" if self.level == "char" else " ").join(tokens)

    @staticmethod
    def padding(
        sequences: Sequence[Sequence[int]], maxlen: int, truncating: str | None = None
    ) -> np.ndarray:
        """Pre-pad id lists with [PAD]=0 into a (B, maxlen) int64 array.

        A sequence longer than `maxlen` is an error, unless `truncating` says which
        end to cut: "pre" drops tokens from the start, "post" from the end.
        """
        if maxlen < 1:
            raise ValueError(f"maxlen must be at least 1; got {maxlen}")
        if truncating not in (None, "pre", "post"):
            raise ValueError(f"truncating must be None, 'pre' or 'post'; got {truncating!r}")
        out = np.zeros((len(sequences), maxlen), dtype=np.int64)
        for row, seq in enumerate(sequences):
            n = len(seq)
            if n > maxlen:
                if truncating is None:
                    raise ValueError(
                        f"sequence {row} has {n} tokens, longer than maxlen={maxlen}; "
                        "raise maxlen or pass truncating='pre' or 'post'"
                    )
                seq = seq[n - maxlen :] if truncating == "pre" else seq[:maxlen]
                n = maxlen
            if n:
                out[row, maxlen - n :] = seq
        return out

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        return {
            "level": self.level,
            "split_punctuation": self.split_punctuation,
            "lower": self.lower,
            "unknown": self.unknown,
            "min_count": self.min_count,
            "id_to_word": self.id_to_word,
            "counts": [self.counts.get(w, 0) for w in self.id_to_word],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Tokenizer:
        tok = cls(data["level"], data["split_punctuation"], data["lower"], data["unknown"],
                  data.get("min_count", 1))  # fmt: skip
        words = list(data["id_to_word"])
        if words[:2] != [PAD, UNK] or len(set(words)) != len(words):
            raise ValueError("tokenizer vocabulary is malformed ([PAD], [UNK] first, no repeats)")
        tok.id_to_word = words
        tok.vocab = {w: i for i, w in enumerate(words)}
        tok.counts = Counter(dict(zip(words, data.get("counts", [0] * len(words)), strict=False)))
        return tok

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary and settings as JSON (atomically)."""
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, ensure_ascii=False)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Tokenizer:
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))
