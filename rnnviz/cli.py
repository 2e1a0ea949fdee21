"""Headless command line: train, predict, samples (no Qt anywhere on this path)."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
from dataclasses import replace

import numpy as np

from rnnviz import checkpoint, experiment
from rnnviz.config import DEFAULT_WEIGHT_DECAY, LM_DEFAULTS, LM_PRESETS, Config, default_lr
from rnnviz.data import CorpusError, TerminalProgress, load_corpus
from rnnviz.options import add_experiment_options, add_setting_options, given_settings

SUBCOMMANDS = ("train", "predict", "samples", "generate", "dynamics")


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

    dynamics = sub.add_parser(
        "dynamics", help="fixed points, line attractor and readout of a saved classifier"
    )
    dynamics.add_argument("--model", required=True, help="a model saved by train --save")
    dynamics.add_argument("--data", required=True, help="texts whose states to analyse")
    dynamics.add_argument("--format", default="auto", help="auto, tsv, csv or folder")
    dynamics.add_argument("--label-column", default=None, help="label column (index or header)")
    dynamics.add_argument("--token", default=None,
                          help="hold this word as the input (default: zero vector)")  # fmt: skip
    dynamics.add_argument("--starts", type=int, default=256, help="starts of the search")
    dynamics.add_argument("--q-tol", type=float, default=1e-5,
                          help="a point counts when 1/2 |F(h) - h|^2 is below this")  # fmt: skip
    dynamics.add_argument("--max-texts", type=int, default=2000, help="texts used (evenly spread)")
    dynamics.add_argument("--seed", type=int, default=0)
    dynamics.add_argument("--json", action="store_true", help="print one JSON line")
    return parser


def config_from_args(args) -> Config:
    """A Config from the train options; unset options keep the defaults (for --task lm,
    the language model's: `rnnviz.config.LM_DEFAULTS`, char level)."""
    given = given_settings(args)
    task = given.get("task", "classify")
    values = dict(LM_DEFAULTS, **LM_PRESETS[args.preset]) if task == "lm" else {}
    optimizer = given.get("optimizer", "adam")
    if "lr" not in given:  # the optimiser's own default (the language model's for Adam)
        lm_lr = values.get("lr") if optimizer == "adam" else None
        values["lr"] = lm_lr or default_lr(optimizer, given.get("cell", "rnn"))
    if task == "classify":  # the optimiser's own decay (AdamW's; none for SGD)
        values["weight_decay"] = DEFAULT_WEIGHT_DECAY[optimizer]
    return checked_config(lambda: Config(**(values | given)))


def checked_config(build):
    """`build()`, with a Config error naming the option that set the field."""
    try:
        return build()
    except ValueError as exc:  # Config names its field; say which option set it
        field = str(exc).split(" ", 1)[0]
        if field in OPTION_OF_FIELD:
            raise UsageError(f"{OPTION_OF_FIELD[field]}: {exc}") from None
        raise


def experiment_from_args(args) -> experiment.Experiment:
    """The run to do: --experiment's file with the options given beside it on top, or
    the options alone."""
    if args.experiment:
        exp = experiment.load(args.experiment)
        config = checked_config(lambda: exp.config.replace(**given_settings(args)))
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


# Config fields whose option has another name (the rest: --field-name).
OPTION_OF_FIELD = {"hidden_size": "--hidden", "embed_dim": "--embed", "embed_dropout": "--dropout",
                   "blas_threads": "--threads", "mask_padding": "--no-mask"}  # fmt: skip


def cmd_train(args) -> int:
    exp = experiment_from_args(args)
    config = exp.config
    if args.max_seconds is not None and not 0 < args.max_seconds < math.inf:
        raise UsageError(f"--max-seconds must be a positive number; got {args.max_seconds}")
    if exp.steps == 0 and config.epochs == 0 and not args.max_seconds:
        raise UsageError("nothing would stop this run: give --epochs, or an experiment's steps")
    if args.save:  # before training: a bad path must not throw a trained model away
        checkpoint.check_writable(args.save)
    progress = TerminalProgress(f"reading {exp.source}")
    corpus = load_corpus(exp.source, format=exp.format, label_column=exp.label_column,
                         task=config.task, progress=progress)  # fmt: skip
    for warning in corpus.warnings[:5]:
        print(f"warning: {warning}", file=sys.stderr)
    if len(corpus.warnings) > 5:
        print(f"warning: ... and {len(corpus.warnings) - 5} more", file=sys.stderr)
    what = f"{len(corpus.texts):,} texts" if config.task != "lm" else "the text"
    progress.phase(f"building the vocabulary and encoding {what}…")
    if config.task == "lm":
        from rnnviz.lm_trainer import LanguageModelTrainer

        trainer = LanguageModelTrainer(corpus, config, progress=progress.share)
    else:
        from rnnviz.trainer import Trainer

        trainer = Trainer(corpus, config, progress=progress.share)
        cut = truncation_note(trainer)
        if cut:
            print(f"note: {cut}", file=sys.stderr)
    with StopRequest() as stop:
        started = time.perf_counter()
        tokens = run_training(trainer, args, stop, exp)
        elapsed = time.perf_counter() - started
        if args.save:  # first: a second Ctrl-C during the report must not lose it
            trainer.save(args.save)
        report = closing_report(trainer, args, stop, elapsed, tokens)
    if args.save:
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


class StepAbandoned(Exception):
    """--max-seconds passed in the middle of a step (before its update): it is dropped."""


class StopRequest:
    """Ctrl-C while training: the first asks the loop to stop after the current step
    (then what was asked is saved and reported); a second one quits at once. With a
    deadline (--max-seconds), a step still running when it passes is abandoned, unless
    it is updating the weights (a single step of a huge model must not overrun it)."""

    def __init__(self) -> None:
        self.requested = False
        self.time_up = False
        self.stepping = False  # inside trainer.step(): only there may the deadline cut in
        self.interrupted_training = False  # Ctrl-C ended the training loop
        self.trainer = None  # whose `updating` flag defers the deadline
        self._previous = None
        self._main = threading.current_thread() is threading.main_thread()

    def __enter__(self) -> StopRequest:
        if self._main:
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc) -> None:
        self.clear_deadline()
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def set_deadline(self, seconds: float, trainer) -> None:
        if self._main and hasattr(signal, "setitimer"):
            self.trainer = trainer
            signal.signal(signal.SIGALRM, self._on_alarm)
            signal.setitimer(signal.ITIMER_REAL, seconds)

    def clear_deadline(self) -> None:
        if self.trainer is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            self.trainer = None

    def _on_alarm(self, signum, frame) -> None:
        self.time_up = True
        if self.stepping and self.trainer is not None and not self.trainer.updating:
            raise StepAbandoned

    def _on_sigint(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True  # (said by the loop: printing here could re-enter a write)


def run_training(trainer, args, stop: StopRequest, exp: experiment.Experiment | None = None) -> int:
    """Step until the trainer finishes, the experiment's steps are done, --max-seconds
    pass or Ctrl-C, with a progress bar; the experiment's live changes are applied at
    their steps. Returns the number of tokens trained on."""
    from tqdm import tqdm

    config = trainer.config
    steps = exp.steps if exp is not None else 0
    total = steps or (config.epochs * trainer.steps_per_epoch if config.epochs else None)
    started = time.perf_counter()
    tokens = 0
    dropped = False
    bar = tqdm(total=total, unit="step", file=sys.stderr, disable=None, dynamic_ncols=True)
    if args.max_seconds and config.batch_threads == 1:  # (split batches: threads still
        stop.set_deadline(args.max_seconds, trainer)  # running would outlive a cut step)
    try:
        while not trainer.finished and not stop.requested and not stop.time_up:
            if steps and trainer.step_count >= steps:
                break
            for changes in exp.changes_due(trainer.step_count) if exp is not None else ():
                trainer.update(**changes)
            if trainer.finished:  # e.g. a change lowered the epoch budget
                break
            stop.stepping = True
            snap = trainer.step()
            stop.stepping = False
            tokens += snap.tokens
            bar.update(1)
            if snap.val_loss is not None or snap.step % 20 == 0:
                postfix = {"epoch": snap.epoch, "loss": f"{snap.loss:.4f}"}
                if trainer.last_val:
                    postfix["val_loss"] = f"{trainer.last_val[0]:.4f}"
                    postfix["val_acc"] = f"{trainer.last_val[1]:.3f}"
                bar.set_postfix(postfix, refresh=False)
            if args.max_seconds and time.perf_counter() - started > args.max_seconds:
                stop.time_up = True
    except StepAbandoned:
        stop.stepping, dropped = False, True
    finally:
        stop.clear_deadline()
        stop.interrupted_training = stop.requested
        bar.close()
    if dropped:
        print(f"time limit: the step in progress (step {trainer.step_count + 1}) was dropped",
              file=sys.stderr)  # fmt: skip
    if stop.interrupted_training:
        print(f"interrupted: training stopped after step {trainer.step_count} "
              "(Ctrl-C again to quit at once)", file=sys.stderr)  # fmt: skip
    if trainer.diverged:  # NaN, or a finite loss that exploded: nothing worth keeping
        raise UsageError(trainer.stop_reason)
    if config.keep_best and not trainer.holds_best:  # stopped early (time, Ctrl-C)
        trainer.restore_best()
    return tokens


REPORT_SHARE = 0.05  # of --max-seconds, the least time the closing report may take
INTERRUPTED_REPORT_SECONDS = 2.0


def closing_report(trainer, args, stop: StopRequest, elapsed: float, tokens: int) -> dict:
    """The trainer's report; when time is short (--max-seconds, or Ctrl-C) it evaluates
    on samples sized to fit (the JSON's "report_sample" says so)."""
    budget = None
    if args.max_seconds:
        budget = max(args.max_seconds - elapsed, REPORT_SHARE * args.max_seconds, 0.5)
    if stop.requested:
        budget = min(budget or INTERRUPTED_REPORT_SECONDS, INTERRUPTED_REPORT_SECONDS)
    started = time.perf_counter()
    report = trainer.report(max_seconds=budget, seconds=elapsed,
                            tokens_per_second=tokens / max(trainer.seconds, 1e-9))  # fmt: skip
    if stop.interrupted_training:
        report["stop_reason"] = "interrupted"
    elif stop.time_up and not trainer.finished:
        report["stop_reason"] = "time limit"
    report["report_seconds"] = time.perf_counter() - started
    return report


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


MAX_GENERATE = 1_000_000  # tokens


def check_generate_args(args) -> None:
    """One line for sampling settings that cannot be meant (before the model loads)."""
    if not 0 <= args.temperature < math.inf:
        raise UsageError(
            f"--temperature must be a number from 0 (greedy) up; got {args.temperature}"
        )
    if args.top_k is not None and args.top_k < 1:
        raise UsageError(f"--top-k must be at least 1 (or left out: all tokens); got {args.top_k}")
    if not 0 <= args.length <= MAX_GENERATE:
        raise UsageError(f"--length must be from 0 to {MAX_GENERATE:,}; got {args.length}")


def cmd_generate(args) -> int:
    check_generate_args(args)
    ck = checkpoint.load(args.model)
    if ck.config.task != "lm":
        raise UsageError(f"{args.model} is a classifier: use 'predict'")
    from rnnviz.language_model import generate

    text = generate(ck.model, ck.tokenizer, args.prime, args.length,
                    temperature=args.temperature, top_k=args.top_k, seed=args.seed)  # fmt: skip
    print(text)
    return 0


def cmd_dynamics(args) -> int:
    from rnnviz import blas
    from rnnviz.dynamics import analyse_model

    if args.starts < 1 or args.max_texts < 1 or not args.q_tol > 0:
        raise UsageError("--starts and --max-texts must be at least 1, --q-tol positive")
    ck = checkpoint.load(args.model)
    if ck.config.task != "classify":
        raise UsageError(f"{args.model} is a language model: dynamics reads a classifier")
    token_id = None
    if args.token is not None:
        token_id = ck.tokenizer.vocab.get(args.token.lower())
        if token_id is None:
            raise UsageError(f"--token {args.token!r} is not in the model's vocabulary")
    corpus = load_corpus(args.data, format=args.format, label_column=args.label_column)
    rows = np.unique(np.linspace(0, len(corpus) - 1, min(args.max_texts, len(corpus))).astype(int))
    texts = [corpus.texts[i] for i in rows]
    maxlen = int(ck.meta.get("maxlen") or ck.config.maxlen or 100)
    ids = ck.tokenizer.padding(ck.tokenizer.encode(texts), maxlen, truncating="pre")
    started = time.perf_counter()
    with blas.threads(1):  # many small matmuls: one thread is fastest (rnnviz/blas.py)
        space = analyse_model(ck.model, ids, token_id, args.starts, args.seed, q_tol=args.q_tol)
    report = space.summary() | {
        "visited_states": len(space.visited_states),
        "texts": len(texts),
        "input": args.token or "[zero vector]",
        "q_tol": args.q_tol,
        "stable_points": int((space.fixed.spectral_radius < 1).sum()),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            if isinstance(value, float):
                value = f"{value:.4g}"
            elif isinstance(value, list):
                value = ", ".join(f"{v:.4g}" for v in value)
            print(f"{key:<22} {value}")
    return 0


COMMANDS = {"train": cmd_train, "predict": cmd_predict, "samples": cmd_samples,
            "generate": cmd_generate, "dynamics": cmd_dynamics}  # fmt: skip


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
    except MemoryError:
        print("error: out of memory: choose smaller sizes (--hidden, --maxlen, --batch-size)",
              file=sys.stderr)  # fmt: skip
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    return 2
