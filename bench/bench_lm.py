"""Language-model benchmark on tinyshakespeare (char level, the lm defaults).

1. Validation loss (nats/char on the last 10% of the text) against wall-clock training
   time, at 10 s, 30 s, 1, 2, 5 and 10 minutes. The clock runs while the trainer
   trains (its own validation passes, which drive the lr schedule, included); the
   benchmark's extra evaluations at the checkpoints are not counted.
2. Training throughput (tokens/s) of the same model side by side with PyTorch CPU
   (nn.Embedding + nn.RNN + nn.Linear, Adam, global-norm clipping), interleaved rounds.

    python bench/bench_lm.py                  # 10 minutes + throughput
    python bench/bench_lm.py --seconds 60     # the 1-minute target only
    python bench/bench_lm.py --seconds 0      # throughput only
    python bench/bench_lm.py --threads 2      # both cores (the figures in bench/README)
    python bench/bench_lm.py --preset fast    # H=256

BLAS threads default to 1 (set before NumPy loads): on a 2-core machine shared with
other jobs, OpenBLAS's second thread spin-waits and makes the small per-step matmuls
several times slower. On an idle machine give it both cores, `--threads 2` (the
trainer's validation streams then run on two threads as well). PyTorch gets the same
number of threads.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
MARKS = (10, 30, 60, 120, 300, 600)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--seconds", type=float, default=600, help="training budget (0: skip)")
    p.add_argument("--threads", type=int, default=1, help="BLAS / torch threads")
    p.add_argument("--rounds", type=int, default=5, help="throughput rounds (0: skip)")
    p.add_argument("--preset", default="default", help="default (H=512) or fast (H=256)")
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="override lm defaults, e.g. --set hidden_size=384 lr=0.003")  # fmt: skip
    return p.parse_args(argv)


def overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        for cast in (int, float, str):
            try:
                out[key] = cast(value)
                break
            except ValueError:
                continue
    return out


def train_curve(trainer, seconds: float) -> list[dict]:
    """Train for `seconds` of wall-clock; evaluate at each mark (clock paused)."""
    marks = [m for m in MARKS if m <= seconds] or [seconds]
    if seconds > marks[-1]:
        marks.append(seconds)
    rows, clock, started = [], 0.0, time.perf_counter()
    losses = []
    for mark in marks:
        while clock < mark:
            snap = trainer.step()
            losses.append(snap.loss)
            clock = time.perf_counter() - started
        paused = time.perf_counter()
        val_loss, val_acc = trainer.evaluate()
        recent = sum(losses[-100:]) / max(len(losses[-100:]), 1)
        row = dict(t=clock, step=trainer.step_count, epoch=trainer.epoch, train=recent,
                   val=val_loss, bpc=val_loss / math.log(2), acc=val_acc, lr=snap.lr)  # fmt: skip
        rows.append(row)
        print(f"{clock:7.1f} s  step {row['step']:6d}  epoch {row['epoch']:3d}  train {recent:.3f}"
              f"  val {val_loss:.4f} nats/char ({row['bpc']:.3f} bpc)  acc {val_acc:.3f}"
              f"  lr {snap.lr:.2g}  load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
        started += time.perf_counter() - paused
    return rows


def throughput(trainer, rounds: int, threads: int) -> None:
    """tokens/s of training steps, NumPy vs PyTorch, same model and optimiser."""
    import numpy as np

    from rnnviz.language_model import RNNLanguageModel
    from rnnviz.optim import make_optimizer

    cfg = trainer.config
    V, D, H = trainer.model.sizes
    B, T = cfg.batch_size, cfg.bptt
    model = RNNLanguageModel(V, D, H, dtype=np.float32, seed=1)
    opt = make_optimizer(cfg)
    rng = np.random.default_rng(0)
    starts = rng.integers(0, len(trainer.train_ids) - T - 1, size=B)
    x = np.stack([trainer.train_ids[s : s + T] for s in starts])
    y = np.stack([trainer.train_ids[s + 1 : s + T + 1] for s in starts])
    h = np.zeros((B, H), np.float32)

    def numpy_step():
        nonlocal h
        _, grads = model.loss_and_grads(x, y, h0=h)
        h = model.last_state
        opt.step(model.params, grads)

    torch_step = None
    try:
        import torch

        torch.set_num_threads(threads)
        emb = torch.nn.Embedding(V, D, padding_idx=0)
        rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True)
        lin = torch.nn.Linear(H, V)
        params = [*emb.parameters(), *rnn.parameters(), *lin.parameters()]
        t_opt = torch.optim.Adam(params, lr=cfg.lr)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        th = torch.zeros(1, B, H)

        def torch_step():
            nonlocal th
            out, th = rnn(emb(tx), th.detach())
            loss = torch.nn.functional.cross_entropy(
                lin(out).reshape(-1, V), ty.reshape(-1), ignore_index=0
            )
            t_opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.clip_value)
            t_opt.step()

        print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    except ImportError:
        print("PyTorch not installed: NumPy throughput only")

    steps = max(3, int(2.0 / max(_time(numpy_step, 2), 1e-6)))  # ~2 s per round
    results: dict[str, list[float]] = {"numpy": [], "torch": []}
    for _ in range(rounds):
        results["numpy"].append(B * T * steps / _time(numpy_step, steps))
        if torch_step is not None:
            results["torch"].append(B * T * steps / _time(torch_step, steps))
    print(f"throughput, B={B} T={T} V={V} D={D} H={H}, {rounds} interleaved rounds "
          f"of {steps} steps (median tokens/s):")  # fmt: skip
    np_rate = float(np.median(results["numpy"]))
    print(f"  numpy  {np_rate:10.0f}")
    if results["torch"]:
        t_rate = float(np.median(results["torch"]))
        print(f"  torch  {t_rate:10.0f}   numpy/torch = {np_rate / t_rate:.2f}x")


def _time(fn, n: int) -> float:
    fn()  # warm-up
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - t


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    data = Path(args.data)
    if not data.is_file():
        print(f"skipped: {data} not found (the char-rnn tinyshakespeare corpus)")
        return 0
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from rnnviz.corpus import Corpus
    from rnnviz.language_model import generate
    from rnnviz.lm_trainer import LanguageModelTrainer, lm_defaults

    text = data.read_text(encoding="utf-8")
    config = lm_defaults(args.preset, epochs=0, blas_threads=args.threads, **overrides(args.set))
    corpus = Corpus([text], np.zeros(0, np.int64), [], str(data))
    trainer = LanguageModelTrainer(corpus, config)
    print(f"{data.name}: {len(trainer.train_ids)} train + {len(trainer.val_ids)} val chars, "
          f"V={trainer.tokenizer.vocab_size}; {os.cpu_count()} cores, load "
          f"{'/'.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    shown = ("hidden_size", "embed_dim", "batch_size", "bptt", "lr", "lr_schedule", "lr_decay",
             "eval_every", "embed_dropout", "output_dropout", "weight_decay", "weight_average",
             "blas_threads")  # fmt: skip
    print("config: " + ", ".join(f"{k}={getattr(config, k)}" for k in shown))
    if args.seconds > 0:
        train_curve(trainer, args.seconds)
        with trainer.averaged_weights():  # the weights evaluated, and a saved model's
            sample = generate(trainer.model, trainer.tokenizer, "ROMEO:", 200, seed=0)
        print("sample:", sample)
    if args.rounds > 0:
        throughput(trainer, args.rounds, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
