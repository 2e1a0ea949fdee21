"""Write a large labelled corpus for `--profile-load`: `python bench/make_corpus.py OUT.tsv [MB]`.

Zipf-distributed made-up words (exponent 0.82 over 400k candidates: ~146k distinct
words in 100 MB), 5-40 words a line, three labels in turn. Deterministic (seed 0).
Write it under /tmp: it is a benchmark input, not a file for the repository.
"""

from __future__ import annotations

import sys

import numpy as np

SYLLABLES = np.array(["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "pe", "du", "ga", "ho",
                      "ji", "fu", "be", "zo"])  # fmt: skip
CANDIDATES = 400_000
EXPONENT = 0.82
LABELS = ("ham", "spam", "eggs")


def write_corpus(path: str, megabytes: float = 100.0, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 5, CANDIDATES)
    words = np.array(
        ["".join(SYLLABLES[rng.integers(0, 16, k)]) + str(i % 7) for i, k in enumerate(lengths)]
    )
    p = 1.0 / np.arange(1, CANDIDATES + 1) ** EXPONENT
    p /= p.sum()
    size, target = 0, int(megabytes * 1e6)
    with open(path, "w") as out:
        while size < target:
            per_line = rng.integers(5, 40, 2000)
            ids = rng.choice(CANDIDATES, per_line.sum(), p=p)
            ends = np.cumsum(per_line)
            block = "".join(
                f"{LABELS[i % 3]}\t{' '.join(words[ids[end - n : end]])}\n"
                for i, (n, end) in enumerate(zip(per_line, ends, strict=True))
            )
            out.write(block)
            size += len(block)


if __name__ == "__main__":
    write_corpus(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 100.0)
