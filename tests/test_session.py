"""The training session (rnnviz/session.py): commands in, events out, no Qt; the child
process's loop over a pipe (rnnviz/session_process.py); resuming a run elsewhere."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import pytest

from rnnviz.config import Config
from rnnviz.lm_trainer import LanguageModelTrainer, text_pieces
from rnnviz.run_info import Frame, RunInfo
from rnnviz.session import EVENTS, Session
from rnnviz.session_process import UP_EVENT, receive_event, send_event
from rnnviz.tokenizer import Tokenizer
from rnnviz.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
SMALL = Config(epochs=0, hidden_size=8, embed_dim=8, batch_size=8)


class Recorder:
    """The session's `emit`: every event in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple]] = []

    def __call__(self, name: str, *args) -> None:
        assert name in EVENTS, name
        assert len(args) == len(EVENTS[name]), (name, args)
        self.events.append((name, args))

    def named(self, name: str) -> list[tuple]:
        return [args for n, args in self.events if n == name]

    def frames(self) -> list[Frame]:
        return [args[0] for args in self.named("snapshot_ready")]


def loaded(config: Config = SMALL, source: str = "sample:sentiment", **kwargs):
    out = Recorder()
    session = Session(out, **kwargs)
    session.load(source, config)
    return session, out


def test_events_carry_their_arrays_out_of_band_into_writable_memory():
    """send_event / receive_event over a socket pair: arrays of every size (one over
    the 1 MB chunk of `_receive_into`, one empty) come back equal and writable."""
    import threading

    left, right = socket.socketpair()
    sender, receiver = Connection(os.dup(left.fileno())), Connection(os.dup(right.fileno()))
    left.close()
    right.close()
    big = np.arange(3_000_000, dtype=np.float32).reshape(1000, 3000)  # 12 MB
    arrays = [big, np.zeros(0), np.ones(3), big[:, ::3]]
    thread = threading.Thread(target=send_event, args=(sender, "frame", (arrays, "words")))
    thread.start()
    name, (received, text) = receive_event(receiver)
    thread.join()
    sender.close()
    receiver.close()
    assert name == "frame" and text == "words"
    for sent, got in zip(arrays, received, strict=True):
        assert got.shape == sent.shape and np.array_equal(got, sent) and got.flags.writeable


def test_load_describes_the_run_and_shows_its_first_frame():
    _, out = loaded()
    (info,) = out.named("info_ready")[0]
    assert isinstance(info, RunInfo) and info.task == "classify" and info.step == 0
    assert info.vocabulary is not None and len(info.vocabulary) == len(info.words)
    assert info.eval_data is not None
    frame = out.frames()[-1]
    assert frame.captured and frame.snapshot.step == 0 and "W_h" in frame.snapshot.params
    assert not frame.snapshot.params["W_h"].flags.writeable  # a copy, never the live array


def test_a_language_model_is_described_by_the_same_routine():
    _, out = loaded(Config.for_task("lm", "fast", epochs=0, hidden_size=16),
                          "sample:prose")  # fmt: skip
    (info,) = out.named("info_ready")[0]
    assert info.task == "lm" and info.label_names == [] and info.text_chars > 0
    assert "␣" in info.vocabulary.words  # a space is shown as one
    assert out.frames()[-1].snapshot.probe_hidden is not None


def test_start_run_slice_pause_and_step():
    session, out = loaded()
    session.start()
    assert session.running and out.named("running_changed")[-1] == (True,)
    while session.steps_done < 40:
        assert session.run_slice()
    session.pause()
    assert not session.running and not session.run_slice()
    rows = np.concatenate([f.rows for f in out.frames()])
    assert rows[:, 0].tolist() == list(range(1, session.steps_done + 1))  # every step, once
    last = out.frames()[-1]
    assert last.captured and last.snapshot.step == session.steps_done
    session.step()
    assert out.frames()[-1].captured and out.frames()[-1].snapshot.step == session.steps_done


@pytest.mark.parametrize("how", ["finished", "diverged"])
def test_the_last_frame_of_a_run_that_ends_says_it_stopped(how):
    """A run that reaches its end or diverges sends a frame with running False after
    the event, so a window waiting for the stopped frame is not left waiting."""
    if how == "finished":
        session, out = loaded(SMALL.replace(epochs=1))
    else:  # an lr that blows the loss up within a few steps, clipping off
        bad = SMALL.replace(optimizer="sgd", lr=500.0, clip="none", recurrent_gain=3.0)
        session, out = loaded(bad)
    session.start()
    for _ in range(1000):
        if not session.run_slice():
            break
    assert not session.running
    assert out.named(how), [name for name, _ in out.events][-5:]
    names = [name for name, _ in out.events]
    last_event = len(names) - 1 - names[::-1].index(how)
    assert "snapshot_ready" in names[last_event:]
    assert not out.frames()[-1].running


