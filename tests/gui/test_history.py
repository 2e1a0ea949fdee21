"""The decimated metric history and TensorBoard-style smoothing (no Qt needed)."""

import numpy as np
import pytest

from gui.history import DecimatedHistory, ema


def rows(start, n):
    s = np.arange(start, start + n, dtype=np.float64)
    return np.column_stack([s, s / 100, np.sin(s), np.cos(s)])


def test_memory_is_flat_over_a_million_steps():
    hist = DecimatedHistory(capacity=1024)
    size = hist.nbytes()
    for start in range(1, 1_000_001, 10_000):
        hist.append(rows(start, 10_000))
    assert hist.total == 1_000_000
    assert hist.nbytes() == size
    assert len(hist) <= 1024
    cols = hist.arrays()
    assert cols["step"][-1] == 1_000_000
    assert np.all(np.diff(cols["step"]) > 0)


def test_bins_average_and_keep_last_step():
    hist = DecimatedHistory(capacity=4)
    hist.append(np.column_stack([np.arange(1, 9), np.zeros(8), np.arange(1, 9), np.zeros(8)]))
    cols = hist.arrays()
    assert hist.stride == 4  # full at 4 points: merged twice
    np.testing.assert_allclose(cols["step"], [4, 8])
    np.testing.assert_allclose(cols["loss"], [2.5, 6.5])


def test_appending_in_pieces_equals_appending_at_once():
    a, b = DecimatedHistory(8), DecimatedHistory(8)
    data = rows(1, 100)
    a.append(data)
    for i in range(0, 100, 7):
        b.append(data[i : i + 7])
    for key, value in a.arrays().items():
        np.testing.assert_allclose(value, b.arrays()[key])


def reference_ema(values, weight):
    last, count, out = 0.0, 0, []
    for v in values:
        if not np.isfinite(v):
            out.append(last / (1 - weight**count) if count else np.nan)
            continue
        last = last * weight + (1 - weight) * v
        count += 1
        out.append(last / (1 - weight**count))
    return np.array(out)


@pytest.mark.parametrize("weight", [0.01, 0.6, 0.9, 0.99])
def test_ema_matches_tensorboard(weight):
    y = np.random.default_rng(0).normal(size=500)
    np.testing.assert_allclose(ema(y, weight), reference_ema(y, weight), rtol=1e-9, atol=1e-12)


def test_ema_zero_weight_is_identity():
    y = np.arange(5.0)
    np.testing.assert_array_equal(ema(y, 0.0), y)


@pytest.mark.parametrize("capacity", [4, 8, 64])
def test_appending_in_blocks_equals_appending_row_by_row(capacity):
    """Whole bins are averaged in one go (the window appends a frame's rows at once)."""
    rng = np.random.default_rng(0)
    blocks, by_row, start = DecimatedHistory(capacity), DecimatedHistory(capacity), 1
    for _ in range(200):
        n = int(rng.integers(0, 150))
        block = rows(start, n)
        start += n
        blocks.append(block)
        for row in block:
            by_row.append(row)
        a, b = blocks.arrays(), by_row.arrays()
        assert blocks.stride == by_row.stride and blocks.total == by_row.total
        for name in a:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-12, atol=1e-12)
