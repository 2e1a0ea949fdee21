"""`main.py dynamics`: one JSON line with the state-space figures; one-line errors."""

from __future__ import annotations

import json

import pytest

from tests.test_cli import cli

FIELDS = ("fixed_points", "pc_variance", "fixed_point_pc1_share", "top_eigenvalues",
          "readout_alignment")  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    model = tmp_path_factory.mktemp("dynamics") / "m.npz"
    run = cli("train", "--data", "sample:sentiment", "--epochs", "4", "--save", model)
    assert run.returncode == 0, run.stderr
    return model


def test_dynamics_json_has_the_figures_of_the_issue(trained):
    run = cli("dynamics", "--model", trained, "--data", "sample:sentiment", "--json",
              "--starts", "64")  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    for key in FIELDS:
        assert key in report
    assert report["fixed_points"] >= 1 and report["visited_states"] > 100
    assert 0 < report["pc_variance"] <= 1
    assert len(report["top_eigenvalues"]) == 2
    assert report["top_eigenvalues"][0] >= report["top_eigenvalues"][1] > 0
    for key in ("fixed_point_pc1_share", "readout_alignment"):
        assert report[key] is None or 0 <= report[key] <= 1

    run = cli("dynamics", "--model", trained, "--data", "sample:sentiment", "--token", "love",
              "--starts", "32")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "input                  love" in run.stdout and "fixed_points" in run.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "{tmp}/missing.npz", "--data", "sample:sentiment"], "no such file"),
        (["--model", "{model}", "--data", "{tmp}/missing.tsv"], ""),
        (["--model", "{model}", "--data", "sample:sentiment", "--token", "qwzx"], "vocabulary"),
        (["--model", "{model}", "--data", "sample:sentiment", "--starts", "0"], "--starts"),
        (["--model", "{model}", "--data", "sample:prose"], "plain text"),
    ],
)
def test_dynamics_errors_are_one_line(tmp_path, trained, args, message):
    run = cli("dynamics", *[a.format(tmp=tmp_path, model=trained) for a in args])
    assert run.returncode == 2 and "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert message in lines[0]