def test_live_changes_only_take_live_fields():
    session, out = loaded()
    session.update({"lr": 2e-3, "hidden_size": 99})  # hidden_size needs a reset
    assert session.trainer.config.lr == 2e-3 and session.trainer.config.hidden_size == 8
    assert out.named("live_applied") == [(0, {"lr": 2e-3})]
    session.update({"lr": -1.0})
    assert "Could not apply lr" in out.named("error")[-1][0]


def test_bad_input_is_one_line_never_a_traceback(tmp_path):
    out = Recorder()
    session = Session(out)
    session.load(str(tmp_path / "missing.tsv"), SMALL)
    (message,) = out.named("load_failed")[0]
    assert "\n" not in message and "Traceback" not in message
    session.save(str(tmp_path / "m.npz"))
    assert out.named("error")[-1] == ("Nothing to save yet: load a corpus first",)


def test_step_budget_pauses_the_run():
    session, _ = loaded()
    session.step_budget = 7
    session.start()
    while session.run_slice():
        pass
    assert session.steps_done == 7 and not session.running


def test_resume_state_carries_weights_moments_and_step():
    config = SMALL.replace(seed=3)
    a = Trainer(_corpus(), config)
    for _ in range(12):
        a.step()
    state = a.resume_state()
    b = Trainer(_corpus(), config)
    b.resume(state)
    assert b.step_count == 12 and b.optimizer.t == a.optimizer.t == 12
    m_a, m_b = a.optimizer.state["__flat__"]["m"], b.optimizer.state["__flat__"]["m"]
    np.testing.assert_array_equal(m_a, m_b)
    assert np.abs(m_b).max() > 0
    np.testing.assert_array_equal(a.model.params.flat, b.model.params.flat)
    other = Trainer(_corpus(), config.replace(hidden_size=9))
    with pytest.raises(ValueError, match="do not fit"):
        other.resume(state)


def test_restore_sends_the_earlier_curves_in_its_first_frame():
    session, out = loaded()
    session.start()
    while session.steps_done < 20:
        session.run_slice()
    session.pause()
    state = session.trainer.resume_state()
    rows = np.concatenate([f.rows for f in out.frames()])
    fresh, seen = loaded()
    fresh.restore(state, rows, np.zeros((0, 4)))
    assert state["step"] >= 20 and seen.named("info_ready")[-1][0].step == state["step"]
    frame = seen.frames()[-1]
    assert frame.captured and frame.snapshot.step == state["step"]
    np.testing.assert_array_equal(frame.rows, rows)


def _corpus():
    from rnnviz.data import load_corpus

    return load_corpus("sample:sentiment")


def test_load_phases_report_their_shares():
    out = Recorder()
    session = Session(out)
    session.load("sample:sentiment", SMALL)
    shares = {}
    for fraction, text in out.named("load_progress"):
        shares.setdefault(text, []).append(fraction)
    for phase in ("Building the vocabulary…", "Encoding the texts…"):
        assert shares[phase][0] == 0.0 and max(shares[phase]) == pytest.approx(0.99)
        assert shares[phase] == sorted(shares[phase]) and len(shares[phase]) > 10


def test_preparing_the_views_reports_its_share_on_load_and_on_reset():
    from rnnviz.session import BUSY, PREPARING

    out = Recorder()
    session = Session(out)
    session.load("sample:sentiment", SMALL)
    session.reset(SMALL.replace(hidden_size=6))
    first = out.events.index(("info_ready", out.named("info_ready")[0]))
    for events in (out.events[:first], out.events[first + 1 :]):  # the load's, the reset's
        shown = [args for name, args in events if name == "load_progress"]
        shares = [f for f, text in shown if text == PREPARING]
        assert shares[0] == 0.0 and shares == sorted(shares) and BUSY not in shares
        assert max(shares) == pytest.approx(0.99) and len(shares) >= 5, shares
        assert any(0.2 < f < 0.9 for f in shares), shares  # the bag of words' iterations
        assert "Building the vocabulary…" in [text for _, text in shown]
        names = [name for name, _ in events]
        at = names.index("info_ready") if "info_ready" in names else len(names)
        assert shown[-1] == (1.0, "") and names[at - 1] == "load_progress"  # bar hidden, then


def test_a_language_model_encodes_in_pieces_exactly_as_whole():
    text = "The cat sat.  On the mat,\nthe cat\tslept. " * 200
    for level in ("char", "word"):
        pieces = text_pieces(text, size=37)
        assert "".join(pieces) == text and len(pieces) > 50
        whole = Tokenizer(level).fit([text])
        parts = Tokenizer(level)
        for piece in pieces:
            parts.fit([piece])
        assert parts.id_to_word == whole.id_to_word
        ids = np.concatenate([whole.encode([p])[0] for p in pieces])
        np.testing.assert_array_equal(ids, whole.encode([text])[0])
    seen = []
    LanguageModelTrainer(_lm_corpus(text), Config.for_task("lm", "fast", hidden_size=8),
                         progress=lambda t, f: seen.append((t, f)))  # fmt: skip
    assert {t for t, _ in seen} == {"Building the vocabulary…", "Encoding the text…"}


