"""Per-update cost of each insight view (sentiment sample, offscreen)."""
# ruff: noqa: E402  (Qt platform set before the Qt imports)

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import numpy as np
import pyqtgraph as pg

pg.setConfigOptions(antialias=False, imageAxisOrder="row-major")
app = pg.mkQApp()
from gui.panels.compare import ComparePanel
from gui.panels.errors import ErrorsPanel
from gui.panels.gradient_flow import GradientFlowPanel
from gui.panels.insight_preview import preview_trainer
from gui.panels.neurons import NeuronsPanel
from gui.panels.projection import ProjectionPanel
from gui.panels.salience import SaliencePanel
from rnnviz.model import RNNClassifier

trainer, snaps = preview_trainer(1000)
models = [RNNClassifier.from_params(s.params) for s in snaps]
N = 100


def bench(name, panel, fn, size=(900, 560)):
    panel.resize(*size)
    panel.show()
    for _ in range(3):
        app.processEvents()
    fn(0)
    app.processEvents()
    t0 = time.perf_counter()
    for i in range(N):
        fn(i + 1)
        app.processEvents()  # includes the repaint
    ms = (time.perf_counter() - t0) / N * 1e3
    print(f"| {name} | {ms:.2f} |")
    panel.close()


tok, maxlen, names = trainer.tokenizer, trainer.maxlen, trainer.label_names
text = "the show was not good but the music is lovely"
sal = SaliencePanel()
sal.set_vocabulary(tok, maxlen, names)
sal.text = text


def f(i):
    sal._model = models[i % len(models)]
    sal.refresh()


bench("why", sal, f)
gf = GradientFlowPanel()
for s in snaps[:50]:
    gf.record(s)


def f(i):
    gf.record(snaps[50 + i % 40])
    gf.redraw()


bench("gradient flow", gf, f)
ne = NeuronsPanel()
ne.set_vocabulary(tok, maxlen, trainer.train_ids[:300])
ne.text = text


def f(i):
    ne._model = models[i % len(models)]
    ne._last_corpus = 1e12
    ne.refresh()


bench("neurons (sentence)", ne, f)


def f(i):
    ne._model = models[i % len(models)]
    ne._last_corpus = 0
    ne.refresh()


bench("neurons (with corpus top tokens)", ne, f)
pr = ProjectionPanel()
pr.set_vocabulary(tok.id_to_word, trainer.token_counts, names)


def f(i):
    pr._model = models[i % len(models)]
    pr.refresh()


bench("projection", pr, f)
er = ErrorsPanel()
er.set_data(names, trainer.val_ids, trainer.val_labels, trainer.val_texts)


def f(i):
    er._model = models[i % len(models)]
    er.refresh()


bench("errors", er, f)
co = ComparePanel()
for k in range(3):
    co.new_run({"lr": k})
    st = np.arange(1, 2001.0)
    co.add_rows(
        np.stack([st, st / 60, np.exp(-st / 500), 1 - np.exp(-st / 500)], 1), np.zeros((0, 4))
    )


def f(i):
    co.add_rows(np.array([[2001.0 + i, 0, 0.1, 0.9]]), np.zeros((0, 4)))
    co.redraw(force=True)


bench("compare", co, f)
t0 = time.perf_counter()
m = RNNClassifier.from_params(snaps[-1].params)
print("model from params ms", (time.perf_counter() - t0) * 1e3)
print("V", tok.vocab_size, "T", maxlen, "val", len(trainer.val_ids))
