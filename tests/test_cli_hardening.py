"""The command line under hostile input: numbers that cannot be meant, --save places
checked before training, sizes that cannot fit, --max-seconds honoured by the closing
report, Ctrl-C while training and while loading. One line each, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


def cli(*args) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "main.py"), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=300, cwd=ROOT)


def one_error_line(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--clip-value", "-1"], "clip_value"),
        (["--clip-value", "0"], "clip_value"),
        (["--lr", "inf"], "lr must be a finite number"),
        (["--lr", "1e-300"], "lr must be between"),
        (["--lr", "nan"], "lr must be a finite number"),
        (["--recurrent-gain", "nan"], "recurrent_gain"),
        (["--weight-decay", "-1"], "weight_decay"),
        (["--task", "lm", "--dropout", "1.5"], "--dropout: embed_dropout"),  # the option named
        (["--max-seconds", "nan"], "--max-seconds"),
        (["--max-seconds", "-5"], "--max-seconds"),
        (["--threads", "-2"], "blas_threads"),
        (["--hidden", "100000"], "needs about"),  # a MemoryError traceback on main
    ],
)
def test_train_refuses_numbers_that_cannot_be_meant(args, message):
    line = one_error_line(cli("train", "--epochs", "1", *args))
    assert line.startswith("error: ") and message in line


@pytest.mark.parametrize(
    "args, message",
    [
        (["--temperature", "nan"], "--temperature"),  # sampled "AAAA..." on main
        (["--temperature", "-1"], "--temperature"),
        (["--temperature", "inf"], "--temperature"),
        (["--top-k", "0"], "--top-k"),
        (["--top-k", "-3"], "--top-k"),
        (["--length", "-1"], "--length"),
    ],
)
def test_generate_refuses_numbers_that_cannot_be_meant(tmp_path, args, message):
    line = one_error_line(cli("generate", "--model", tmp_path / "lm.npz", *args))
    assert message in line  # checked before the model is even opened


@pytest.mark.parametrize(
    "args, message",
    [
        (["--size", "10x"], "--size"),
        (["--size", "0x0"], "--size"),
        (["--profile-ui", "nan"], "--profile-ui"),
        (["--steps", "-1"], "--steps"),
        (["--lr", "inf"], "lr must be a finite number"),
    ],
)
def test_the_app_refuses_bad_numbers_before_opening_a_window(tmp_path, args, message):
    run = subprocess.run([sys.executable, str(ROOT / "main.py"), "--screenshot", "x.png", *args],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env=dict(ENV, QT_QPA_PLATFORM="offscreen"))  # fmt: skip
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert message in run.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    "save, message",
    [
        ("{tmp}", "is a folder"),
        ("{tmp}/no/such/folder/m.npz", "does not exist"),
        ("/dev/full", "not a regular file"),
    ],
)
def test_save_is_checked_before_loading_and_training(tmp_path, save, message):
    # The corpus is missing too: the --save problem is found first, before any work.
    run = cli("train", "--data", tmp_path / "missing.tsv", "--save", save.format(tmp=tmp_path))
    assert message in one_error_line(run)


def big_corpus(path: Path, lines: int) -> Path:
    words = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
             "kappa", "lambda", "mu")  # fmt: skip
    rows = [
        f"{'pos' if i % 2 else 'neg'}\t{' '.join(words[(i * 7 + k) % 12] for k in range(8))}"
        for i in range(lines)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_max_seconds_bounds_the_closing_report_and_says_so(tmp_path):
    data = big_corpus(tmp_path / "big.tsv", 60_000)
    # One text a step: training covers few of the rows in the time, so the report samples.
    run = cli("train", "--data", data, "--max-seconds", "1", "--json", "--batch-size", "1")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    sample = report["report_sample"]
    assert 0 < sample["train_examples"] < report["train_examples"]
    assert 0 < sample["val_examples"] <= report["val_examples"]


def interrupt(args: list, wait_for: float, tmp_path: Path) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV, cwd=tmp_path)  # fmt: skip
    time.sleep(wait_for)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_while_training_stops_saves_and_reports(tmp_path):
    model = tmp_path / "m.npz"
    args = ["train", "--data", "sample:sentiment", "--epochs", "100000", "--json",
            "--save", model]  # fmt: skip
    run = interrupt(args, 8.0, tmp_path)  # imports and loading take ~2 s
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["stop_reason"] == "interrupted" and report["steps"] > 0
    assert report["saved"] == str(model) and model.exists()
    assert "interrupted" in run.stderr


def test_ctrl_c_while_loading_is_one_line(tmp_path):
    data = big_corpus(tmp_path / "huge.tsv", 600_000)  # several seconds to read
    run = interrupt(["train", "--data", data, "--save", tmp_path / "m.npz"], 1.5, tmp_path)
    assert run.returncode == 130, run.stderr
    assert "Traceback" not in run.stderr
    progress = ("reading ", "building the vocabulary", "encoding the")  # loading, as it goes
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert [line for line in lines if not line.startswith(progress)] == ["interrupted"], run.stderr
    assert not (tmp_path / "m.npz").exists()


def test_a_step_still_running_at_max_seconds_is_dropped(tmp_path):
    # One step of this size takes seconds (H=2000 over 200 steps of 128 texts).
    args = ["--hidden", "2000", "--maxlen", "200", "--batch-size", "128", "--max-seconds", "0.5"]
    run = cli("train", *args, "--json", "--save", tmp_path / "m.npz")
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["steps"] == 0 and report["stop_reason"] == "time limit"
    assert "was dropped" in run.stderr
    assert report["report_sample"]["train_examples"] < report["train_examples"]
    assert (tmp_path / "m.npz").exists()  # what was asked is still saved