def _lm_corpus(text: str):
    from rnnviz.data import Corpus

    return Corpus([text], np.zeros(1, np.int64), [], "test")


CHILD = """
import sys
from multiprocessing.connection import Connection
from rnnviz.session_process import child_entry
child_entry(int(sys.argv[1]), int(sys.argv[2]))
"""


@pytest.mark.skipif(os.name != "posix", reason="passes socket descriptors")
def test_the_child_process_runs_the_session_without_qt():
    cmd_parent, cmd_child = socket.socketpair()
    evt_parent, evt_child = socket.socketpair()
    fds = (cmd_child.fileno(), evt_child.fileno())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", CHILD, *map(str, fds)], pass_fds=fds,
                             env=env, cwd=ROOT)  # fmt: skip
    cmd_child.close()
    evt_child.close()
    commands, events = Connection(cmd_parent.detach()), Connection(evt_parent.detach())
    try:
        name, (qt_modules,) = receive_event(events)
        assert name == UP_EVENT and qt_modules == [], qt_modules  # no PySide6 in the child
        commands.send(("load", ("sample:sentiment", SMALL)))
        commands.send(("step", ()))
        commands.send(("set_attribute", ("frame_seconds", 0.0)))
        seen = []
        while not any(n == "resume_ready" and a[0]["step"] == 1 for n, a in seen):
            assert events.poll(60), seen
            seen.append(receive_event(events))
        names = [n for n, _ in seen]  # a step: shown, then kept for a restart
        assert names.index("info_ready") < names.index("resume_ready")
        assert any(n == "snapshot_ready" and a[0].snapshot.step == 1 for n, a in seen)
        commands.send(("quit", ()))
        assert child.wait(10) == 0
    finally:
        if child.poll() is None:
            child.kill()
        commands.close()
        events.close()


@pytest.mark.parametrize("min_count", [1, 2, 3])
def test_a_classifier_built_in_pieces_has_the_vocabulary_of_one_fit(min_count):
    from rnnviz.data import Corpus

    rng = np.random.default_rng(0)
    texts = [" ".join(f"w{k}" for k in rng.zipf(1.5, 8) % 300) for _ in range(400)]
    corpus = Corpus(texts, [i % 2 for i in range(400)], ["a", "b"], "test")
    config = SMALL.replace(min_count=min_count)
    pieces = Trainer(corpus, config, progress=lambda text, fraction: None)
    whole = Tokenizer("word", min_count=min_count).fit(pieces.train_texts)
    assert pieces.tokenizer.id_to_word == whole.id_to_word
    np.testing.assert_array_equal(pieces.train_ids, Trainer(corpus, config).train_ids)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux nices one thread")
def test_the_child_builds_a_run_on_a_nicer_thread_and_trains_on_its_own(monkeypatch):
    import threading

    from rnnviz import session_process

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    seen = {}

    def load(self, source, config):
        seen["load"] = (niceness(), threading.current_thread().name)

    def reset(self, config):
        raise ValueError("no room for that model")

    monkeypatch.setattr(Session, "load", load)
    monkeypatch.setattr(Session, "reset", reset)
    monkeypatch.setattr(Session, "start", lambda self: seen.setdefault("start", niceness()))

    class Commands:
        def __init__(self, *items) -> None:
            self.items = list(items)

        def recv(self):
            return self.items.pop(0)

    out = Recorder()
    session = Session(out)
    commands = Commands(("load", ("x.tsv", SMALL)), ("start", ()), ("reset", (SMALL,)))
    for _ in range(3):
        session_process._handle(session, commands, threading.Event())
    base = niceness()
    assert seen["load"] == (min(base + session_process.BUILD_NICE, 19), "rnnviz-build")
    assert seen["start"] == base  # training keeps the trainer's priority
    assert out.named("error") == [("reset failed: no room for that model",)]  # as before


def test_a_checkpoint_goes_on_at_its_step_and_plain_text_is_offered_to_the_lm(tmp_path):
    session, out = loaded()
    session.step()
    session.step()
    path = tmp_path / "model.npz"
    session.save(str(path))
    assert out.named("saved") == [(str(path),)]
    session.reset(SMALL)
    assert out.named("info_ready")[-1][0].step == 0
    session.load_checkpoint(str(path))
    assert out.named("info_ready")[-1][0].step == 2 and session.trainer.step_count == 2
    session.load_checkpoint(str(tmp_path / "missing.npz"))
    assert out.named("error")[-1][0].startswith("Could not load the model: ")
    assert "\n" not in out.named("error")[-1][0]

    plain, out = loaded(SMALL, "sample:prose")  # a classifier asked to read plain text
    assert plain.trainer is None and not out.named("load_failed")
    ((source, message),) = out.named("plain_text_found")
    assert source == "sample:prose" and "plain text" in message
