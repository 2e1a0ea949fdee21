"""Shared test setup: the repository root on sys.path, and the shared data folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (real corpora); tests using it skip on a fresh clone without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"optional real corpora not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(params=["positions", "distinct"])
def token_input(request, monkeypatch) -> str:
    """Run a test on both of the RNN's input paths (rnnviz.layers.Embedding.distinct):
    every position's vector, or the batch's distinct tokens (for batches of 2+ rows)."""
    import rnnviz.layers

    use_distinct = request.param == "distinct"
    monkeypatch.setattr(rnnviz.layers, "distinct_pays", lambda *sizes: use_distinct)
    return request.param
