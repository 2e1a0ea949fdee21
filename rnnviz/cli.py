"""Headless command line: train, predict, samples (no Qt anywhere on this path)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

import numpy as np

from rnnviz import checkpoint, experiment
from rnnviz.config import DEFAULT_LR, Config
from rnnviz.data import CorpusError, load_corpus
from rnnviz.lm_trainer import LM_DEFAULTS, LM_PRESETS
from rnnviz.options import add_experiment_options, add_setting_options, given_settings

SUBCOMMANDS = ("train", "predict", "samples", "generate")


class UsageError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnviz",
        description=(
            "Watch a from-scratch NumPy RNN learn. With no subcommand the desktop app opens "
            "(its options: python main.py --help)."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser("train", help="train a model headless and report its metrics")
    add_experiment_options(train)
    train.add_argument("--preset", choices=tuple(LM_PRESETS), default="default",
                       help="lm defaults: default (H=512) or fast (H=256)")  # fmt: skip
    add_setting_options(train)
    train.add_argument("--save", default=None, help="write the trained model here (.npz)")
    train.add_argument("--save-experiment", metavar="TOML", default=None,
                       help="write the run as an experiment file")  # fmt: skip
    train.add_argument("--json", action="store_true", help="print one final JSON line")
    train.add_argument("--max-seconds", type=float, default=None, help="stop after this long")

    predict = sub.add_parser("predict", help="classify texts with a saved model")
    predict.add_argument("--model", required=True, help="a model saved by train --save")
    predict.add_argument("texts", nargs="*", help="texts to classify (default: stdin lines)")
    predict.add_argument("--json", action="store_true", help="one JSON object per text")

    sub.add_parser("samples", help="list the built-in sample corpora")

    generate = sub.add_parser("generate", help="sample text from a saved language model")
    generate.add_argument("--model", required=True)
    generate.add_argument("--prime", default="")
    generate.add_argument("--length", type=int, default=300)
    generate.add_argument("--temperature", type=float, default=0.8)
    generate.add_argument("--top-k", type=int, default=None)
    generate.add_argument("--seed", type=int, default=None)
    return parser


def config_from_args(args) -> Config:
    """A Config from the train options; unset options keep the defaults (for --task lm,
    the language model's: `rnnviz.lm_trainer.LM_DEFAULTS`, char level)."""
    given = given_settings(args)
    task = given.get("task", "classify")
    values = dict(LM_DEFAULTS, **LM_PRESETS[args.preset]) if task == "lm" else {}
    optimizer = given.get("optimizer", "adam")
    if "lr" not in given:  # the optimiser's own default (the language model's for Adam)
        lm_lr = values.get("lr") if optimizer == "adam" else None
        values["lr"] = lm_lr or DEFAULT_LR[optimizer]
    return Config(**(values | given))


def experiment_from_args(args) -> experiment.Experiment:
    """The run to do: --experiment's file with the options given beside it on top, or
    the options alone."""
    if args.experiment:
        exp = experiment.load(args.experiment)
        config = exp.config.replace(**given_settings(args))
        return replace(
            exp, config=config, source=args.data or exp.source,
            format=args.format or exp.format, label_column=args.label_column or exp.label_column,
        )  # fmt: skip
    return experiment.Experiment(
        source=args.data or "sample:sentiment",
        config=config_from_args(args),
        format=args.format or "auto",
        label_column=args.label_column,
    )


def cmd_train(args) -> int:
    exp = experiment_from_args(args)
    config = exp.config
    if exp.steps == 0 and config.epochs == 0 and not args.max_seconds:
        raise UsageError("nothing would stop this run: give --epochs, or an experiment's steps")
    corpus = load_corpus(exp.source, format=exp.format, label_column=exp.label_column,
                         task=config.task)  # fmt: skip
    for warning in corpus.warnings[:5]:
        print(f"warning: {warning}", file=sys.stderr)
    if len(corpus.warnings) > 5:
        print(f"warning: ... and {len(corpus.warnings) - 5} more", file=sys.stderr)
    if config.task == "lm":
        from rnnviz.language_model import LanguageModelTrainer

        trainer = LanguageModelTrainer(corpus, config)
    else:
        from rnnviz.trainer import Trainer

        trainer = Trainer(corpus, config)
        cut = truncation_note(trainer)
        if cut:
            print(f"note: {cut}", file=sys.stderr)
    report = run_training(trainer, args, exp)
    if args.save:
        trainer.save(args.save)
        report["saved"] = args.save
    if args.save_experiment:
        done = [c for c in exp.changes if c.step < trainer.step_count]
        experiment.save(replace(exp, steps=trainer.step_count, changes=tuple(done)),
                        args.save_experiment)  # fmt: skip
        report["saved_experiment"] = args.save_experiment
    if args.json:
        print(json.dumps(report))
    else:
        summary = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in report.items())  # fmt: skip
        print(summary)
    return 0


