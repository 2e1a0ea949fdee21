"""Training movies: grab a widget every few hundred milliseconds, write an animated GIF.

No extra dependency: frames are Qt grabs turned into NumPy arrays, one global
256-colour palette is picked from a 15-bit histogram of all frames, and the GIF is
written here (LZW in pure Python, on the changed rectangle of each frame only, so
plots whose axes stand still encode quickly and compactly).
"""

from __future__ import annotations

import os
import struct

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

MAX_FRAMES = 120  # kept in memory; when full every other frame goes and the interval doubles
MAX_WIDTH = 800  # frames are scaled down to this width


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """A QImage -> (H, W, 3) uint8 array (a copy)."""
    image = image.convertToFormat(QImage.Format_RGB888)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h)
    return buf.reshape(h, image.bytesPerLine())[:, : 3 * w].reshape(h, w, 3).copy()


def palette_for(frames: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """One 256-colour palette for all frames and each frame as (H, W) palette indices."""
    codes = []
    for f in frames:
        q = f.astype(np.int32) >> 3  # 5 bits a channel
        codes.append((q[..., 0] << 10) | (q[..., 1] << 5) | q[..., 2])
    counts = np.bincount(np.concatenate([c.ravel() for c in codes]), minlength=1 << 15)
    used = np.flatnonzero(counts)
    chosen = used[np.argsort(-counts[used], kind="stable")[:256]]

    def rgb(c: np.ndarray) -> np.ndarray:
        return np.stack([(c >> 10) & 31, (c >> 5) & 31, c & 31], axis=-1) * 8 + 4  # bin centres

    pal = rgb(chosen).astype(np.int32)  # (K, 3)
    lut = np.zeros(1 << 15, np.uint8)
    d = ((rgb(used)[:, None, :].astype(np.int32) - pal[None]) ** 2).sum(axis=2)  # (U, K)
    lut[used] = d.argmin(axis=1)
    palette = np.zeros((256, 3), np.uint8)
    palette[: len(pal)] = np.clip(pal, 0, 255)
    return palette, [lut[c] for c in codes]


def lzw_encode(indices: bytes, min_code_size: int = 8) -> bytes:
    """GIF LZW of a byte string of palette indices (variable code size up to 12 bits)."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    out = bytearray()
    acc = n_bits = 0
    size = min_code_size + 1
    table: dict[int, int] = {}
    next_code = end + 1

    acc |= clear << n_bits
    n_bits += size
    prefix = indices[0]
    for byte in indices[1:]:
        key = (prefix << 8) | byte
        code = table.get(key)
        if code is not None:
            prefix = code
            continue
        acc |= prefix << n_bits
        n_bits += size
        while n_bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            n_bits -= 8
        if next_code < 4096:
            table[key] = next_code
            next_code += 1
            if next_code > (1 << size) and size < 12:
                size += 1
        else:  # table full: start over
            acc |= clear << n_bits
            n_bits += size
            table.clear()
            next_code, size = end + 1, min_code_size + 1
        prefix = byte
    for code in (prefix, end):
        acc |= code << n_bits
        n_bits += size
        while n_bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            n_bits -= 8
    if n_bits:
        out.append(acc & 0xFF)
    return bytes(out)


def _blocks(data: bytes) -> bytes:
    parts = [bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255)]
    return b"".join(parts) + b"\x00"


def write_gif(path: str, frames: list[np.ndarray], delay_ms: int = 200) -> None:
    """Write (H, W, 3) uint8 frames (same size) as a looping GIF89a, atomically."""
    if not frames:
        raise ValueError("no frames to write")
    h, w = frames[0].shape[:2]
    palette, indexed = palette_for(frames)
    out = [b"GIF89a", struct.pack("<HHBBB", w, h, 0xF7, 0, 0), palette.tobytes()]
    out.append(b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00")  # loop forever
    delay = max(2, round(delay_ms / 10))
    previous = None
    for frame in indexed:
        if previous is None:
            top, left, bottom, right = 0, 0, h, w
        else:
            changed = frame != previous
            rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
            if len(rows):
                top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            else:
                top, left, bottom, right = 0, 0, 1, 1
        previous = frame
        out.append(struct.pack("<BBBBHBB", 0x21, 0xF9, 4, 1 << 2, delay, 0, 0))  # keep frame
        out.append(struct.pack("<BHHHHB", 0x2C, left, top, right - left, bottom - top, 0))
        patch = np.ascontiguousarray(frame[top:bottom, left:right]).tobytes()
        out.append(b"\x08" + _blocks(lzw_encode(patch)))
    out.append(b"\x3b")
    tmp = f"{path}.part"
    with open(tmp, "wb") as f:
        f.write(b"".join(out))
    os.replace(tmp, path)


class MovieRecorder(QObject):
    """Grabs a widget at a fixed interval while recording (bounded memory)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 250) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.frames: list[np.ndarray] = []
        self.widget: QWidget | None = None
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.grab)

    @property
    def recording(self) -> bool:
        return self.timer.isActive()

    def start(self, widget: QWidget) -> None:
        self.widget, self.frames = widget, []
        self.timer.start(self.interval_ms)
        self.grab()

    def stop(self) -> None:
        self.timer.stop()

    def grab(self) -> None:
        """Add one frame now (skipped when the widget's size changed)."""
        if self.widget is None:
            return
        image = self.widget.grab().toImage()
        if image.width() > MAX_WIDTH:
            image = image.scaledToWidth(MAX_WIDTH, Qt.SmoothTransformation)
        frame = qimage_to_rgb(image)
        if self.frames and frame.shape != self.frames[0].shape:
            return
        self.frames.append(frame)
        if len(self.frames) >= MAX_FRAMES:
            self.frames = self.frames[::2]
            self.timer.setInterval(self.timer.interval() * 2)

    def save(self, path: str) -> int:
        """Write the recorded frames as a GIF; returns how many."""
        delay = self.timer.interval() if self.frames else self.interval_ms
        write_gif(path, self.frames, delay)
        return len(self.frames)
