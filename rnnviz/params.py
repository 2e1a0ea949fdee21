"""Named parameter arrays that all live in one contiguous buffer.

Optimisers, clipping and norms then work on `flat` with a handful of NumPy calls
instead of a Python loop over parameters: at the interactive size (a few thousand
weights) that loop overhead would dominate a training step.
"""

from __future__ import annotations

import numpy as np


class ParamDict(dict):
    """A dict name -> ndarray whose values are views into one 1-D buffer `flat`."""

    flat: np.ndarray
    offsets: np.ndarray  # (K,) start of each entry in `flat`, in key order

    @classmethod
    def allocate(cls, shapes: dict[str, tuple[int, ...]], dtype) -> ParamDict:
        """Zero-filled arrays of the given shapes, backed by one buffer."""
        sizes = [int(np.prod(shape)) for shape in shapes.values()]
        out = cls()
        out.flat = np.zeros(sum(sizes), dtype=dtype)
        out.offsets = np.cumsum([0, *sizes[:-1]]).astype(np.intp)
        for (name, shape), start, size in zip(shapes.items(), out.offsets, sizes, strict=True):
            dict.__setitem__(out, name, out.flat[start : start + size].reshape(shape))
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], dtype=None) -> ParamDict:
        """A ParamDict holding copies of `arrays`."""
        dtype = dtype or np.result_type(*arrays.values())
        out = cls.allocate({k: np.shape(v) for k, v in arrays.items()}, dtype)
        for name, value in arrays.items():
            out[name][...] = value
        return out

    def zeros_like(self) -> ParamDict:
        return ParamDict.allocate({k: v.shape for k, v in self.items()}, self.flat.dtype)

    def copy(self) -> ParamDict:
        out = self.zeros_like()
        out.flat[...] = self.flat
        return out

    def __setitem__(self, name, value):
        # Rebinding a name would detach it from `flat`; assign in place instead.
        if name in self:
            self[name][...] = value
        else:
            raise KeyError(f"cannot add {name!r}: a ParamDict's layout is fixed")

    def norms(self) -> dict[str, float]:
        """L2 norm of each entry, from one pass over the buffer."""
        sums = np.add.reduceat(self.flat * self.flat, self.offsets) if len(self.flat) else []
        return {name: float(np.sqrt(s)) for name, s in zip(self, sums, strict=True)}

    def block(self, names: tuple[str, ...]) -> np.ndarray | None:
        """One (rows, columns) view over entries that follow each other in `flat` and
        have the same number of columns (e.g. W (D, H), W_h (H, H), b_h (H,) -> a
        (D+H+1, H) matrix), or None when they are not laid out so."""
        keys = list(self)
        if not all(name in self for name in names):
            return None
        first = keys.index(names[0])
        if tuple(keys[first : first + len(names)]) != tuple(names):
            return None
        columns = self[names[0]].shape[-1]
        if any(self[name].shape[-1] != columns for name in names):
            return None
        start = int(self.offsets[first])
        size = sum(self[name].size for name in names)
        return self.flat[start : start + size].reshape(-1, columns)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: v.shape for k, v in self.items()}


def same_layout(a: dict, b: dict) -> bool:
    """True when a and b are ParamDicts with the same keys and shapes (flat paths apply)."""
    return (
        isinstance(a, ParamDict)
        and isinstance(b, ParamDict)
        and a.flat.shape == b.flat.shape
        and a.shapes() == b.shapes()
    )
