"""Training-step throughput of the NumPy core, side by side with PyTorch CPU.

    python bench/bench_train.py [--seconds 3] [--sizes small,large,interactive] [--cell gru]
    python bench/bench_train.py --cell lstm --profile small   # where the step's time goes

For each size it times full training steps (forward, BPTT, Adam update with global
norm clipping) of rnnviz's RNNClassifier and of the same model in PyTorch (nn.Embedding
+ nn.RNN, nn.GRU or nn.LSTM (--cell) + nn.Linear + cross-entropy + Adam +
clip_grad_norm_), in this same run, and
prints both and their ratio: absolute times on a shared machine are noisy, ratios much
less so. It also measures the machine's float32 matmul rate and how much of it the
core's step reaches: the matmul FLOPs of the standard step (what PyTorch computes) per
second. Where a batch repeats tokens the core may compute fewer (the RNN's input as
distinct tokens, rnnviz.layers.Embedding.distinct); a note under the table then says
how many it did.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnviz import Adam, RNNClassifier, blas, memory
from rnnviz.cells import CELLS, GATES
from rnnviz.parallel import BatchSplit

SIZES = {  # V, D, H, B, T
    "small": (5000, 64, 128, 64, 32),
    "large": (5000, 128, 256, 128, 64),
    "interactive": (50, 16, 32, 1, 20),
}
NUM_CLASSES = 2
SETTLE_SECONDS = 0.25  # > OpenBLAS's default spin of 2^28 cycles (~0.1 s) before it sleeps


def block_size(step, target: float = 0.05) -> int:
    """Calls per timing block, so that a block lasts about `target` seconds."""
    for _ in range(3):  # warm up: first calls allocate and fill caches
        step()
    n = 1
    while n < 1 << 16:
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        if time.perf_counter() - t0 > target:
            break
        n *= 2
    return n


def timed(steps: list, seconds: float, min_blocks: int = 5, settle: float = 0.0) -> list[float]:
    """Seconds per call of each step function, timed in interleaved blocks.

    Blocks of the candidates alternate (A, B, A, B, ...), so a load spike from the other
    core hits both alike; each gets the median of its blocks. `settle` seconds of sleep
    before each block (not timed) let the previous block's idle worker threads stop
    spinning: OpenBLAS's spin for ~0.1 s after their last call and would take a core
    from the next candidate's threads.
    """
    sizes = [block_size(step) for step in steps]
    blocks: list[list[float]] = [[] for _ in steps]
    deadline = time.perf_counter() + seconds * len(steps)
    while time.perf_counter() < deadline or len(blocks[0]) < min_blocks:
        for step, n, record in zip(steps, sizes, blocks, strict=True):
            if settle:
                time.sleep(settle)
                deadline += settle
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            record.append((time.perf_counter() - t0) / n)
    return [float(np.median(record)) for record in blocks]


def step_flops(V, D, H, B, T, C=NUM_CLASSES, input_rows=None, gates=1) -> float:
    """Matmul FLOPs of one training step (forward + backward) of a cell with `gates` gate
    blocks. The input projection, its weight gradient and the input gradient are over
    `input_rows` rows (default B*T)."""
    rows = B * T if input_rows is None else input_rows
    G = gates
    recurrent = 2 * B * T * H * G * H * 3  # h W_h, dh W_h^T, dW_h
    head = 2 * B * H * C * 3
    return float(recurrent + 2 * rows * D * G * H * 3 + head)


def matmul_rate(seconds: float) -> float:
    """The machine's float32 matmul rate (FLOP/s) on a large square product."""
    n = 1024
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.copy()
    out = np.empty_like(a)
    (t,) = timed([lambda: np.dot(a, b, out=out)], seconds)
    return 2 * n**3 / t


def numpy_step(V, D, H, B, T, seed=0, batch_threads=1, cell="rnn"):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, V, size=(B, T))
    labels = rng.integers(0, NUM_CLASSES, size=B)
    model = RNNClassifier(V, D, H, NUM_CLASSES, dtype=np.float32, seed=seed, cell=cell)
    opt = Adam(lr=1e-3, clip_norm=5.0)
    run = BatchSplit(model, batch_threads) if batch_threads > 1 else model

    def step():
        _, grads = run.loss_and_grads(ids, labels)
        opt.step(model.params, grads)

    step.model = model  # for the note on the input path
    return step


