"""The Corpus type and its error: what every loader returns or raises.

Kept apart from `rnnviz.data` so the readers (`textio`, `formats`, `synthetic`) can
build them without import cycles; `rnnviz.data` re-exports both names.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

FEW_EXAMPLES = 5  # a class with fewer texts than this (and 10x fewer than the largest) is
#                   reported in the corpus's warnings


class CorpusError(ValueError):
    """A corpus cannot be used; the message says what is wrong and where (one line)."""


@dataclass(frozen=True)
class Corpus:
    """Texts with integer labels, plus where they came from and what was skipped."""

    texts: list[str]
    labels: np.ndarray  # (N,) int64 class ids; empty for plain text
    label_names: list[str]  # label_names[i] is the name of class i
    source: str  # where it came from: a path or "sample:NAME"
    warnings: list[str] = field(default_factory=list)
    format: str = ""  # detected or requested format: tsv, csv, folder, text, synthetic

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    def __len__(self) -> int:
        return len(self.texts)

    def class_counts(self) -> dict[str, int]:
        """Number of texts per class name, in class-id order."""
        counts = np.bincount(np.asarray(self.labels, np.int64), minlength=self.num_classes)
        return {name: int(c) for name, c in zip(self.label_names, counts, strict=True)}


def label_sort_key(name: str) -> tuple:
    """Numbers in numeric order first (2 before 10), then words alphabetically."""
    try:
        return (0, float(name), name)
    except ValueError:
        return (1, 0.0, name.lower())


def build_corpus(
    texts: list[str],
    raw_labels: list[str],
    source: str,
    warnings: list[str],
    fmt: str,
) -> Corpus:
    """Map label strings to ids (sorted names) and check there are at least two classes."""
    names = sorted(set(raw_labels), key=label_sort_key)
    if not texts:
        raise CorpusError(f"{source}: no texts found")
    if len(names) < 2:
        raise CorpusError(
            f"{source}: only one class ({names[0]!r}, {len(texts)} texts); "
            "classification needs at least two"
        )
    index = {name: i for i, name in enumerate(names)}
    labels = np.fromiter((index[x] for x in raw_labels), np.int64, count=len(raw_labels))
    counts = np.bincount(labels, minlength=len(names))
    few = (counts < FEW_EXAMPLES) & (counts * 10 <= counts.max())  # and far fewer than most
    rare = [(names[i], int(counts[i])) for i in np.flatnonzero(few)]
    if rare:
        listed = ", ".join(f"{name!r} ({n})" for name, n in rare[:5])
        more = f" and {len(rare) - 5:,} more" if len(rare) > 5 else ""
        warnings = [
            *warnings,
            f"{source}: {len(rare):,} of {len(names):,} classes have fewer than {FEW_EXAMPLES} "
            f"examples: {listed}{more}; too few to learn or to validate",
        ]
    return Corpus(texts, labels, names, source, warnings, fmt)


def rename_labels(corpus: Corpus, names: str | list[str]) -> Corpus:
    """The corpus with its classes named `names` (a list, or "negative,positive"), in
    class-id order: the sorted label values, so 0,1 become negative,positive."""
    if isinstance(names, str):
        names = [name.strip() for name in names.split(",")]
    current = ", ".join(corpus.label_names)
    if len(names) != corpus.num_classes:
        raise CorpusError(
            f"{len(names)} label names given for {corpus.num_classes} classes ({current})"
        )
    if any(not name for name in names) or len(set(names)) != len(names):
        raise CorpusError(f"label names must be distinct and not empty; got {names}")
    return replace(corpus, label_names=list(names))
