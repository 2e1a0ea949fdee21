"""BLAS thread control: set, read back, restore; a no-op where not controllable."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import blas


def test_threads_round_trip_and_restore():
    before = blas.get_threads()
    if before is None:
        pytest.skip("this NumPy's BLAS is not OpenBLAS: thread control is a no-op here")
    with blas.threads(1):
        assert blas.get_threads() == 1
        a = np.ones((64, 64), np.float32)
        assert float((a @ a)[0, 0]) == 64.0  # results unchanged
    assert blas.get_threads() == before
