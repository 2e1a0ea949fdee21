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

# (flags, Config field, argparse keywords); the first flag is the one --help shows first.
SETTING_OPTIONS: tuple[tuple[tuple[str, ...], str, dict], ...] = (
    (("--task",), "task", dict(choices=TASKS, help="classify (default) or lm: a language model")),
    (("--level",), "level", dict(choices=LEVELS, help="word, or char (the default for --task lm)")),
    (("--epochs",), "epochs", dict(type=int, help="passes over the data (0: until stopped)")),
    (("--hidden", "--hidden-size"), "hidden_size", dict(type=int, help="hidden size H")),
    (("--embed", "--embed-dim"), "embed_dim", dict(type=int, help="embedding size D")),
    (("--batch-size",), "batch_size", dict(type=int, help="batch size B")),
    (("--maxlen",), "maxlen", dict(type=int, help="padded length T (0 = auto)")),
    (("--lr",), "lr", dict(type=float, help="learning rate")),
    (("--optimizer",), "optimizer", dict(choices=OPTIMIZERS, help="adam (default), sgd, momentum")),
    (("--momentum",), "momentum", dict(type=float, help="momentum; Adam's beta1")),
    (("--head",), "head", dict(choices=HEADS, help="softmax (default) or the seed's tanh")),
    (("--init",), "init", dict(choices=INITS, help="xavier (default), uniform, orthogonal")),
    (("--cell",), "cell", dict(choices=CELLS, help="rnn (the seed's tanh RNN), gru, lstm")),
    (("--gate-init",), "gate_init",
     dict(choices=GATE_INITS, help="gated cells' biases: chrono (default) or zero")),
    (("--recurrent-gain",), "recurrent_gain",
     dict(type=float, help="scale W_h after init (>1 explodes)")),
    (("--clip",), "clip", dict(choices=CLIPS, help="gradient clipping: norm, value or none")),
    (("--clip-value",), "clip_value", dict(type=float, help="the clipping threshold")),
    (("--no-mask",), "mask_padding",
     dict(action="store_const", const=False, help="do not mask [PAD] steps")),
    (("--patience",), "patience", dict(type=int, help="early stopping patience (0 = off)")),
    (("--early-stop-metric",), "early_stop_metric",
     dict(choices=EARLY_STOP_METRICS, help="best evaluation: lowest val loss or top accuracy")),
    (("--keep-best",), "keep_best",
     dict(action=argparse.BooleanOptionalAction,
          help="end the run on the best evaluation's weights (default: on)")),
    (("--min-count",), "min_count",
     dict(type=int, help="words seen fewer times in training become [UNK]")),
    (("--word-dropout",), "word_dropout",
     dict(type=float, help="share of training tokens replaced by [UNK] in each batch")),
    (("--label-names",), "label_names",
     dict(help="class names in label order: negative,positive")),
    (("--val-fraction",), "val_fraction", dict(type=float, help="held-out share")),
    (("--eval-every",), "eval_every",
     dict(type=int, help="steps between validation passes (0 = once per epoch)")),
    (("--bptt",), "bptt", dict(type=int, help="lm: truncated BPTT length")),
    (("--dropout",), "embed_dropout",
     dict(type=float, help="dropout on the input vectors while training")),
    (("--output-dropout",), "output_dropout",
     dict(type=float, help="dropout on the state(s) feeding the output head")),
    (("--lr-schedule",), "lr_schedule",
     dict(choices=LR_SCHEDULES, help="lm: constant, plateau (decay on stalls), exponential")),
    (("--lr-decay",), "lr_decay", dict(type=float, help="lm: the schedule's factor")),
    (("--weight-decay",), "weight_decay", dict(type=float, help="decoupled weight decay")),
    (("--weight-average",), "weight_average",
     dict(type=float, help="evaluate and save a moving average of the weights (e.g. 0.999)")),
    (("--threads",), "blas_threads",
     dict(type=int, help="BLAS threads (default 1; 0 = NumPy's own choice)")),
    (("--batch-threads",), "batch_threads",
     dict(type=int, help="split each batch over N threads (one BLAS thread each)")),
    (("--seed",), "seed", dict(type=int, help="one seed for init, split and batch order")),
)  # fmt: skip


def add_setting_options(parser: argparse.ArgumentParser) -> None:
    """The settings (Config fields) as options, in a group of their own."""
    group = parser.add_argument_group("settings (unset ones keep their defaults)")
    for flags, dest, keywords in SETTING_OPTIONS:
        if "type" in keywords:  # --hidden N, --lr X
            keywords = {"metavar": "N" if keywords["type"] is int else "X", **keywords}
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
