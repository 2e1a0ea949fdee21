"""Will a run fit in memory? An estimate of its largest arrays, made before any of them
is allocated, so `--hidden 100000` is one clear line instead of a MemoryError (or the
kernel's out-of-memory killer) minutes later.

The estimate counts what a run keeps (parameters with their gradients, optimiser
moments, the weight average and the best weights; the padded data) and the largest
transient arrays of one step and of one evaluation chunk. It is meant to be right
within a factor of about two: it refuses what cannot fit, not what is merely close.
"""

from __future__ import annotations

import os

from rnnviz.config import Config

GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # blocks of H in W, W_h, b_h per cell
KEPT_COPIES = 6  # params, grads, two optimiser moments, weight average, best weights
EVAL_ROWS = 512  # the classifier evaluates this many texts per forward pass
EVAL_ELEMENTS = 2_000_000  # the language model's logits per evaluation chunk
USABLE_SHARE = 0.8  # of the memory available now


class MemoryBudgetError(ValueError):
    """The run cannot fit in this machine's memory; the message says what to shrink."""


def available_bytes() -> int | None:
    """Memory available to a new allocation now: Linux's MemAvailable, or less when a
    container's limit (cgroup v2) is nearer; else the free pages; None if unknown."""
    found = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if found is None:
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as f:
            used = int(f.read().strip())
        if limit.isdigit():
            found = min(found, max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return found


def estimate(
    config: Config, vocab_size: int, outputs: int, rows: int, length: int
) -> dict[str, int]:
    """Bytes by what needs them, for a run of `config`.

    Parameters
    ----------
    vocab_size, outputs : V, and the head's width (C classes, or V for the language model).
    rows, length : the padded data, (rows, length) token ids: texts x maxlen for the
        classifier, 1 x tokens for the language model.
    """
    V, D, H, C = vocab_size, config.embed_dim, config.hidden_size, outputs
    G = GATES.get(getattr(config, "cell", "rnn"), 1)
    size = 8 if config.dtype == "float64" else 4
    params = V * D + D * G * H + H * G * H + G * H + H * C + C
    replicas = config.batch_threads if config.batch_threads > 1 else 0
    if config.task == "lm":
        T = min(config.bptt, max(length, 1))
        B = min(config.batch_size, max(length // T, 1))  # lanes of the token stream
        # per step: inputs, states and pre-activations, and (B*T, V) logits, proba, grad
        step = B * T * (D + 3 * G * H) * size + 3 * B * T * C * size
        evaluation = 2 * EVAL_ELEMENTS * size
    else:
        T, B = length, min(config.batch_size, rows)
        step = B * T * (D + 3 * G * H) * size
        evaluation = min(EVAL_ROWS, rows) * T * (D + 2 * G * H) * size
    return {
        "the weights": (KEPT_COPIES + 2 * replicas) * params * size,
        "the padded data": rows * length * 8,
        "one training step": step * max(replicas, 1),
        "one evaluation chunk": evaluation,
    }


def check_fits(
    config: Config,
    vocab_size: int,
    outputs: int,
    rows: int,
    length: int,
    available: int | None = None,
) -> None:
    """Raise MemoryBudgetError (one line) when the run's estimate exceeds the memory
    available; `available` defaults to what the machine has free now."""
    available = available_bytes() if available is None else available
    if available is None:
        return
    parts = estimate(config, vocab_size, outputs, rows, length)
    total = sum(parts.values())
    if total <= USABLE_SHARE * available:
        return
    biggest = max(parts, key=parts.get)
    sizes = f"hidden size {config.hidden_size:,}, embedding {config.embed_dim:,}"
    if config.task == "lm":
        sizes += f", batch {config.batch_size:,} x bptt {config.bptt:,}, vocabulary {vocab_size:,}"
    else:
        sizes += f", batch {config.batch_size:,}, maxlen {length:,}, vocabulary {vocab_size:,}"
    raise MemoryBudgetError(
        f"this run needs about {_gb(total)} of memory ({sizes}; most for {biggest}: "
        f"{_gb(parts[biggest])}) but {_gb(available)} is available: choose smaller sizes"
    )


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"
