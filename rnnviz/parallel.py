"""Data parallelism over the batch: one training step's rows split across threads.

A recurrence is a chain of small matmuls, one per time step, and OpenBLAS splits a
small matmul over two cores poorly (each call waits for its helper thread). Splitting
the *batch* instead gives each core a whole independent recurrence: thread k runs
rows k of the batch through a replica of the model (same parameter arrays, its own
gradient buffer and layer caches) with one BLAS thread. NumPy releases the GIL inside
matmuls and ufuncs on arrays this size, so the threads really run side by side; the
gradients are then averaged with each part's share of the batch as its weight.

The result equals the one-thread step up to float rounding (the sums run in another
order); it is deterministic for a given number of threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial
from itertools import pairwise

import numpy as np

PARALLEL_MIN_SIZE = 1 << 16  # element-wise work below this is faster on one thread


def even_slices(size: int, count: int) -> list[slice]:
    """`count` contiguous slices covering range(size), as equal as can be."""
    return [slice(a, b) for a, b in pairwise(np.linspace(0, size, count + 1).astype(int))]


class BatchSplit:
    """`loss_and_grads` of a model (RNNClassifier or RNNLanguageModel) over `threads`
    parts of the batch, side by side.

    The model's own `grads` buffer receives the combined gradient (and a language
    model's `last_state` / `dh0` the joined states), so callers use the result exactly as
    they would use `model.loss_and_grads`. The models provide the three small hooks
    used here: `replica()`, `loss_share(ids, targets)` (what the loss is a mean over)
    and `join_parts(replicas, outputs, ids, weights)`.
    """

    def __init__(self, model, threads: int) -> None:
        if threads < 2:
            raise ValueError(f"a batch split needs at least 2 threads; got {threads}")
        self.model = model
        self.threads = threads
        self.replicas = [model.replica() for _ in range(threads)]
        self._pool = ThreadPoolExecutor(threads - 1, thread_name_prefix="rnnviz-batch")

    def loss_and_grads(self, ids, targets, return_output: bool = False, **options):
        """As the model's: `options` (e.g. a language model's h0, dropout) are passed on,
        arrays with one row per batch row split like the batch."""
        ids, targets = np.asarray(ids), np.asarray(targets)
        B = len(ids)
        if self.threads > B:
            return self.model.loss_and_grads(ids, targets, return_output=return_output, **options)
        parts = even_slices(B, self.threads)

        def rows(value, part):
            is_rows = isinstance(value, np.ndarray) and value.ndim and len(value) == B
            return value[part] if is_rows else value

        def job(replica, part):
            sliced = {name: rows(value, part) for name, value in options.items()}
            sliced["return_output"] = True
            return partial(replica.loss_and_grads, ids[part], targets[part], **sliced)

        results = self.run([job(r, part) for r, part in zip(self.replicas, parts, strict=True)])
        # Each part's loss is a mean (over its rows, or its real target tokens): weight
        # each part by its share of the whole batch's count.
        shares = [self.model.loss_share(ids[part], targets[part]) for part in parts]
        weights = [share / max(sum(shares), 1) for share in shares]
        buffers = [grads.flat for _, grads, _ in results]
        total = self.model.grads.flat
        if total.size >= PARALLEL_MIN_SIZE:
            self.run(
                [
                    partial(_weighted_sum, [b[part] for b in buffers], weights, total[part])
                    for part in even_slices(total.size, self.threads)
                ]
            )
        else:
            _weighted_sum(buffers, weights, total)
        loss = float(sum(w * r[0] for w, r in zip(weights, results, strict=True)))
        output = self.model.join_parts(self.replicas, [r[2] for r in results], ids, weights)
        if return_output:
            return loss, self.model.grads, output
        return loss, self.model.grads

    def run(self, calls: list) -> list:
        """Call each of `calls` (no arguments), the first on this thread and the others on
        the helper threads, side by side; their results in order."""
        jobs = [self._pool.submit(call) for call in calls[1:]]
        first = calls[0]()
        return [first, *(job.result() for job in jobs)]

    def close(self) -> None:
        """Stop the helper threads (also done at interpreter exit)."""
        self._pool.shutdown(wait=True)


def _weighted_sum(parts: list[np.ndarray], weights: list[float], out: np.ndarray) -> None:
    """out = sum of weight * part (the parts are scratch buffers: scaled in place)."""
    np.multiply(parts[0], weights[0], out=out)
    for part, weight in zip(parts[1:], weights[1:], strict=True):
        part *= weight
        out += part
