"""The headless command line: train, predict, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, args)],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=300,
        cwd=ROOT,
    )


@pytest.fixture
def labelled_file(tmp_path):
    pos = ["i love deep learning", "what a great day", "wonderful work", "so good"]
    neg = ["i hate bugs in my code", "this is terrible", "awful bugs again", "so bad"]
    lines = [f"positive\t{t}" for t in pos] + [f"negative\t{t}" for t in neg]
    path = tmp_path / "small.tsv"
    path.write_text("\n".join(lines * 15) + "\n", encoding="utf-8")
    return path


def test_train_json_then_predict(labelled_file, tmp_path):
    model = tmp_path / "m.npz"
    run = cli("train", "--data", labelled_file, "--epochs", "40", "--json", "--save", model)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    for key in ("train_loss", "val_loss", "val_accuracy", "steps", "seconds", "tokens_per_second"):
        assert key in report
    assert report["val_accuracy"] == 1.0 and report["steps"] > 0
    # The defaults end on the best validation pass's weights, and say so.
    assert report["weights"] == "best" and 0 < report["best_step"] <= report["steps"]
    assert report["best_val_accuracy"] == report["val_accuracy"]
    assert report["baseline_majority"] == 0.5 and report["baseline_bag_of_words"] == 1.0
    assert model.exists()

    run = cli("predict", "--model", model, "i love deep learning", "awful bugs in my code")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0].startswith("positive\t") and lines[1].startswith("negative\t")
    assert "negative=" in lines[0] and "positive=" in lines[0]

    run = cli("predict", "--model", model, "--json", stdin="so good\n")
    assert json.loads(run.stdout)["label"] == "positive"


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "--model", "{tmp}/missing.npz", "hi"], "no such file"),
        (["predict", "--model", "{tmp}/garbage.npz", "hi"], "not an rnnviz model file"),
        (["train", "--data", "{tmp}/missing.tsv"], ""),
        (["train", "--data", "{labelled}", "--hidden", "0"], "hidden_size must be at least 1"),
        (["train", "--data", "{labelled}", "--epochs", "1", "--save", "{tmp}/no/dir/m.npz"], ""),
    ],
)
def test_errors_are_one_line_and_exit_2(tmp_path, labelled_file, args, message):
    (tmp_path / "garbage.npz").write_bytes(b"not a model at all")
    args = [a.format(tmp=tmp_path, labelled=labelled_file) for a in args]
    run = cli(*args)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert message in lines[0]


def test_help_lists_subcommands():
    run = cli("--help")
    assert run.returncode == 0
    for word in ("train", "predict", "samples"):
        assert word in run.stdout


@pytest.mark.parametrize("task", ["classify", "lm"])
def test_train_with_a_gated_cell_saves_it(labelled_file, tmp_path, task):
    from rnnviz import checkpoint

    model = tmp_path / "m.npz"
    options = ["--epochs", 1, "--hidden", 8, "--embed", 4, "--cell", "lstm", "--gate-init", "zero"]
    run = cli("train", "--data", labelled_file, "--task", task, *options, "--save", model)
    assert run.returncode == 0, run.stderr
    ck = checkpoint.load(model)
    assert ck.model.cell == "lstm" and ck.config.cell == "lstm" and ck.config.gate_init == "zero"
    if task == "lm":
        out = cli("generate", "--model", model, "--prime", "so", "--length", 5, "--seed", 1)
        assert out.returncode == 0 and out.stdout.startswith("so"), out.stderr


def test_a_synthetic_task_is_never_truncated():
    """The automatic maxlen caps real corpora at 100 tokens but keeps a synthetic task's
    whole texts: recall's answer is the first token."""
    import numpy as np

    from rnnviz.config import Config
    from rnnviz.corpus import Corpus
    from rnnviz.data import load_corpus
    from rnnviz.trainer import AUTO_MAXLEN_CAP, Trainer

    corpus = load_corpus("sample:recall?length=150&n=40")
    assert Trainer(corpus, Config(epochs=0)).maxlen == 150 > AUTO_MAXLEN_CAP
    text = " ".join(["word"] * 150)
    long_texts = Corpus([text, text], np.array([0, 1]), ["a", "b"], "test")
    assert Trainer(long_texts, Config(epochs=0, val_fraction=0.0)).maxlen == AUTO_MAXLEN_CAP


def test_label_names_name_numeric_classes(tmp_path):
    rows = ["0\tbad movie", "1\tgreat film", "0\tawful plot", "1\tlovely acting"] * 10
    data = tmp_path / "numbers.tsv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    model = tmp_path / "m.npz"
    run = cli("train", "--data", data, "--label-names", "negative,positive", "--epochs", "2",
              "--min-count", "2", "--save", model)  # fmt: skip
    assert run.returncode == 0, run.stderr
    run = cli("predict", "--model", model, "--json", "great film")
    assert set(json.loads(run.stdout)["probabilities"]) == {"negative", "positive"}
    run = cli("train", "--data", data, "--label-names", "a,b,c")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip() == "error: 3 label names given for 2 classes (0, 1)"


def test_gated_cells_start_at_their_own_learning_rate():
    """Adam's default is 1e-3 for the tanh RNN (chosen on real reviews) and 5e-3 for the
    GRU and LSTM (recall at length 300 is at chance after 3 epochs at 1e-3); a given --lr
    always wins, and experiment files fill the same default."""
    from rnnviz.cli import build_parser, config_from_args
    from rnnviz.config import GATED_ADAM_LR, default_lr
    from rnnviz.experiment import base_config

    def config(*options):
        return config_from_args(build_parser().parse_args(["train", *options]))

    assert config().lr == default_lr("adam") == 1e-3
    assert config("--cell", "gru").lr == config("--cell", "lstm").lr == GATED_ADAM_LR
    assert config("--cell", "gru", "--lr", "0.002").lr == 0.002
    assert config("--cell", "gru", "--optimizer", "sgd").lr == default_lr("sgd")
    assert base_config({"cell": "lstm"}).lr == GATED_ADAM_LR
