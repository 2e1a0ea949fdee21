"""The classifier's command-line defaults across seeds and corpora (issue 12).

Each run is exactly `python main.py train --data CORPUS --seed S [OPTIONS]`: the
defaults unless options are given after `--`. It prints one line per run (validation
accuracy of the weights the run ends on, the best evaluation, the last one, the two
baselines, seconds) and the median / min / max per corpus. Missing files are skipped.

    python bench/bench_defaults.py /work/extdata/reviews/reviews_all.txt
    python bench/bench_defaults.py sample:sentiment /work/shared/data/sms_spam.tsv
    python bench/bench_defaults.py --seeds 0,1,2 corpus.txt -- --hidden 32 --word-dropout 0.2
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_once(corpus_path: str, seed: int, options: list[str]) -> dict:
    """One `train` run as the CLI does it; returns its JSON report."""
    from rnnviz.cli import StopRequest, build_parser, closing_report, config_from_args, run_training
    from rnnviz.data import load_corpus
    from rnnviz.trainer import Trainer

    args = build_parser().parse_args(
        ["train", "--data", corpus_path, "--seed", str(seed), *options]
    )
    started = time.perf_counter()
    config = config_from_args(args)
    corpus = load_corpus(args.data, format=args.format, label_column=args.label_column)
    trainer = Trainer(corpus, config)
    with contextlib.redirect_stderr(io.StringIO()), StopRequest() as stop:  # no progress bar
        begun = time.perf_counter()
        tokens = run_training(trainer, args, stop)
        report = closing_report(trainer, args, stop, time.perf_counter() - begun, tokens)
    report["wall_seconds"] = time.perf_counter() - started  # loading and baselines included
    return report


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    options = []
    if "--" in argv:
        cut = argv.index("--")
        argv, options = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpora", nargs="+", help="corpus paths or sample:NAME")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"options: {' '.join(options) or '(defaults)'}")
    for path in args.corpora:
        if not path.startswith("sample:") and not os.path.exists(path):
            print(f"{path}: missing, skipped")
            continue
        accuracies = []
        for seed in seeds:
            r = run_once(path, seed, options)
            accuracies.append(r["val_accuracy"])
            print(
                f"{Path(path).name:<22} seed {seed}  val_acc {r['val_accuracy']:.3f}  "
                f"val_loss {r['val_loss']:.3f}  ({r['weights']} weights, best step "
                f"{r['best_step']}; last eval acc {r['last_val_accuracy']:.3f} loss "
                f"{r['last_val_loss']:.3f})  majority {r['baseline_majority']:.3f}  "
                f"bag of words {r['baseline_bag_of_words']:.3f}  steps {r['steps']}  "
                f"{r['wall_seconds']:.1f} s",
                flush=True,
            )
        print(
            f"{Path(path).name:<22} median {statistics.median(accuracies):.3f}  "
            f"min {min(accuracies):.3f}  max {max(accuracies):.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
