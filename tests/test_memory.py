"""rnnviz.memory: a step's large arrays reuse freed memory instead of fresh pages."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")

# Allocate and touch three 16 MiB arrays, free them; 20 times. Prints the page faults of
# the last 10 (glibc by default trims the freed 48 MiB off the heap every time).
CYCLE = """
import resource, sys
import numpy as np
sys.path.insert(0, {root!r})
from rnnviz import memory
if {keep}:
    assert memory.keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(20):
    if i == 10:
        before = faults()
    arrays = [np.ones(4 << 20, np.float32) for _ in range(3)]
    del arrays
print(faults() - before)
"""


def page_faults(keep: bool) -> int:
    code = CYCLE.format(root=str(ROOT), keep=keep)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_freed_memory_is_reused():
    with open("/proc/self/maps") as maps:
        glibc = "libc.so" in maps.read()
    if not glibc:
        pytest.skip("not glibc")
    # Without: the 48 MiB are mapped anew every time (~1,000 faults a time here; fewer
    # where the kernel maps huge pages). With: none after the first time.
    without, with_kept = page_faults(keep=False), page_faults(keep=True)
    assert without > 100
    assert with_kept < without / 10


def test_trainers_apply_it(monkeypatch):
    from rnnviz import Config, memory
    from rnnviz.data import Corpus
    from rnnviz.lm_trainer import LanguageModelTrainer, lm_defaults
    from rnnviz.trainer import Trainer

    calls = []
    monkeypatch.setattr(memory, "keep_freed_memory", lambda: calls.append(1))
    texts = ["a good film", "a bad film"] * 4
    Trainer(Corpus(texts, [1, 0] * 4, ["neg", "pos"], "test"), Config())
    assert len(calls) == 1
    LanguageModelTrainer(Corpus(texts, [0] * 8, ["text"], "test"), lm_defaults())
    assert len(calls) == 2
