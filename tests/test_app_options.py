"""The app's command line and `train` take the same settings with the same names (issue 13)."""

from __future__ import annotations

import argparse

from gui.app import build_parser as app_parser
from rnnviz.cli import build_parser as cli_parser

# Options that make sense on one side only, each with the reason.
ONLY_TRAIN = {
    "--save": "writes the model when the run ends; the app has File > Save model",
    "--save-experiment": "the app has File > Save experiment",
    "--json": "the closing report of a headless run",
    "--max-seconds": "a headless run's time limit; the app trains until paused",
}
ONLY_APP = {
    "--lesson": "opens a lesson's note in the window",
    "--steps": "--screenshot's training steps (train's are the experiment's or --epochs)",
    "--screenshot": "saves the window",
    "--screenshot-timeout": "--screenshot's limit",
    "--panel": "the tab in front",
    "--profile-ui": "measures the window",
    "--profile-load": "measures the window",
    "--size": "the window's size",
    "--theme": "the window's colours",
}


def option_strings(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {flag: action for action in parser._actions for flag in action.option_strings}


def train_parser() -> argparse.ArgumentParser:
    (sub,) = [a for a in cli_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices["train"]


def test_the_app_accepts_every_train_option_with_the_same_name():
    app, train = option_strings(app_parser()), option_strings(train_parser())
    shared = (set(train) - set(ONLY_TRAIN)) | {"-h", "--help"}
    assert set(app) - set(ONLY_APP) == shared, (
        f"only in train: {sorted(shared - set(app))}; only in the app: "
        f"{sorted(set(app) - set(ONLY_APP) - shared)}"
    )
    for flag in shared - {"-h", "--help"}:  # the same field, the same kind of value
        a, t = app[flag], train[flag]
        assert (a.dest, a.type, a.choices, a.nargs) == (t.dest, t.type, t.choices, t.nargs), flag
    assert not set(ONLY_APP) & set(train) and not set(ONLY_TRAIN) & set(app)


def test_each_setting_option_fills_a_config_field():
    """The field is derived from the first flag (--batch-size: batch_size) unless named."""
    import dataclasses

    from rnnviz.config import Config
    from rnnviz.options import SETTING_OPTIONS, setting

    fields = {f.name for f in dataclasses.fields(Config)}
    dests = [dest for _, dest, _ in SETTING_OPTIONS]
    assert set(dests) <= fields, sorted(set(dests) - fields)
    assert len(dests) == len(set(dests))
    assert setting("--hidden --hidden-size", int, "H", "hidden_size") == (
        ("--hidden", "--hidden-size"), "hidden_size", {"metavar": "N", "type": int, "help": "H"}
    )  # fmt: skip
    assert setting("--lr-decay", float, "factor")[1] == "lr_decay"
