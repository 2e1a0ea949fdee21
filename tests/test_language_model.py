"""The language model: gradients, the windowed trainer with a carried state, sampling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gradcheck import numerical_grad, relative_error

from rnnviz import checkpoint, lm_trainer
from rnnviz.corpus import Corpus
from rnnviz.language_model import RNNLanguageModel, generate
from rnnviz.lm_trainer import LanguageModelTrainer, lm_defaults
from rnnviz.tokenizer import PAD_ID, UNK_ID, Tokenizer

ROOT = Path(__file__).resolve().parents[1]
PHRASE = "the quick brown fox jumps over the lazy dog. "


def text_corpus(text: str) -> Corpus:
    return Corpus(texts=[text], labels=np.zeros(0, np.int64), label_names=[], source="test")


def small_config(**changes):
    base = dict(embed_dim=8, hidden_size=24, batch_size=4, bptt=16, lr=1e-2, eval_every=0,
                output_dropout=0.0, weight_average=0.0)  # fmt: skip
    return lm_defaults(**{**base, **changes})


def random_model(V=9, D=4, H=5, mask_padding=True, seed=0):
    model = RNNLanguageModel(V, D, H, mask_padding=mask_padding, dtype=np.float64, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for name, p in model.params.items():
        if name != "embedding":
            p[...] = rng.normal(0, 0.5, p.shape)
    return model


# ---------------------------------------------------------------------- model
@pytest.mark.parametrize("mask_padding", [True, False])
def test_gradients_match_finite_differences(mask_padding, token_input):
    model = random_model(mask_padding=mask_padding)
    rng = np.random.default_rng(3)
    ids = rng.integers(1, 9, size=(3, 6))
    ids[0, :2] = PAD_ID  # a pre-padded row
    targets = rng.integers(1, 9, size=(3, 6))
    targets[0, :2] = targets[2, 4] = PAD_ID  # ignored in the mean
    h0 = rng.normal(0, 0.5, size=(3, 5))

    def loss():
        return model.loss_and_grads(ids, targets, h0=h0)[0]

    _, grads = model.loss_and_grads(ids, targets, h0=h0)
    analytic = {k: v.copy() for k, v in grads.items()}
    dh0 = model.dh0.copy()
    for name, p in model.params.items():
        numeric = numerical_grad(loss, p)
        if name == "embedding":  # the [PAD] row is frozen (torch's padding_idx)
            numeric[PAD_ID] = 0
        err = relative_error(analytic[name], numeric)
        assert err < 1e-6, (name, err)
    assert relative_error(dh0, numerical_grad(loss, h0)) < 1e-6
    assert np.all(analytic["embedding"][PAD_ID] == 0)


@pytest.mark.parametrize("leading_pads", [0, 2])
def test_one_sequence_gradients_match_finite_differences(leading_pads):
    """B = 1 takes the layer's one-row path (input folded into the recurrent matmul)."""
    model = random_model()
    rng = np.random.default_rng(4)
    ids = rng.integers(1, 9, size=(1, 6))
    ids[0, :leading_pads] = PAD_ID
    targets = rng.integers(1, 9, size=(1, 6))
    h0 = rng.normal(0, 0.5, size=(1, 5))

    def loss():
        return model.loss_and_grads(ids, targets, h0=h0)[0]

    _, grads = model.loss_and_grads(ids, targets, h0=h0)
    assert model.rnn._rows is not None, "the one-row path was not taken"
    analytic = {k: v.copy() for k, v in grads.items()}
    dh0 = model.dh0.copy()
    for name, p in model.params.items():
        numeric = numerical_grad(loss, p)
        if name == "embedding":
            numeric[PAD_ID] = 0
        assert relative_error(analytic[name], numeric) < 1e-6, name
    assert relative_error(dh0, numerical_grad(loss, h0)) < 1e-6


