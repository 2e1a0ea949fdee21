"""Tokenizer: the seed's conventions, punctuation splitting, padding, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import Tokenizer


def test_ids_in_order_of_first_appearance_with_pad_and_unk():
    tok = Tokenizer().fit(["I love deep learning", "I hate bugs in my code"])
    assert tok.vocab["[PAD]"] == 0 and tok.vocab["[UNK]"] == 1
    assert [tok.vocab[w] for w in ["i", "love", "deep", "learning", "hate"]] == [2, 3, 4, 5, 6]
    assert tok.encode(["i love PYTHON"]) == [[2, 3, 1]]
    assert Tokenizer(unknown="drop").fit(["a b"]).encode(["a c b"]) == [[2, 3]]


def test_punctuation_split_by_default_and_whitespace_split_on_request():
    assert Tokenizer().tokenize("Great, isn't it?!") == ["great", ",", "isn't", "it", "?", "!"]
    assert Tokenizer(split_punctuation=False).tokenize("Great, isn't it?!") == [
        "great,",
        "isn't",
        "it?!",
    ]


def test_char_level_keeps_case():
    tok = Tokenizer(level="char").fit(["Ab a"])
    assert tok.id_to_word[2:] == ["A", "b", " ", "a"]
    assert tok.decode(tok.encode(["Ab"])[0]) == "Ab"


def test_padding_prepends_zeros():
    ids = Tokenizer.padding([[5, 6], [7], []], 4)
    np.testing.assert_array_equal(ids, [[0, 0, 5, 6], [0, 0, 0, 7], [0, 0, 0, 0]])
    assert ids.dtype == np.int64


def test_too_long_is_a_clear_error_unless_truncating():
    with pytest.raises(ValueError, match=r"sequence 1 has 5 tokens, longer than maxlen=3"):
        Tokenizer.padding([[1], [1, 2, 3, 4, 5]], 3)
    np.testing.assert_array_equal(Tokenizer.padding([[1, 2, 3, 4, 5]], 3, "pre"), [[3, 4, 5]])
    np.testing.assert_array_equal(Tokenizer.padding([[1, 2, 3, 4, 5]], 3, "post"), [[1, 2, 3]])


def test_decode_skips_padding():
    tok = Tokenizer().fit(["hello world"])
    assert tok.decode([0, 0, 2, 3]) == "hello world"


def test_save_and_load_round_trip(tmp_path):
    tok = Tokenizer().fit(["the cat sat", "the dog"])
    tok.save(tmp_path / "tok.json")
    back = Tokenizer.load(tmp_path / "tok.json")
    assert back.vocab == tok.vocab and back.encode(["dog sat"]) == tok.encode(["dog sat"])
    assert back.counts["the"] == 2
    np.testing.assert_array_equal(back.token_counts(), tok.token_counts())


def test_fit_rejects_a_single_string():
    with pytest.raises(TypeError):
        Tokenizer().fit("one string")