def truncation_note(trainer) -> str:
    """One line when max length drops tokens of the texts ('' when none are cut)."""
    texts, tokens = trainer.truncated_texts, trainer.truncated_tokens
    if not texts:
        return ""
    return (
        f"max length {trainer.maxlen} cuts {texts:,} texts, dropping {tokens:,} tokens "
        "from their start (raise --maxlen to keep them)"
    )


def run_training(trainer, args, exp: experiment.Experiment | None = None) -> dict:
    """Step until the trainer finishes, the experiment's steps are done, or
    --max-seconds; the experiment's live changes are applied at their steps."""
    from tqdm import tqdm

    config = trainer.config
    steps = exp.steps if exp is not None else 0
    total = steps or (config.epochs * trainer.steps_per_epoch if config.epochs else None)
    started = time.perf_counter()
    tokens = 0
    snap = None
    bar = tqdm(total=total, unit="step", file=sys.stderr, disable=None, dynamic_ncols=True)
    try:
        while not trainer.finished and not (steps and trainer.step_count >= steps):
            if exp is not None:
                for changes in exp.changes_due(trainer.step_count):
                    trainer.update(**changes)
                if trainer.finished:  # e.g. a change lowered the epoch budget
                    break
            snap = trainer.step()
            tokens += snap.tokens
            bar.update(1)
            if snap.val_loss is not None or snap.step % 20 == 0:
                postfix = {"epoch": snap.epoch, "loss": f"{snap.loss:.4f}"}
                if trainer.last_val:
                    postfix["val_loss"] = f"{trainer.last_val[0]:.4f}"
                    postfix["val_acc"] = f"{trainer.last_val[1]:.3f}"
                bar.set_postfix(postfix, refresh=False)
            if args.max_seconds and time.perf_counter() - started > args.max_seconds:
                break
    except KeyboardInterrupt:
        print("interrupted: reporting the model as it is", file=sys.stderr)
    finally:
        bar.close()
    if snap is not None and not np.isfinite(snap.loss):
        raise UsageError(trainer.stop_reason)
    return trainer.report(
        seconds=time.perf_counter() - started,
        tokens_per_second=tokens / max(trainer.seconds, 1e-9),
    )


def cmd_predict(args) -> int:
    ck = checkpoint.load(args.model)
    if ck.config.task != "classify":
        raise UsageError(f"{args.model} is a language model: use 'generate'")
    texts = args.texts or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise UsageError("no text to classify: pass texts as arguments or on stdin")
    maxlen = int(ck.meta.get("maxlen") or ck.config.maxlen or 100)
    ids = ck.tokenizer.padding(ck.tokenizer.encode(texts), maxlen, truncating="pre")
    proba = ck.model.predict_proba(ids)
    for text, p in zip(texts, proba, strict=True):
        label = ck.label_names[int(p.argmax())]
        scores = {name: round(float(v), 4) for name, v in zip(ck.label_names, p, strict=True)}
        if args.json:
            print(json.dumps({"text": text, "label": label, "probabilities": scores}))
        else:
            shown = "  ".join(f"{name}={v:.3f}" for name, v in scores.items())
            print(f"{label}\t{shown}\t{text}")
    return 0


def cmd_samples(args) -> int:
    from rnnviz.data import list_samples

    for name, description in list_samples():
        print(f"sample:{name:<14} {description}")
    return 0


def cmd_generate(args) -> int:
    ck = checkpoint.load(args.model)
    if ck.config.task != "lm":
        raise UsageError(f"{args.model} is a classifier: use 'predict'")
    from rnnviz.language_model import generate

    text = generate(ck.model, ck.tokenizer, args.prime, args.length,
                    temperature=args.temperature, top_k=args.top_k, seed=args.seed)  # fmt: skip
    print(text)
    return 0


COMMANDS = {"train": cmd_train, "predict": cmd_predict, "samples": cmd_samples,
            "generate": cmd_generate}  # fmt: skip


def main(argv: list[str]) -> int:
    """Run a subcommand; user errors print one line to stderr and return 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except (CorpusError, checkpoint.CheckpointError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except ValueError as exc:  # invalid settings (Config validation, shapes)
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:  # e.g. --save into a folder that does not exist
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
    except BrokenPipeError:
        return 0
    return 2