def test_loss_is_mean_nll_of_forward_and_default_targets_shift():
    model = random_model()
    ids = np.array([[2, 3, 4, 5, 6], [3, 3, 8, 2, 7]])
    loss, _ = model.loss_and_grads(ids)
    proba = model.forward(ids).proba  # (B, T, V)
    targets = RNNLanguageModel.default_targets(ids)
    assert np.all(targets[:, -1] == PAD_ID) and np.all(targets[:, :-1] == ids[:, 1:])
    picked = np.take_along_axis(proba[:, :-1], ids[:, 1:, None], axis=2)
    assert loss == pytest.approx(-np.log(picked).mean(), rel=1e-12)
    total, _, count = model.nll(ids, targets)
    assert count == 8 and total / count == pytest.approx(loss, rel=1e-12)


def test_state_carries_across_windows_exactly():
    model = random_model()
    ids = np.random.default_rng(0).integers(2, 9, size=(2, 10))
    whole = model.forward(ids)
    first = model.forward(ids[:, :4])
    second = model.forward(ids[:, 4:], h0=first.hidden[:, -1])
    np.testing.assert_allclose(second.proba, whole.proba[:, 4:], atol=1e-12)
    np.testing.assert_allclose(model.last_state, whole.hidden[:, -1], atol=1e-12)


def test_dropout_gradients_and_training_only():
    model = random_model()
    ids = np.random.default_rng(0).integers(2, 9, size=(2, 10))
    plain = model.loss_and_grads(ids)[0]

    def loss():  # the same masks on every call: re-seed the dropout generator
        model.rng = np.random.default_rng(5)
        return model.loss_and_grads(ids, dropout=0.3, output_dropout=0.4)[0]

    assert loss() != plain
    analytic = {k: v.copy() for k, v in model.grads.items()}
    for name in ("embedding", "W", "W_out"):
        numeric = numerical_grad(loss, model.params[name])
        assert relative_error(analytic[name], numeric) < 1e-6, name
    assert model.loss_and_grads(ids)[0] == plain


# ---------------------------------------------------------------------- trainer
def test_training_loss_falls_and_report():
    trainer = LanguageModelTrainer(text_corpus(PHRASE * 40), small_config(epochs=3))
    first = trainer.step()
    while not trainer.finished:
        snap = trainer.step()
    assert snap.loss < first.loss * 0.5
    assert snap.tokens == 4 * 16 and 0 <= snap.accuracy <= 1
    report = trainer.report(seconds=1.0)
    for key in ("train_loss", "val_loss", "val_accuracy", "val_perplexity", "steps", "epochs"):
        assert report[key] is not None, key
    assert report["val_bits_per_char"] == pytest.approx(report["val_loss"] / np.log(2))
    assert report["val_perplexity"] == pytest.approx(np.exp(report["val_loss"]))
    assert report["val_loss"] < 1.5 and report["stop_reason"] == "epochs"


def test_hidden_state_carried_across_windows_and_reset_at_epoch_start(monkeypatch):
    trainer = LanguageModelTrainer(text_corpus(PHRASE * 20), small_config(val_fraction=0.1))
    calls = []
    original = trainer.model.loss_and_grads

    def recording(ids, targets, h0=None, **kw):
        out = original(ids, targets, h0=h0, **kw)
        calls.append((ids.copy(), targets.copy(), h0.copy(), trainer.model.last_state.copy()))
        return out

    monkeypatch.setattr(trainer.model, "loss_and_grads", recording)
    per_epoch = trainer.steps_per_epoch
    assert per_epoch > 2
    for _ in range(per_epoch + 2):
        trainer.step()
    assert trainer.epoch == 1
    starts = {0, per_epoch}
    for k, (ids, targets, h0, _) in enumerate(calls):
        if k in starts:
            assert not h0.any(), f"state not reset at the start of epoch ({k})"
        else:
            _, prev_targets, _, prev_state = calls[k - 1]
            np.testing.assert_array_equal(h0, prev_state)  # carried, not recomputed
            assert h0.any()
            # Each lane continues where its previous window stopped.
            np.testing.assert_array_equal(ids[:, 0], prev_targets[:, -1])
        np.testing.assert_array_equal(ids[:, 1:], targets[:, :-1])


def test_evaluate_carries_state_across_chunks(monkeypatch):
    trainer = LanguageModelTrainer(text_corpus(PHRASE * 60), small_config(val_fraction=0.3))
    whole = trainer.evaluate()
    monkeypatch.setattr(lm_trainer, "EVAL_ELEMENTS", 1)  # one token per chunk
    assert trainer.evaluate() == pytest.approx(whole, rel=1e-5)


