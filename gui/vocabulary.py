"""The vocabulary table's arrays: built in rnnviz/vocab_table.py (no Qt), where the
session lives; re-exported here for the panels."""

from rnnviz.vocab_table import (  # noqa: F401
    CHUNK_WORDS,
    KEY_CHARS,
    SEPARATOR,
    ViewTokenizer,
    VocabularyTable,
    WordList,
    build_table,
    most_frequent,
    view_tokenizer,
)
