"""The settings options that the app and `train` share: one definition, the same names.

Each option fills one `Config` field and defaults to None, so that a command can tell
what was given (`given_settings`) and apply it over its own defaults: `train` over the
task's defaults, the app over the window's (and a lesson's or an experiment's).
Older spellings stay as aliases (`--hidden-size` for `--hidden`, `--embed-dim` for
`--embed`).
"""

from __future__ import annotations

import argparse

from rnnviz.config import (
    CELLS,
    CLIPS,
    EARLY_STOP_METRICS,
    GATE_INITS,
    HEADS,
    INITS,
    LEVELS,
    LR_SCHEDULES,
    OPTIMIZERS,
    TASKS,
)


def setting(flags: str, kind, help: str, field: str = "") -> tuple[tuple[str, ...], str, dict]:
    """One settings option -> (flags, Config field, argparse keywords).

    `flags` are space-separated, the one --help shows first first; `kind` is int or float
    (a number: N or X), a tuple (the choices), str (free text) or a dict of argparse
    keywords; the field is the first flag's name (`--batch-size`: batch_size) unless given.
    """
    names = tuple(flags.split())
    field = field or names[0].removeprefix("--").replace("-", "_")
    if isinstance(kind, tuple):
        keywords = {"choices": kind}
    elif kind in (int, float):
        keywords = {"metavar": "N" if kind is int else "X", "type": kind}
    elif kind is str:
        keywords = {}
    else:
        keywords = dict(kind)
    return names, field, {**keywords, "help": help}


SETTING_OPTIONS = (
    setting("--task", TASKS, "classify (default) or lm: a language model"),
    setting("--level", LEVELS, "word, or char (the default for --task lm)"),
    setting("--epochs", int, "passes over the data (0: until stopped)"),
    setting("--hidden --hidden-size", int, "hidden size H", "hidden_size"),
    setting("--embed --embed-dim", int, "embedding size D", "embed_dim"),
    setting("--batch-size", int, "batch size B"),
    setting("--maxlen", int, "padded length T (0 = auto)"),
    setting("--lr", float, "learning rate"),
    setting("--optimizer", OPTIMIZERS, "adam (default), sgd, momentum"),
    setting("--momentum", float, "momentum; Adam's beta1"),
    setting("--head", HEADS, "softmax (default) or the seed's tanh"),
    setting("--init", INITS, "xavier (default), uniform, orthogonal"),
    setting("--cell", CELLS, "rnn (the seed's tanh RNN), gru, lstm"),
    setting("--gate-init", GATE_INITS, "gated cells' biases: chrono (default) or zero"),
    setting("--recurrent-gain", float, "scale W_h after init (>1 explodes)"),
    setting("--clip", CLIPS, "gradient clipping: norm, value or none"),
    setting("--clip-value", float, "the clipping threshold"),
    setting("--no-mask", dict(action="store_const", const=False), "do not mask [PAD] steps",
            "mask_padding"),
    setting("--patience", int, "early stopping patience (0 = off)"),
    setting("--early-stop-metric", EARLY_STOP_METRICS,
            "best evaluation: lowest val loss or top accuracy"),
    setting("--keep-best", dict(action=argparse.BooleanOptionalAction),
            "end the run on the best evaluation's weights (default: on)"),
    setting("--min-count", int, "words seen fewer times in training become [UNK]"),
    setting("--word-dropout", float, "share of training tokens replaced by [UNK] in each batch"),
    setting("--label-names", str, "class names in label order: negative,positive"),
    setting("--val-fraction", float, "held-out share"),
    setting("--eval-every", int, "steps between validation passes (0 = once per epoch)"),
    setting("--bptt", int, "lm: truncated BPTT length"),
    setting("--dropout", float, "dropout on the input vectors while training", "embed_dropout"),
    setting("--output-dropout", float, "dropout on the state(s) feeding the output head"),
    setting("--lr-schedule", LR_SCHEDULES, "lm: constant, plateau (decay on stalls), exponential"),
    setting("--lr-decay", float, "lm: the schedule's factor"),
    setting("--weight-decay", float, "decoupled weight decay"),
    setting("--weight-average", float,
            "evaluate and save a moving average of the weights (e.g. 0.999)"),
    setting("--threads", int, "BLAS threads (default 1; 0 = NumPy's own choice)", "blas_threads"),
    setting("--batch-threads", int, "split each batch over N threads (one BLAS thread each)"),
    setting("--seed", int, "one seed for init, split and batch order"),
)  # fmt: skip


def add_setting_options(parser: argparse.ArgumentParser) -> None:
    """The settings (Config fields) as options, in a group of their own."""
    group = parser.add_argument_group("settings (unset ones keep their defaults)")
    for flags, dest, keywords in SETTING_OPTIONS:
        group.add_argument(*flags, dest=dest, default=None, **keywords)


def add_experiment_options(parser: argparse.ArgumentParser) -> None:
    """--data, --format, --label-column and --experiment, shared like the settings."""
    parser.add_argument(
        "--data", default=None, help="corpus: a file, a folder, or sample:NAME (see `samples`)"
    )
    parser.add_argument("--format", default=None, help="auto, tsv, csv, folder or text")
    parser.add_argument("--label-column", default=None, help="label column (index or header)")
    parser.add_argument(
        "--experiment", metavar="TOML", default=None,
        help="an experiment file (corpus, settings, steps, live changes); options given "
        "beside it override its settings",
    )  # fmt: skip


def given_settings(args: argparse.Namespace) -> dict:
    """The Config fields given on the command line, by field name."""
    names = [dest for _, dest, _ in SETTING_OPTIONS]
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