def test_presets():
    default, fast = lm_defaults(), lm_defaults("fast", lr=1e-3)
    assert (default.task, default.level, default.hidden_size) == ("lm", "char", 512)
    assert (default.output_dropout, default.weight_average) == (0.2, 0.999)
    assert (fast.hidden_size, fast.output_dropout, fast.lr) == (256, 0.0, 1e-3)
    with pytest.raises(ValueError, match="preset"):
        lm_defaults("huge")


def test_word_level_and_live_updates():
    config = small_config(
        level="word", lr_schedule="plateau", embed_dropout=0.1, output_dropout=0.2
    )
    trainer = LanguageModelTrainer(text_corpus(PHRASE * 30), config)
    assert trainer.tokenizer.level == "word" and trainer.label_names == []
    snap = trainer.step(capture=True)
    P, T = trainer.probe_ids.shape
    assert snap.probe_hidden.shape == (P, T, 24)
    assert snap.probe_proba.shape == (P, T, trainer.tokenizer.vocab_size)
    assert not snap.params["W"].flags.writeable
    trainer.update(lr=5e-3, embed_dropout=0.0, batch_size=2)
    assert trainer.step().lr == 5e-3
    with pytest.raises(ValueError, match="cannot change"):
        trainer.update(hidden_size=8)
    with pytest.raises(ValueError, match="lr_schedule"):
        trainer.update(lr_schedule="sometimes")
    assert "val_bits_per_char" not in trainer.report()
    assert trainer.token_counts.shape == (trainer.tokenizer.vocab_size,)


def test_plateau_schedule_halves_lr_on_stalls_down_to_a_floor(monkeypatch):
    config = small_config(lr_schedule="plateau", eval_every=1, lr=8e-3)
    trainer = LanguageModelTrainer(text_corpus(PHRASE * 20), config)
    losses = iter([3.0, 2.0, 2.5, 1.0] + [5.0] * 10)
    monkeypatch.setattr(trainer, "evaluate", lambda: (next(losses), 0.0))
    lrs = [trainer.step().lr for _ in range(12)]
    # lr used by each step; evaluations after steps 3 and 5.. stall (no new best).
    assert lrs[:4] == [8e-3, 8e-3, 8e-3, 4e-3]
    assert lrs[4] == 4e-3 and lrs[5] == 2e-3
    assert lrs[-1] == pytest.approx(8e-3 * lm_trainer.PLATEAU_FLOOR)
    trainer.update(lr=1e-3)  # a new base rate starts undecayed
    assert trainer.step().lr == 1e-3


# ---------------------------------------------------------------------- generate
@pytest.fixture(scope="module")
def memorised():
    """A small model that has learnt PHRASE by heart."""
    trainer = LanguageModelTrainer(
        text_corpus(PHRASE * 60), small_config(hidden_size=48, epochs=12, val_fraction=0.05)
    )
    while not trainer.finished:
        trainer.step()
    return trainer


def test_greedy_reproduces_the_memorised_text(memorised):
    out = generate(memorised.model, memorised.tokenizer, "the quick", 60, temperature=0)
    assert out == (PHRASE * 3)[: len("the quick") + 60]


def test_sampling_is_deterministic_with_a_seed_and_topk_1_is_greedy(memorised):
    model, tok = memorised.model, memorised.tokenizer
    a = generate(model, tok, "the", 80, temperature=1.5, seed=7)
    assert a == generate(model, tok, "the", 80, temperature=1.5, seed=7)
    assert a != generate(model, tok, "the", 80, temperature=1.5, seed=8)
    greedy = generate(model, tok, "the", 40, temperature=0)
    assert generate(model, tok, "the", 40, temperature=2.0, top_k=1, seed=1) == greedy


