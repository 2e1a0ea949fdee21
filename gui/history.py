"""Metric history that keeps memory flat: a fixed-capacity buffer that decimates itself.

No Qt here, so it is tested and benchmarked like plain NumPy code.
"""

from __future__ import annotations

import numpy as np

COLUMNS = ("step", "epoch", "loss", "accuracy")


class DecimatedHistory:
    """Rows of (step, epoch, loss, accuracy) in at most `capacity` stored points.

    Raw rows are averaged into bins of `stride` rows. When the buffer fills, adjacent
    bins merge pairwise and the stride doubles, so a million steps cost the same
    memory and redraw time as two thousand. The step of a bin is its last step.
    """

    def __init__(self, capacity: int = 2048) -> None:
        if capacity < 4 or capacity % 2:
            raise ValueError("capacity must be an even number >= 4")
        self.capacity = capacity
        self.clear()

    def clear(self) -> None:
        """Forget everything (a reset)."""
        self._data = np.zeros((self.capacity, len(COLUMNS)), np.float64)  # (capacity, 4)
        self._n = 0  # full bins stored
        self.stride = 1  # raw rows per stored bin
        self._pending = np.zeros(len(COLUMNS), np.float64)  # sum of the open bin
        self._pending_count = 0
        self._last = np.full(len(COLUMNS), np.nan)  # last raw row (steps and epochs)
        self.total = 0  # raw rows ever added

    def __len__(self) -> int:
        return self._n + (1 if self._pending_count else 0)

    def append(self, rows: np.ndarray) -> None:
        """Add raw rows, shape (N, 4) in COLUMNS order."""
        rows = np.asarray(rows, np.float64).reshape(-1, len(COLUMNS))
        i = 0
        while i < len(rows):
            whole = min((len(rows) - i) // self.stride, self.capacity - self._n)
            if self._pending_count == 0 and whole > 0:  # whole bins at once
                bins = rows[i : i + whole * self.stride].reshape(whole, self.stride, -1)
                means = bins.sum(axis=1) / self.stride  # (whole, 4)
                means[:, :2] = bins[:, -1, :2]  # a bin sits at its last step and epoch
                self._data[self._n : self._n + whole] = means
                self._n += whole
                self._last = bins[-1, -1]
                i += whole * self.stride
                if self._n == self.capacity:
                    self._merge()
                continue
            take = min(self.stride - self._pending_count, len(rows) - i)
            chunk = rows[i : i + take]
            self._pending += chunk.sum(axis=0)
            self._pending_count += take
            self._last = chunk[-1]
            i += take
            if self._pending_count == self.stride:
                self._push(self._bin())
                self._pending[:] = 0.0
                self._pending_count = 0
        self.total += len(rows)

    def _bin(self) -> np.ndarray:
        row = self._pending / self._pending_count
        row[0] = self._last[0]  # a bin sits at its last step and epoch
        row[1] = self._last[1]
        return row

    def _push(self, row: np.ndarray) -> None:
        self._data[self._n] = row
        self._n += 1
        if self._n == self.capacity:  # merge at once, so the next bin has the new stride
            self._merge()

    def _merge(self) -> None:
        pairs = self._data[: self._n].reshape(self._n // 2, 2, len(COLUMNS))
        merged = pairs.mean(axis=1)
        merged[:, :2] = pairs[:, 1, :2]  # keep the later step and epoch
        self._n //= 2
        self._data[: self._n] = merged
        self.stride *= 2

    def arrays(self) -> dict[str, np.ndarray]:
        """Columns as arrays (copies), the open partial bin included as the last point."""
        rows = self._data[: self._n]
        if self._pending_count:
            rows = np.vstack([rows, self._bin()[None, :]])
        return {name: rows[:, j].copy() for j, name in enumerate(COLUMNS)}

    def nbytes(self) -> int:
        return self._data.nbytes + self._pending.nbytes


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: debiased exponential moving average, weight in [0, 1).

    Non-finite values are carried over (not smoothed in), as TensorBoard does.
    Vectorised in chunks short enough that `weight ** -k` stays below 1e200.
    """
    y = np.asarray(values, np.float64)
    if weight <= 0.0 or len(y) == 0:
        return y.copy()
    w = min(float(weight), 0.999)
    out = np.empty_like(y)
    last, count = 0.0, 0
    step = max(16, int(460.0 / -np.log(w)))  # w ** -step <= e^460 ~ 1e200
    for start in range(0, len(y), step):
        c = y[start : start + step]
        bad = ~np.isfinite(c)
        c = np.where(bad, 0.0, c)
        good = (~bad).astype(np.float64)
        # Count only finite points: the decay applies per finite point.
        ks = np.cumsum(good)  # (L,)
        pw = w**ks
        acc = np.cumsum(good * (1.0 - w) * c * w ** (-ks)) * pw
        vals = pw * last + acc
        debias = 1.0 - w ** (count + ks)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + len(c)] = np.where(debias > 0, vals / debias, np.nan)
        if ks[-1] > 0:
            last = float(vals[-1])
            count += int(ks[-1])
    return out