def input_note(name, step, sizes) -> str | None:
    """How the core ran the input (after a step): distinct tokens or every position."""
    tokens = step.model.embedding.tokens
    if tokens is None:
        return None
    positions = sizes[3] * sizes[4]  # B * T
    gates = step.model.rnn.gates
    done = step_flops(*sizes, input_rows=len(tokens.ids), gates=gates) / step_flops(
        *sizes, gates=gates
    )
    return (f"  {name}: input as {len(tokens.ids):,} distinct tokens of {positions:,} "
            f"positions (rnnviz.layers.Embedding.distinct): {done:.0%} of the counted "
            "FLOPs done")  # fmt: skip


def torch_step(V, D, H, B, T, seed=0, cell="rnn"):
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    ids = torch.from_numpy(rng.integers(1, V, size=(B, T)))
    labels = torch.from_numpy(rng.integers(0, NUM_CLASSES, size=B))
    emb = torch.nn.Embedding(V, D, padding_idx=0)
    if cell == "rnn":
        rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True)
    else:
        rnn = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](D, H, batch_first=True)
    lin = torch.nn.Linear(H, NUM_CLASSES)
    params = [*emb.parameters(), *rnn.parameters(), *lin.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        out, _ = rnn(emb(ids))
        loss = torch.nn.functional.cross_entropy(lin(out[:, -1]), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()

    return step


def profile(V, D, H, B, T, cell: str, seconds: float) -> list[tuple[str, float]]:
    """CPU seconds of each part of the NumPy step (median over steps), and of the matmuls
    the cell does, each timed alone at the same shapes: what BLAS alone needs. CPU time
    (time.process_time), not wall time: on a shared machine it leaves out the waits."""
    from rnnviz.losses import softmax_cross_entropy

    step = numpy_step(V, D, H, B, T, cell=cell)
    model, G = step.model, GATES[cell]
    opt = Adam(lr=1e-3, clip_norm=5.0)
    rng = np.random.default_rng(0)
    ids, labels = rng.integers(1, V, size=(B, T)), rng.integers(0, NUM_CLASSES, size=B)
    parts: dict[str, list[float]] = {}
    clock = time.process_time
    deadline = clock() + seconds
    while clock() < deadline or len(parts.get("optimiser", ())) < 20:
        marks = [clock()]
        ids_tm, x, tokens = model._inputs(ids)
        marks.append(clock())
        hs = model.rnn.forward(x, ids_tm != 0, tokens=tokens)
        marks.append(clock())
        _, dz, _ = softmax_cross_entropy(model.dense.forward(hs[-1]), labels)
        dh = model.dense.backward(dz.astype(hs.dtype))
        marks.append(clock())
        d_input, _ = model.rnn.backward(dh_last=dh)
        marks.append(clock())
        model.embedding.backward(d_input)
        marks.append(clock())
        opt.step(model.params, model.grads)
        marks.append(clock())
        names = ("embedding", "cell forward", "head and loss", "cell backward",
                 "embedding backward", "optimiser")  # fmt: skip
        for name, t0, t1 in zip(names, marks, marks[1:], strict=False):
            parts.setdefault(name, []).append(t1 - t0)
    f32 = np.float32
    a, b = np.ones((B, H), f32), np.ones((H, G * H), f32)
    wide, tall = np.ones((B * T, G * H), f32), np.ones((B * T, D), f32)
    products = {  # the cell's matmuls, as PyTorch does them too
        "matmul: h W_h, every step": lambda: [np.dot(a, b) for _ in range(T)],
        "matmul: da W_h^T, every step": lambda: [np.dot(wide[:B], b.T) for _ in range(T)],
        "matmul: x W": lambda: np.dot(tall, b[:D] if D <= H else np.ones((D, G * H), f32)),
        "matmul: dW = x^T da": lambda: np.dot(tall.T, wide),
        "matmul: dW_h = h^T da": lambda: np.dot(np.ones((B * T, H), f32).T, wide),
        "matmul: dx = da W^T": lambda: np.dot(wide, np.ones((G * H, D), f32)),
    }
    rows = [(name, float(np.median(times))) for name, times in parts.items()]
    for name, product in products.items():
        rows.append((name, cpu_seconds(product, seconds / 10)))
    return rows


def cpu_seconds(step, seconds: float) -> float:
    """CPU seconds per call of step (median of blocks of calls)."""
    n, blocks = block_size(step, 0.01), []
    deadline = time.process_time() + seconds
    while time.process_time() < deadline or len(blocks) < 5:
        t0 = time.process_time()
        for _ in range(n):
            step()
        blocks.append((time.process_time() - t0) / n)
    return float(np.median(blocks))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per measurement")
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS threads for NumPy and torch alike"
    )
    parser.add_argument(
        "--split", action="store_true",
        help="NumPy: split each batch over the threads (rnnviz.parallel), one BLAS thread each",
    )  # fmt: skip
    parser.add_argument("--cell", choices=CELLS, default="rnn", help="recurrent cell")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--profile", choices=SIZES, help="time the parts of the NumPy step at this size instead"
    )
    args = parser.parse_args()
    blas.set_threads(args.threads)
    memory.keep_freed_memory()  # as the trainers do; it serves PyTorch's allocations too
    try:
        import torch

        torch_version = torch.__version__
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
        torch_version = None
    if args.profile:
        rows = profile(*SIZES[args.profile], args.cell, args.seconds)
        step_total = sum(took for name, took in rows if not name.startswith("matmul"))
        matmuls = sum(took for name, took in rows if name.startswith("matmul"))
        print(f"cell {args.cell}, size {args.profile} {SIZES[args.profile]}, load "
              f"{os.getloadavg()[0]:.2f}: median CPU times of the step's parts")  # fmt: skip
        for name, took in rows:
            print(f"  {name:32s} {took * 1e3:8.3f} ms")
        print(f"  {'step (sum of the parts)':32s} {step_total * 1e3:8.3f} ms; the cell's "
              f"matmuls alone {matmuls * 1e3:.3f} ms")  # fmt: skip
        if torch:
            theirs = cpu_seconds(torch_step(*SIZES[args.profile], cell=args.cell), args.seconds)
            print(f"  {'PyTorch step (for comparison)':32s} {theirs * 1e3:8.3f} ms")
        return 0
    rate = matmul_rate(args.seconds)  # the machine's rate: BLAS on all the threads
    # With several threads, let each library's idle threads park between blocks.
    settle = SETTLE_SECONDS if args.threads > 1 else 0.0
    batch_threads = args.threads if args.split else 1
    mode = f"batch split in {batch_threads}" if args.split else "BLAS"
    load = os.getloadavg()[0]
    print(f"numpy {np.__version__}, torch {torch_version or 'not installed'}, cell "
          f"{args.cell}, threads {blas.get_threads()} ({mode}), load {load:.2f}")  # fmt: skip
    if args.split:
        blas.set_threads(1)
    print(f"float32 matmul rate (1024^3): {rate / 1e9:.1f} GFLOP/s")
    print(f"{'size':12s} {'V,D,H,B,T':>22s} {'numpy step':>12s} {'torch step':>12s} "
          f"{'speed-up':>9s} {'of matmul rate':>15s}")  # fmt: skip
    results, notes = [], []
    for name in args.sizes.split(","):
        sizes = SIZES[name]
        mine = numpy_step(*sizes, batch_threads=batch_threads, cell=args.cell)
        if torch:
            theirs_step = torch_step(*sizes, cell=args.cell)
            ours, theirs = timed([mine, theirs_step], args.seconds, settle=settle)
        else:
            (ours,), theirs = timed([mine], args.seconds), float("nan")
        efficiency = step_flops(*sizes, gates=GATES[args.cell]) / ours / rate
        results.append(
            dict(size=name, cell=args.cell, sizes=sizes, numpy_seconds=ours, torch_seconds=theirs,
                 speedup=theirs / ours, matmul_efficiency=efficiency)
        )  # fmt: skip
        print(f"{name:12s} {sizes!s:>22s} {ours * 1e6:10.0f}us {theirs * 1e6:10.0f}us "
              f"{theirs / ours:8.2f}x {efficiency:14.0%}")  # fmt: skip
        if batch_threads == 1 and (note := input_note(name, mine, sizes)):
            notes.append(note)
    for note in notes:
        print(note)
    if args.json:
        print(json.dumps({"matmul_gflops": rate / 1e9, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