def test_top_k_respected_and_never_pad_or_unk():
    tok = Tokenizer("char").fit(["abcdefgh"])
    V = tok.vocab_size
    model = RNNLanguageModel(V, 4, 8, seed=3)
    model.params["b_out"][[PAD_ID, UNK_ID]] = 50.0  # would dominate if they could be drawn
    out = generate(model, tok, "ab", 60, temperature=1.0, top_k=3, seed=0)
    assert out.startswith("ab") and len(out) == 62 and "[" not in out
    ids = np.array([tok.encode([out])[0]])
    proba = model.forward(ids).proba[0]  # (T, V)
    proba[:, [PAD_ID, UNK_ID]] = -1
    for t in range(1, ids.shape[1] - 1):
        top3 = np.argsort(proba[t])[-3:]
        assert ids[0, t + 1] in top3, t
    unseen = generate(model, tok, "zz", 5, temperature=0)  # unknown prime chars -> [UNK]
    assert unseen.startswith("zz") and len(unseen) == 7


def test_checkpoint_round_trip(memorised, tmp_path):
    path = tmp_path / "lm.npz"
    memorised.save(path)
    ck = checkpoint.load(path)
    assert ck.config.task == "lm" and isinstance(ck.model, RNNLanguageModel)
    assert ck.model.head == "softmax" and ck.label_names == []
    for name, value in memorised.model.params.items():
        np.testing.assert_array_equal(ck.model.params[name], value)
    args = ("the", 50, 0.9, None, 3)
    assert generate(ck.model, ck.tokenizer, *args) == generate(
        memorised.model, memorised.tokenizer, *args
    )
    resumed = LanguageModelTrainer.load(path, text_corpus(PHRASE * 60))
    assert resumed.evaluate() == pytest.approx(memorised.evaluate(), rel=1e-6)


# ---------------------------------------------------------------------- CLI
def cli(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, args)],
        capture_output=True, text=True, env=env, timeout=300, cwd=ROOT,
    )  # fmt: skip


def test_cli_train_lm_then_generate(tmp_path):
    data = tmp_path / "text.txt"
    data.write_text(PHRASE * 50, encoding="utf-8")
    model = tmp_path / "m.npz"
    run = cli("train", "--task", "lm", "--data", data, "--epochs", "2", "--hidden", "32",
              "--batch-size", "8", "--bptt", "16", "--json", "--save", model,
              "--lr-schedule", "plateau", "--dropout", "0.1", "--eval-every", "20")  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    for key in ("val_loss", "val_bits_per_char", "tokens_per_second", "val_perplexity"):
        assert isinstance(report[key], float), key
    assert report["level"] == "char" and report["tokens_per_second"] > 0
    saved = checkpoint.load(model).config
    assert (saved.lr_schedule, saved.embed_dropout, saved.hidden_size) == ("plateau", 0.1, 32)
    assert (saved.bptt, saved.batch_size, saved.val_fraction) == (16, 8, 0.1)

    run = cli("generate", "--model", model, "--prime", "the q", "--length", "30", "--seed", "1")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("the q") and len(run.stdout.rstrip("\n")) == 35

    run = cli("predict", "--model", model, "hello")
    assert run.returncode == 2 and "generate" in run.stderr


def test_dropout_mask_rate_and_scale():
    """Inverted dropout from random bytes: the share dropped is the rate (rounded to
    1/256) and the kept elements are scaled so the expectation is unchanged."""
    model = random_model()
    mask = model._dropout_mask((400, 500), 0.1, np.dtype(np.float32))
    dropped = np.mean(mask == 0)
    assert abs(dropped - 26 / 256) < 0.003
    assert abs(mask.mean() - 1.0) < 0.01
    assert mask.dtype == np.float32
    assert model._dropout_mask((3, 4), 0.0, np.dtype(np.float32)) is None


def test_the_app_switches_to_the_fast_preset():
    """The app trains on one thread beside its window: its language-model task takes the
    fast preset (H=256), fields the user changed stay, the task's own defaults apply."""
    from gui.tasks import config_for_task
    from rnnviz.config import Config

    lm = config_for_task(Config(), "lm")
    assert (lm.task, lm.level, lm.hidden_size, lm.lr) == ("lm", "char", 256, 5e-3)
    assert lm.weight_average == 0.999 and lm.lr_schedule == "plateau"
    mine = config_for_task(Config(hidden_size=100), "lm")
    assert mine.hidden_size == 100
    assert config_for_task(lm, "classify") == Config()
