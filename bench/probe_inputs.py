"""Feed hostile input to the command line, one subprocess each, and count what happens.

    python bench/probe_inputs.py [--timeout 90] [--only WORD]

Outcomes: "clear error" (non-zero exit, one line, or argparse's usage + one line),
"handled" (exit 0 and the case's own check passes: a warning said, a sample reported,
a file saved), "silent wrong" (exit 0 but the check fails), "traceback", "hang" (no
exit within --timeout), "abort" (killed by a signal). Issue 16's probe, re-run for the
data, command-line, checkpoint and number cases (the window's and the worker's cases
are measured elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Not run with --root (an older checkout): there they overwrite a device node as root,
# or allocate tens of GB on a shared machine.
UNSAFE_ELSEWHERE = ("/dev/", "batch 10^7", "lm hidden 50000", "maxlen 100000")


@dataclass
class Case:
    name: str
    args: list[str]
    expect: str  # "error" or "handled"
    check: object = None  # (CompletedProcess, tmp Path) -> bool, for "handled"
    interrupt_after: float | None = None  # send SIGINT after this many seconds
    setup: object = None  # (tmp Path) -> None, before the run
    env: dict = field(default_factory=dict)


def rows(n: int, sep: str = ",") -> list[str]:
    return [f"{'pos' if i % 2 else 'neg'}{sep}text number {i} here" for i in range(n)]


def write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def make_files(tmp: Path) -> dict[str, str]:
    unclosed = rows(1000)
    unclosed[10] = 'pos,"an unclosed quote'
    late = [f"{'spam' if i % 2 else 'ham'}\tmessage {i}" for i in range(1500)]
    late += [f"free text number {i}\tmessage {i}" for i in range(20_000)]
    words = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta")
    big = [f"{'pos' if i % 2 else 'neg'}\t{' '.join(words[(i + k) % 8] for k in range(6))}"
           for i in range(600_000)]  # fmt: skip
    folder = tmp / "linked"
    for name in ("pos", "neg"):
        (folder / name).mkdir(parents=True)
        for i in range(5):
            (folder / name / f"{i}.txt").write_text(f"{name} words number {i}")
    (folder / "etc").symlink_to("/etc")
    (folder / "pos" / "passwd.txt").symlink_to("/etc/passwd")
    (tmp / "folder").mkdir()
    subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--task", "lm", "--data",
                    "sample:prose", "--hidden", "16", "--epochs", "1", "--save",
                    str(tmp / "lm.npz")], capture_output=True, check=True, cwd=tmp,
                   env=dict(os.environ, PYTHONPATH=str(ROOT)))  # fmt: skip
    return {
        "unclosed": write(tmp / "unclosed.csv", unclosed),
        "late": write(tmp / "late.tsv", late),
        "rare": write(tmp / "rare.csv", [*rows(400), "rare,only once", "odd,a", "odd,b"]),
        "big": write(tmp / "big.tsv", big[:60_000]),
        "huge": write(tmp / "huge.tsv", big),
        "linked": str(folder),
    }


def cases(f: dict[str, str], tmp: Path) -> list[Case]:
    train = ["train", "--epochs", "1"]
    lm = ["generate", "--model", str(tmp / "lm.npz")]
    error = [
        ("clip-value -1", [*train, "--clip-value", "-1"]),
        ("clip-value 0", [*train, "--clip-value", "0"]),
        ("lr inf", [*train, "--lr", "inf"]),
        ("lr 1e-300", [*train, "--lr", "1e-300"]),
        ("lr nan", [*train, "--lr", "nan"]),
        ("lr -1", [*train, "--lr", "-1"]),
        ("recurrent-gain inf", [*train, "--recurrent-gain", "inf"]),
        ("weight-decay nan", [*train, "--weight-decay", "nan"]),
        ("weight-decay -1", [*train, "--weight-decay", "-1"]),
        ("dropout 1.5", [*train, "--task", "lm", "--dropout", "1.5"]),
        ("output-dropout -0.1", [*train, "--task", "lm", "--output-dropout", "-0.1"]),
        ("lr-decay 0", [*train, "--task", "lm", "--lr-decay", "0"]),
        ("weight-average 1", [*train, "--weight-average", "1"]),
        ("val-fraction nan", [*train, "--val-fraction", "nan"]),
        ("val-fraction 1", [*train, "--val-fraction", "1"]),
        ("batch-size 0", [*train, "--batch-size", "0"]),
        ("epochs -1", ["train", "--epochs", "-1"]),
        ("bptt 0", [*train, "--task", "lm", "--bptt", "0"]),
        ("embed 0", [*train, "--embed", "0"]),
        ("threads -1", [*train, "--threads", "-1"]),
        ("batch-threads 0", [*train, "--batch-threads", "0"]),
        ("patience -1", [*train, "--patience", "-1"]),
        ("seed -1", [*train, "--seed", "-1"]),
        ("max-seconds nan", [*train, "--max-seconds", "nan"]),
        ("max-seconds 0", [*train, "--max-seconds", "0"]),
        ("label-column 99", [*train, "--data", f["rare"], "--label-column", "99"]),
        ("hidden 100000", [*train, "--hidden", "100000"]),
        ("maxlen 100000", [*train, "--maxlen", "100000"]),
        ("batch 10^7, maxlen 10^5", [*train, "--batch-size", "10000000", "--maxlen", "100000"]),
        (
            "lm hidden 50000",
            [*train, "--task", "lm", "--data", "sample:prose", "--hidden", "50000"],
        ),
        ("temperature nan", [*lm, "--temperature", "nan"]),
        ("temperature -1", [*lm, "--temperature", "-1"]),
        ("temperature inf", [*lm, "--temperature", "inf"]),
        ("top-k 0", [*lm, "--top-k", "0"]),
        ("top-k -1", [*lm, "--top-k", "-1"]),
        ("length -5", [*lm, "--length", "-5"]),
        ("app --size 10x", ["--screenshot", str(tmp / "x.png"), "--size", "10x"]),
        ("app --size abc", ["--screenshot", str(tmp / "x.png"), "--size", "abc"]),
        ("app --lr inf", ["--screenshot", str(tmp / "x.png"), "--lr", "inf"]),
        ("app --profile-ui nan", ["--profile-ui", "nan"]),
        ("save: missing folder", [*train, "--save", str(tmp / "no" / "m.npz")]),
        ("save: a folder", [*train, "--save", str(tmp / "folder")]),
        ("save: /dev/null", [*train, "--save", "/dev/null"]),
        ("save: /dev/full", [*train, "--save", "/dev/full"]),
        ("save: /sys (unwritable)", [*train, "--save", "/sys/m.npz"]),
        ("label column turns to free text", [*train, "--data", f["late"]]),
        (
            "lr 50, clipping off (explodes)",
            ["train", "--epochs", "20", "--lr", "50", "--clip", "none"],
        ),
    ]
    out = [Case(name, args, "error") for name, args in error]
    out += [
        Case("unclosed CSV quote", [*train, "--data", f["unclosed"], "--json"], "handled",
             lambda r, t: "quote" in r.stderr and _json(r)["train_examples"] > 500),
        Case("classes with very few examples", [*train, "--data", f["rare"]], "handled",
             lambda r, t: "fewer than 5 examples" in r.stderr),
        Case("symlinks out of a corpus folder",
             [*train, "--data", f["linked"], "--save", str(tmp / "linked.npz")], "handled",
             lambda r, t: "symbolic links" in r.stderr and b"root" not in _vocab(t)),
        Case("--max-seconds 1 on 60k lines",
             ["train", "--data", f["big"], "--max-seconds", "1", "--batch-size", "1", "--json"],
             "handled", lambda r, t: "report_sample" in _json(r)),
        Case("a step longer than --max-seconds",
             ["train", "--hidden", "2000", "--maxlen", "200", "--batch-size", "128",
              "--max-seconds", "0.5", "--json"], "handled",
             lambda r, t: _json(r)["stop_reason"] == "time limit"),
        Case("stale .tmp of a killed save; file mode",
             [*train, "--save", str(tmp / "m.npz")], "handled",
             lambda r, t: not list(t.glob(".m.npz.*.tmp"))
             and stat.S_IMODE((t / "m.npz").stat().st_mode) == 0o644,
             setup=lambda t: (t / ".m.npz.999999.k1ll3d.tmp").write_bytes(b"half")),
        Case("Ctrl-C while training",
             ["train", "--epochs", "100000", "--json", "--save", str(tmp / "c.npz")], "handled",
             lambda r, t: _json(r)["stop_reason"] == "interrupted" and (t / "c.npz").exists(),
             interrupt_after=8.0),
        Case("Ctrl-C while loading", ["train", "--data", f["huge"]], "error",
             interrupt_after=1.5),
    ]  # fmt: skip
    return out


def _progress(line: str) -> bool:
    line = line.rsplit("\r", 1)[-1].rstrip()
    return line.endswith((": done", "…")) or re.search(r": +\d+%$", line) is not None


def _json(run) -> dict:
    return json.loads(run.stdout.strip().splitlines()[-1])


def _vocab(tmp: Path) -> bytes:
    import numpy as np

    with np.load(tmp / "linked.npz") as archive:
        return archive["header_json"].tobytes()


def run_case(case: Case, tmp: Path, timeout: float, root: Path = ROOT) -> tuple[str, str]:
    if case.setup:
        case.setup(tmp)
    env = dict(os.environ, PYTHONPATH=str(root), QT_QPA_PLATFORM="offscreen", **case.env)
    command = [sys.executable, str(root / "main.py"), *case.args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp)  # fmt: skip
    try:
        if case.interrupt_after:
            time.sleep(case.interrupt_after)
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return "hang", f"no exit within {timeout:.0f} s"
    run = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    # Progress lines (rnnviz.data.Progress on a log: "reading X: done", a phase that
    # ends in "…", "label:  42%" on a terminal) are not part of an error's text.
    lines = [line for line in err.splitlines() if line.strip() and not _progress(line)]
    last = lines[-1] if lines else ""
    if "Traceback" in err:
        return "traceback", last
    if run.returncode < 0 or run.returncode == 134:
        return "abort", f"exit {run.returncode}"
    if run.returncode != 0:
        usage = [line for line in lines if not line.startswith(("usage:", " "))]
        ok = len(usage) == 1 and case.expect == "error"
        return ("clear error" if ok else "unclear error"), last
    try:
        ok = case.check is not None and case.check(run, tmp)
    except Exception as exc:  # a missing report, file or key is a wrong result
        ok, last = False, f"check failed: {exc}"
    return ("handled" if ok else "silent wrong"), last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=90.0)
    parser.add_argument("--only", default="", help="run the cases whose name has this")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the checkout to probe (e.g. /work/main: before)")  # fmt: skip
    args = parser.parse_args()
    root = args.root.resolve()
    devices = {d: os.stat(d).st_rdev for d in ("/dev/null", "/dev/full")}
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as folder:
        files = make_files(Path(folder))
        for case in cases(files, Path(folder)):
            if args.only not in case.name:
                continue
            if root != ROOT and any(word in case.name for word in UNSAFE_ELSEWHERE):
                counts["not run"] += 1
                print(f"{'not run':<13} {'':6}  {case.name:<36} unsafe on an older checkout")
                continue
            started = time.perf_counter()
            outcome, detail = run_case(case, Path(folder), args.timeout, root)
            counts[outcome] += 1
            seconds = time.perf_counter() - started
            print(f"{outcome:<13} {seconds:5.1f}s  {case.name:<36} {detail[:150]}", flush=True)
    for device, rdev in devices.items():
        if not stat.S_ISCHR(os.stat(device).st_mode) or os.stat(device).st_rdev != rdev:
            counts["device replaced"] += 1
            print(f"{device} is no longer the device it was", flush=True)
    print(json.dumps(dict(counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
