"""main.py as a user runs it: --screenshot offscreen, a real X server (Xvfb), and the
one-line message when Qt's xcb plugin cannot load."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gui.platform_check import missing_libraries, platform_problem

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_main(args, env_changes, timeout=120):
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def test_screenshot_offscreen(tmp_path):
    out = tmp_path / "shot.png"
    result = run_main(
        ["--screenshot", str(out), "--steps", "20", "--panel", "corpus"],
        {"QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert "Traceback" not in result.stderr


def test_real_window_under_xvfb(tmp_path):
    """The xcb plugin, a real X server: window shown, 5 steps, grabbed, closed cleanly."""
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run not found (apt-get install xvfb): cannot test a real X11 window")
    out = tmp_path / "xcb.png"
    result = run_main(
        ["--screenshot", str(out), "--steps", "5"],
        {"QT_QPA_PLATFORM": "xcb", "DISPLAY": "", "WAYLAND_DISPLAY": ""},
        timeout=180,
    )
    # Without a display the app must refuse with one line (and exit 2), not abort.
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "rnnviz:" in result.stderr
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, "main.py",
           "--screenshot", str(out), "--steps", "5"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:8] == PNG_MAGIC
    for bad in ("QThread: Destroyed", "Aborted", "Traceback", "core dumped"):
        assert bad not in proc.stderr


def test_missing_xcb_library_gives_one_line():
    ldd = (
        "\tlinux-vdso.so.1 (0x00007ffd)\n"
        "\tlibxcb-cursor.so.0 => not found\n"
        "\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)\n"
    )
    assert missing_libraries(Path("libqxcb.so"), ldd) == ["libxcb-cursor.so.0"]
    if not sys.platform.startswith("linux"):
        pytest.skip("the xcb check is Linux-only")
    message = platform_problem({"DISPLAY": ":0"}, ldd_output=ldd)
    if message is None:  # PySide6 without its xcb plugin: nothing to check
        pytest.skip("PySide6's libqxcb.so is not installed")
    assert "\n" not in message
    assert "apt-get install -y libxcb-cursor0" in message
    assert "QT_QPA_PLATFORM=offscreen" in message


def test_no_display_gives_one_line_and_offscreen_passes():
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux-only")
    message = platform_problem({})
    assert message and "\n" not in message and "QT_QPA_PLATFORM=offscreen" in message
    assert platform_problem({"QT_QPA_PLATFORM": "offscreen"}) is None


def test_main_without_display_exits_2_with_one_line():
    result = run_main([], {"DISPLAY": "", "WAYLAND_DISPLAY": ""}, timeout=60)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "QT_QPA_PLATFORM=offscreen" in lines[0]
