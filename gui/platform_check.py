"""Can Qt open a window here? Checked before QApplication, because Qt aborts otherwise.

Qt 6's xcb plugin needs system libraries a fresh Linux machine may lack (notably
libxcb-cursor0); without them Qt prints a long message and aborts the process. We look
first and print one line saying what to install instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Debian/Ubuntu packages that provide the xcb plugin's usual missing libraries.
APT_PACKAGES = (
    "libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 "
    "libxcb-xkb1 libxcb-render-util0 libxcb-image0 libegl1 libgl1 libfontconfig1 libdbus-1-3"
)
APT_LINE = f"sudo apt-get install -y {APT_PACKAGES}"
LIB_TO_PACKAGE = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-image.so.0": "libxcb-image0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}
OFFSCREEN_HINT = "or run with QT_QPA_PLATFORM=offscreen (screenshots, no window)"


def xcb_plugin_path() -> Path | None:
    """PySide6's libqxcb.so, if present."""
    try:
        import PySide6
    except ImportError:
        return None
    path = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.exists() else None


def missing_libraries(plugin: Path, ldd_output: str | None = None) -> list[str]:
    """Shared libraries of `plugin` that the dynamic loader cannot find ("not found")."""
    if ldd_output is None:
        ldd = shutil.which("ldd")
        if ldd is None:
            return []
        try:
            ldd_output = subprocess.run(
                [ldd, str(plugin)], capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return []
    return re.findall(r"^\s*(\S+)\s+=>\s+not found", ldd_output, flags=re.MULTILINE)


def platform_problem(environ: dict | None = None, ldd_output: str | None = None) -> str | None:
    """One line explaining why no window can open, or None when it should work."""
    env = os.environ if environ is None else environ
    requested = env.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux"):
        return None
    if requested and not requested.startswith(("xcb", "wayland")):
        return None  # offscreen, minimal, vnc, eglfs ...: nothing to check
    if not requested and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return (
            "rnnviz: no display found (DISPLAY and WAYLAND_DISPLAY are unset): run it in a "
            f"desktop session, {OFFSCREEN_HINT}"
        )
    if requested.startswith("xcb") and not env.get("DISPLAY"):
        return (
            "rnnviz: QT_QPA_PLATFORM=xcb but DISPLAY is unset: start an X session (or "
            f"`xvfb-run -a python main.py ...`), {OFFSCREEN_HINT}"
        )
    if requested.startswith("wayland") or (not requested and not env.get("DISPLAY")):
        return None  # Wayland: Qt's wayland plugin has its own libraries; let Qt try
    plugin = xcb_plugin_path()
    if plugin is None:
        return None
    missing = missing_libraries(plugin, ldd_output)
    if not missing:
        return None
    packages = sorted({LIB_TO_PACKAGE.get(lib, lib) for lib in missing})
    return (
        f"rnnviz: Qt's xcb platform plugin cannot load (missing {', '.join(missing)}): "
        f"install them with `sudo apt-get install -y {' '.join(packages)}` "
        f"(all of them: `{APT_LINE}`), {OFFSCREEN_HINT}"
    )
