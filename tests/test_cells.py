"""The recurrent cells (rnnviz.cells): every backward against finite differences in
float64, in both models, masked and unmasked; the fast tanh RNN equal to the textbook
one; the pure step functions and their Jacobians; [PAD] steps carry the state."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import RNNClassifier
from rnnviz.cells import (
    CELLS,
    GRU,
    LSTM,
    FastGRU,
    FastRNN,
    TanhRNN,
    cell_module,
    cell_shapes,
    infer_cell,
)
from rnnviz.cells.lstm_fast import FastLSTM
from rnnviz.language_model import RNNLanguageModel, generate
from rnnviz.tokenizer import PAD_ID, Tokenizer
from tests.gradcheck import numerical_grad, relative_error

V, D, H, C = 11, 4, 5, 3


def randomise(model, seed: int = 1):
    """Larger, signed weights than the init, so every nonlinearity works in its curve."""
    rng = np.random.default_rng(seed)
    for name, p in model.params.items():
        if name != "embedding":
            p[...] = rng.normal(0, 0.5, p.shape)
    return model


def padded_ids(rng, rows: int = 4, steps: int = 6, padded: bool = True) -> np.ndarray:
    ids = rng.integers(2, V, size=(rows, steps))
    if padded:  # pre-padding of varied lengths, one row with none
        for row, n_pad in enumerate([3, 0, 5, 1][:rows]):
            ids[row, :n_pad] = PAD_ID
    return ids


def check_all_grads(model, loss, grads, extra: dict | None = None):
    grads = {k: v.copy() for k, v in grads.items()}
    for name, param in model.params.items():
        numeric = numerical_grad(loss, param)
        if name == "embedding":
            numeric[PAD_ID] = 0.0  # frozen, as torch's padding_idx
        err = relative_error(grads[name], numeric)
        assert err < 1e-6, f"{name}: relative error {err:.2e}"
    for name, (analytic, array) in (extra or {}).items():
        err = relative_error(analytic, numerical_grad(loss, array))
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


# ---------------------------------------------------------------------- gradients
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("head", ["softmax", "tanh"])
@pytest.mark.parametrize("mask_padding", [True, False])
def test_classifier_gradients_match_finite_differences(cell, head, mask_padding):
    model = randomise(RNNClassifier(V, D, H, C, head=head, mask_padding=mask_padding,
                                    dtype=np.float64, cell=cell))  # fmt: skip
    rng = np.random.default_rng(2)
    ids, labels = padded_ids(rng), rng.integers(0, C, size=4)
    _, grads = model.loss_and_grads(ids, labels)
    check_all_grads(model, lambda: model.loss_and_grads(ids, labels)[0], grads)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("mask_padding", [True, False])
def test_language_model_gradients_match_finite_differences(cell, mask_padding):
    """With a start state h0 (the LSTM's is [h0, c0]) and its gradient dh0."""
    model = randomise(RNNLanguageModel(V, D, H, mask_padding=mask_padding, dtype=np.float64,
                                       cell=cell))  # fmt: skip
    rng = np.random.default_rng(3)
    ids = padded_ids(rng, rows=3)
    ids[1, 3] = ids[2, 5] = PAD_ID  # [PAD] inside a row too: the state is carried
    targets = rng.integers(1, V, size=ids.shape)
    targets[0, :2] = targets[2, 4] = PAD_ID  # left out of the mean
    h0 = rng.normal(0, 0.5, size=(3, model.state_size))

    def loss():
        return model.loss_and_grads(ids, targets, h0=h0)[0]

    _, grads = model.loss_and_grads(ids, targets, h0=h0)
    check_all_grads(model, loss, grads, {"h0": (model.dh0.copy(), h0)})


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("leading_pads", [True, False])
def test_one_sequence_gradients_match_finite_differences(cell, leading_pads):
    """B = 1 (the interactive size; the one-row paths), with leading [PAD] steps or none."""
    model = randomise(RNNClassifier(V, D, H, C, dtype=np.float64, cell=cell))
    ids = np.array([[0, 0, 3, 4, 5, 6, 2]] if leading_pads else [[7, 3, 4, 5, 6, 2]])
    _, grads = model.loss_and_grads(ids, [1])
    check_all_grads(model, lambda: model.loss_and_grads(ids, [1])[0], grads)


def test_gradient_check_can_fail():
    """A wrong gated-cell gradient is caught: the check is not vacuous."""
    model = randomise(RNNClassifier(V, D, H, C, dtype=np.float64, cell="gru"))
    ids = padded_ids(np.random.default_rng(4))
    labels = np.array([0, 1, 2, 0])
    _, grads = model.loss_and_grads(ids, labels)
    wrong = grads["b_hn"].copy() * 1.001
    numeric = numerical_grad(lambda: model.loss_and_grads(ids, labels)[0], model.params["b_hn"])
    assert relative_error(wrong, numeric) > 1e-6


# ---------------------------------------------------------------------- layers
def layer_pair(cell_class, seed=0):
    rng = np.random.default_rng(seed)
    params = {k: rng.normal(0, 0.5, s) for k, s in cell_shapes(cell_class, D, H).items()}
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    return params, grads


FAST_PAIRS = {"rnn": (TanhRNN, FastRNN), "gru": (GRU, FastGRU), "lstm": (LSTM, FastLSTM)}


# only the tanh RNN takes distinct tokens, and only for B > 1
INPUT_PATHS = [
    (cell, rows, distinct)
    for cell in CELLS
    for rows in (1, 4)
    for distinct in (True, False)
    if not distinct or (rows > 1 and cell == "rnn")
]


@pytest.mark.parametrize(("cell", "rows", "distinct"), INPUT_PATHS)
@pytest.mark.parametrize("masked", [True, False])
@pytest.mark.parametrize("per_step", [True, False])
def test_fast_cell_equals_the_textbook_cell(cell, rows, masked, per_step, distinct):
    """States, dx, dh0, weight gradients, ||dL/dh_t||, the gates (and the LSTM's c_t and
    ||dL/dc_t||) of each fast cell and its textbook cell, with a start state, twice in a
    row (kept buffers); the tanh RNN's input also as distinct tokens."""
    from rnnviz.layers import DistinctTokens

    rng = np.random.default_rng(5)
    params, grads = layer_pair(cell)
    fast_grads = {k: np.zeros_like(v) for k, v in params.items()}
    textbook_class, fast_class = FAST_PAIRS[cell]
    textbook, fast = textbook_class(params, grads), fast_class(params, fast_grads)
    T, S = 7, H * textbook.state_parts
    for _ in range(2):
        vectors = rng.normal(size=(5, D))  # 5 distinct tokens
        index = rng.integers(0, 5, size=(T, rows))
        x = vectors[index]  # (T, B, D)
        tokens = DistinctTokens(np.arange(5), index, vectors) if distinct else None
        mask = rng.random((T, rows)) > 0.3 if masked else None
        if masked:
            mask[:2] = False  # leading all-[PAD] steps (the fast paths skip them)
        h0 = rng.normal(size=(rows, S))
        dh_seq = rng.normal(size=(T, rows, H)) if per_step else None
        dh_last = rng.normal(size=(rows, H))
        results = []
        for layer in (textbook, fast):
            layer.track_state_grads = True
            if layer is fast and distinct:
                hs = layer.forward(None, mask, h0, tokens).copy()
            else:
                hs = layer.forward(x, mask, h0).copy()
            final = layer.final_state().copy()
            views = [] if cell == "rnn" else [np.array(layer.gate_values)]  # the Gates view
            if cell == "lstm":
                views.append(np.array(layer.cs))  # c_t, for the Network view
            dx, dh0 = layer.backward(dh_seq=dh_seq, dh_last=dh_last)
            if cell == "lstm":
                views.append(layer.cell_grad_norms.copy())
            if layer is fast and distinct:  # dL/dvector per token: sum dx back per token
                per_token = np.zeros((5, D))
                np.add.at(per_token, index.reshape(-1), results[0][2].reshape(-1, D))
                results[0][2] = per_token
            results.append([hs, final, dx.copy(), dh0, layer.state_grad_norms.copy(), *views])
        for expected, got in zip(*results, strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
        for name in params:
            np.testing.assert_allclose(fast_grads[name], grads[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("leading_pads", [0, 2, 7])
@pytest.mark.parametrize("per_step", [True, False])
@pytest.mark.parametrize("start_state", [True, False])
@pytest.mark.parametrize("step_maps", [True, False])
def test_fast_lstm_equals_the_textbook_lstm(
    leading_pads, per_step, start_state, step_maps, monkeypatch
):
    """The one-row path (rnnviz.cells.lstm_fast): states, c_t, gates, dx, d[h0, c0],
    weight gradients, ||dL/dh_t|| and ||dL/dc_t|| equal the textbook LSTM's, twice in a
    row (kept buffers), with and without a flat parameter buffer; its backward by step
    maps, or the textbook's on its buffers when the maps would be too big."""
    from rnnviz.cells import lstm_fast
    from rnnviz.params import ParamDict

    if not step_maps:
        monkeypatch.setattr(lstm_fast, "MAX_MAP_SIZE", 0)

    rng = np.random.default_rng(9)
    params, grads = layer_pair("lstm")
    flat = ParamDict.from_arrays(params)
    T = 7
    mask = np.ones((T, 1), bool)
    mask[:leading_pads] = False
    for _ in range(2):
        x = rng.normal(size=(T, 1, D))
        h0 = rng.normal(size=(1, 2 * H)) if start_state else None
        dh_seq = rng.normal(size=(T, 1, H)) if per_step else None
        dh_last = rng.normal(size=(1, H))
        results, all_grads = [], []
        fast_flat = FastLSTM(flat, flat.zeros_like())
        for layer in (LSTM(params, grads), FastLSTM(params, layer_pair("lstm")[1]), fast_flat):
            layer.track_state_grads = True
            hs = layer.forward(x, mask if leading_pads else None, h0).copy()
            kept = (layer.cs.copy(), layer.gate_values.copy(), layer.final_state())
            dx, dh0 = layer.backward(dh_seq=dh_seq, dh_last=dh_last)
            results.append((hs, *kept, dx, dh0, layer.state_grad_norms, layer.cell_grad_norms))
            all_grads.append({k: layer.grads[k].copy() for k in params})
        assert fast_flat._rows is not None, "the one-row path should have run"
        assert (fast_flat._one_row.maps is not None) == step_maps
        for textbook, *fast in zip(*results, strict=True):
            for value in fast:
                np.testing.assert_allclose(value, textbook, rtol=1e-10, atol=1e-12)
        for fast in all_grads[1:]:
            for name in params:
                np.testing.assert_allclose(fast[name], all_grads[0][name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_one_row_paths_keep_their_buffers_but_never_under_a_caller(cell):
    model = RNNClassifier(V, D, H, C, cell=cell)
    ids = np.array([[3, 4, 5, 6]])
    model.loss_and_grads(ids, [1])
    kept = model.rnn._one_row
    model.loss_and_grads(ids, [1])
    assert model.rnn._one_row is kept, "training steps should reuse the buffers"
    held = model.forward(ids).hidden
    before = held.copy()
    model.loss_and_grads(np.array([[7, 8, 9, 10]]), [0])
    np.testing.assert_array_equal(held, before)
    assert model.rnn._one_row is not kept


def test_gru_one_row_path_without_step_maps(monkeypatch):
    """Past MAX_MAP_SIZE the GRU's one-row forward is followed by the textbook backward."""
    from rnnviz.cells import gru_one_row

    monkeypatch.setattr(gru_one_row, "MAX_MAP_SIZE", 0)
    rng = np.random.default_rng(11)
    params, grads = layer_pair("gru")
    fast_grads = {k: np.zeros_like(v) for k, v in params.items()}
    x, dh_seq = rng.normal(size=(6, 1, D)), rng.normal(size=(6, 1, H))
    h0 = rng.normal(size=(1, H))
    fast = FastGRU(params, fast_grads)
    results = []
    for layer in (GRU(params, grads), fast):
        hs = layer.forward(x, None, h0).copy()
        results.append((hs, *layer.backward(dh_seq=dh_seq)))
    assert fast._rows is not None and fast._one_row.maps is None
    for expected, got in zip(*results, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    for name in params:
        np.testing.assert_allclose(fast_grads[name], grads[name], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_step_is_one_step_of_forward(cell):
    """The pure step(params, h, x) on a batch of states equals the layer's forward."""
    module = cell_module(cell)
    params, grads = layer_pair(cell, seed=6)
    layer = {"rnn": TanhRNN, "gru": GRU, "lstm": LSTM}[cell](params, grads)
    rng = np.random.default_rng(6)
    S = H * layer.state_parts
    h = rng.normal(size=(3, S))
    x = rng.normal(size=D)
    layer.forward(np.broadcast_to(x, (1, 3, D)).copy(), None, h)
    np.testing.assert_allclose(module.step(params, h, x), layer.final_state(), rtol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_step_jacobian_matches_finite_differences(cell):
    module = cell_module(cell)
    params, _ = layer_pair(cell, seed=7)
    rng = np.random.default_rng(7)
    S = 2 * H if cell == "lstm" else H
    h = rng.normal(size=(2, S))
    x = rng.normal(size=D)
    J = module.step_jacobian(params, h, x)
    assert J.shape == (2, S, S)
    eps = 1e-6
    for j in range(S):
        bump = np.zeros(S)
        bump[j] = eps
        column = (module.step(params, h + bump, x) - module.step(params, h - bump, x)) / (2 * eps)
        np.testing.assert_allclose(J[:, :, j], column, atol=1e-8)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_step_vjp_is_v_times_the_jacobian(cell):
    module = cell_module(cell)
    params, _ = layer_pair(cell, seed=10)
    rng = np.random.default_rng(10)
    S = 2 * H if cell == "lstm" else H
    h, v, x = rng.normal(size=(3, S)), rng.normal(size=(3, S)), rng.normal(size=D)
    expected = np.einsum("ni,nij->nj", v, module.step_jacobian(params, h, x))
    np.testing.assert_allclose(module.step_vjp(params, h, x, v), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_pad_steps_carry_the_state(cell):
    """Masked [PAD] steps leave h (and the LSTM's c) unchanged, anywhere in the row."""
    model = randomise(RNNLanguageModel(V, D, H, dtype=np.float64, cell=cell))
    h0 = np.random.default_rng(8).normal(size=(1, model.state_size))
    model.forward(np.array([[3, 4]]), h0=h0)
    expected = model.last_state.copy()
    model.forward(np.array([[0, 3, 0, 0, 4, 0]]), h0=h0)
    np.testing.assert_allclose(model.last_state, expected, rtol=1e-12)
    if cell == "lstm":
        assert not np.allclose(expected[:, :H], expected[:, H:])  # [h, c]: two states


@pytest.mark.parametrize("cell", CELLS)
def test_state_gradient_norms_match_finite_differences(cell):
    """||dL/dh_t|| (and the LSTM's ||dL/dc_t||, c_t's effect through h_t included)
    recorded in backward equal finite differences of the loss run on from a perturbed
    state at step t (the pure step)."""
    from rnnviz.losses import softmax_cross_entropy

    model = randomise(RNNClassifier(V, D, H, C, dtype=np.float64, cell=cell))
    ids, labels = np.array([[3, 4, 5, 6, 7]]), np.array([2])
    model.rnn.track_state_grads = True
    model.loss_and_grads(ids, labels)
    recorded = model.rnn.state_grad_norms.copy()
    step, p = cell_module(cell).step, model.params
    S = model.state_size
    states = [np.zeros((1, S))]
    for i in ids[0]:
        states.append(step(p, states[-1], p["embedding"][i]))
    for t in range(1, 6):  # the state after step t, recorded[t - 1]

        def loss_from(state, t=t):
            state = state.copy()
            for i in ids[0, t:]:
                state = step(p, state, p["embedding"][i])
            return softmax_cross_entropy(state[:, :H] @ p["W_out"] + p["b_out"], labels)[0]

        start = states[t].copy()
        numeric = numerical_grad(lambda start=start, f=loss_from: f(start), start)
        assert abs(recorded[t - 1] - np.linalg.norm(numeric[:, :H])) < 1e-8, t
        if cell == "lstm":  # c_t through all its uses: c_{t+1} and h_t = o_t tanh(c_t)
            o_t = model.rnn.gate_values[t - 1, :, 3 * H :]
            c_t = start[:, H:].copy()

            def loss_from_c(f=loss_from, o_t=o_t, c_t=c_t):
                return f(np.concatenate([o_t * np.tanh(c_t), c_t], axis=1))

            numeric_c = numerical_grad(loss_from_c, c_t)
            assert abs(model.rnn.cell_grad_norms[t - 1] - np.linalg.norm(numeric_c)) < 1e-8


def test_infer_cell_from_shapes():
    for cell in CELLS:
        model = RNNClassifier(V, D, H, C, cell=cell)
        assert infer_cell(model.params) == cell
        assert RNNClassifier.from_params(model.params).cell == cell
    with pytest.raises(ValueError, match="fits no cell"):
        infer_cell({"W_h": np.zeros((H, 2 * H))})


def test_chrono_initialisation():
    """Keep-gate biases log U(1, T_max - 1); the LSTM's input bias their negative."""
    gru = RNNClassifier(V, D, H, C, cell="gru", t_max=300)
    b = gru.params["b_h"]
    assert np.all(b[:H] == 0) and np.all(b[2 * H :] == 0)
    assert np.all(b[H : 2 * H] >= 0) and np.all(b[H : 2 * H] <= np.log(299))
    lstm = RNNClassifier(V, D, H, C, cell="lstm", t_max=300)
    b = lstm.params["b_h"]
    np.testing.assert_array_equal(b[:H], -b[H : 2 * H])
    assert np.all(b[H : 2 * H] > 0) and np.all(b[2 * H :] == 0)
    zero = RNNClassifier(V, D, H, C, cell="lstm", gate_init="zero")
    assert np.all(zero.params["b_h"] == 0)
    with pytest.raises(ValueError, match="gate_init"):
        RNNClassifier(V, D, H, C, cell="gru", gate_init="warm")
    with pytest.raises(ValueError, match="cell must be"):
        RNNClassifier(V, D, H, C, cell="transformer")


def test_the_rnn_init_is_unchanged_by_the_cell_machinery():
    """cell='rnn' draws the same weights as before gated cells existed (same rng order)."""
    from rnnviz.init import orthogonal, uniform_embedding, xavier

    model = RNNClassifier(V, D, H, C, init="orthogonal", seed=3, dtype=np.float64)
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(model.params["embedding"], uniform_embedding(rng, (V, D)))
    np.testing.assert_array_equal(model.params["W"], xavier(rng, D, H))
    np.testing.assert_array_equal(model.params["W_h"], orthogonal(rng, H))
    np.testing.assert_array_equal(model.params["W_out"], xavier(rng, H, C))


@pytest.mark.parametrize("cell", CELLS)
def test_generate_uses_the_cell(cell):
    """Greedy sampling equals the argmax of the model's own forward pass, token by token."""
    tok = Tokenizer("char").fit(["abcabcab"])
    model = randomise(RNNLanguageModel(tok.vocab_size, D, H, dtype=np.float64, cell=cell))
    text = generate(model, tok, "ab", 4, temperature=0)
    ids = np.array([tok.encode([text])[0]])
    proba = model.forward(ids[:, :-1]).proba[0]
    proba[:, :2] = 0  # [PAD] and [UNK] are never sampled
    np.testing.assert_array_equal(proba[1:].argmax(axis=1), ids[0, 2:])


@pytest.mark.parametrize("cell", CELLS)
def test_trainers_capture_the_cell_for_the_views(cell):
    """Both tasks: a captured step carries ||dL/dh_t|| (gradient flow), the cell's name,
    a gated cell's gates and the LSTM's c_t and ||dL/dc_t||."""
    from rnnviz.config import Config
    from rnnviz.corpus import Corpus
    from rnnviz.data import load_corpus
    from rnnviz.lm_trainer import LanguageModelTrainer, lm_defaults
    from rnnviz.trainer import Trainer

    text = Corpus(["the quick brown fox jumps over the lazy dog. " * 20], np.zeros(0, np.int64),
                  [], "test")  # fmt: skip
    small = dict(embed_dim=4, hidden_size=6, batch_size=4, cell=cell)
    runs = [
        Trainer(load_corpus("sample:recall?length=12&n=40"), Config(**small)),
        LanguageModelTrainer(text, lm_defaults(bptt=8, weight_average=0.0, **small)),
    ]
    for trainer in runs:
        snap = trainer.step(capture=True)
        T = snap.probe_ids.shape[1] if trainer is runs[0] else 8
        assert snap.cell == cell and snap.state_grad_norms.shape == (T,)
        assert np.all(snap.state_grad_norms > 0)
        G = {"rnn": 0, "gru": 3, "lstm": 4}[cell]
        if G:
            assert snap.probe_gates.shape == (*snap.probe_ids.shape, G * 6)
        else:
            assert snap.probe_gates is None
        assert (snap.probe_cells is not None) == (cell == "lstm")
        assert (snap.cell_grad_norms is not None) == (cell == "lstm")


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_one_row_buffers_fit_their_sizes_and_know_when_held(cell):
    """rnnviz.cells.base.OneRowRows, shared by the tanh RNN's and the GRU's buffers."""
    from rnnviz.cells.gru_one_row import OneRowGRUBuffers
    from rnnviz.cells.rnn_fast import OneRowBuffers

    buffers = {"rnn": OneRowBuffers, "gru": OneRowGRUBuffers}[cell](5, 3, 4, np.float32)
    assert buffers.rows.shape == (6, 8) and np.all(buffers.rows[:, -1] == 1.0)
    assert buffers.fits(5, 3, 4, np.dtype(np.float32))
    assert not buffers.fits(6, 3, 4, np.float32)  # another length
    assert not buffers.fits(5, 4, 3, np.float32)  # the same D + H, split otherwise
    assert not buffers.fits(5, 3, 4, np.float64)
    assert not buffers.in_use()
    held = buffers.rows[1:, 3:7]  # states handed out
    assert buffers.in_use()
    del held
    assert not buffers.in_use()
