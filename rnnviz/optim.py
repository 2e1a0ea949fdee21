"""Optimisers (SGD, momentum, Adam) and gradient clipping.

Each optimiser updates `params` in place from `grads` (dicts with the same keys).
When both are ParamDicts with one layout (as the models' are), the whole update is a
few NumPy calls on the flat buffers instead of a Python loop over parameters.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from rnnviz.parallel import PARALLEL_MIN_SIZE, even_slices
from rnnviz.params import ParamDict, same_layout


def clip_gradients(grads: dict, mode: str = "norm", value: float = 5.0) -> tuple[float, bool]:
    """Clip in place. mode "norm": rescale so the global L2 norm is at most `value`;
    "value": clamp every element to [-value, value] (the seed's); "none".

    Returns (global norm before clipping, whether anything changed).
    """
    if isinstance(grads, ParamDict):
        arrays = [grads.flat]
        total = math.sqrt(float(np.dot(grads.flat, grads.flat)))
    else:
        arrays = list(grads.values())
        total = math.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in arrays))
    if mode == "none" or not math.isfinite(total):
        return total, False
    if mode == "norm":
        if total > value:
            scale = value / (total + 1e-12)
            for g in arrays:
                g *= scale
            return total, True
        return total, False
    if mode == "value":
        clipped = any(bool(np.abs(g).max(initial=0) > value) for g in arrays)
        if clipped:
            for g in arrays:
                np.clip(g, -value, value, out=g)
        return total, clipped
    raise ValueError(f"clip mode must be 'norm', 'value' or 'none'; got {mode!r}")


class Optimizer:
    """Base class: optional clipping, then `_update` on (param, grad, state) triples.

    Parameters
    ----------
    lr : learning rate (may be changed between steps: `opt.lr = ...`).
    clip_norm : clip the global gradient norm to this (None: off).
    clip_value : clamp each gradient element to +-this (None: off).
    weight_decay : decoupled decay, p -= lr * weight_decay * p, on the weight matrices.
    """

    def __init__(
        self,
        lr: float,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        weight_decay: float = 0.0,
    ) -> None:
        self.lr = lr
        self.clip_norm, self.clip_value = clip_norm, clip_value
        self.weight_decay = weight_decay
        self.t = 0
        self.state: dict = {}
        self.last_norm = 0.0  # global gradient norm before clipping, from the last step
        self.last_clipped = False
        self._layout_key: tuple | None = None
        self._layout_same = False
        # Optional: a rnnviz.parallel.BatchSplit (anything with `threads` and `run(calls)`):
        # a large flat update is then done in that many slices side by side.
        self.parallel = None

    slot_names: tuple[str, ...] = ()  # per-parameter state arrays, allocated like it
    kept_slots: tuple[str, ...] = ()  # ... of them, those carried from step to step

    def state_dict(self) -> dict:
        """Copies of what the optimiser carries from step to step: its step count and
        moments (a run that goes on elsewhere, e.g. after its process was killed)."""
        slots = {
            name: {"shape": slot["shape"], **{k: slot[k].copy() for k in self.kept_slots}}
            for name, slot in self.state.items()
        }
        return {"t": self.t, "slots": slots}

    def load_state_dict(self, state: dict) -> None:
        """Go on from a `state_dict()` of an optimiser of the same kind."""
        self.t = int(state["t"])
        self.state = {}
        for name, saved in state["slots"].items():
            like = next((saved[k] for k in self.kept_slots if k in saved), None)
            if like is None:
                continue
            slot = self.state[name] = {"shape": tuple(saved["shape"])}
            for k in self.slot_names:
                slot[k] = np.array(saved[k]) if k in saved else np.zeros_like(like)

    def step(self, params: dict, grads: dict) -> None:
        """Clip `grads` (in place) if configured, then update `params` in place."""
        if self.clip_norm is not None:
            self.last_norm, self.last_clipped = clip_gradients(grads, "norm", self.clip_norm)
        elif self.clip_value is not None:
            self.last_norm, self.last_clipped = clip_gradients(grads, "value", self.clip_value)
        else:
            self.last_norm, self.last_clipped = clip_gradients(grads, "none")
        self.t += 1
        if self.weight_decay:
            for p in params.values():
                if p.ndim == 2:
                    p *= 1.0 - self.lr * self.weight_decay
        if self._flat_ok(params, grads):
            p, g, slot = params.flat, grads.flat, self._slot("__flat__", params.flat)
            if self.parallel is not None and p.size >= PARALLEL_MIN_SIZE:
                self._update_in_slices(p, g, slot)
            else:
                self._update(p, g, slot)
        else:
            for name, p in params.items():
                self._update(p, grads[name], self._slot(name, p))

    def _update_in_slices(self, p: np.ndarray, g: np.ndarray, slot: dict) -> None:
        """The element-wise update on slices of the flat buffer, one per thread."""
        calls = [
            partial(self._update, p[part], g[part], {k: slot[k][part] for k in self.slot_names})
            for part in even_slices(p.size, self.parallel.threads)
        ]
        self.parallel.run(calls)

    def _flat_ok(self, params: dict, grads: dict) -> bool:
        """Whether the one-buffer fast path applies (checked once per pair of dicts)."""
        key = (id(params), id(grads))
        if self._layout_key != key:
            self._layout_key, self._layout_same = key, same_layout(params, grads)
        return self._layout_same

    def _slot(self, name: str, like: np.ndarray) -> dict:
        slot = self.state.get(name)
        if slot is None or slot["shape"] != like.shape:
            slot = self.state[name] = {"shape": like.shape}
            slot.update((k, np.zeros_like(like)) for k in self.slot_names)
        return slot

    def _update(self, p: np.ndarray, g: np.ndarray, slot: dict) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """p -= lr * g (the seed's optimiser)."""

    def __init__(self, lr: float = 0.05, **kwargs) -> None:
        super().__init__(lr, **kwargs)

    def _update(self, p, g, slot):
        p -= self.lr * g


class Momentum(Optimizer):
    """Heavy-ball momentum: v = mu v + g; p -= lr v."""

    def __init__(self, lr: float = 0.02, momentum: float = 0.9, **kwargs) -> None:
        super().__init__(lr, **kwargs)
        self.momentum = momentum

    slot_names = ("v",)
    kept_slots = ("v",)

    def _update(self, p, g, slot):
        v = slot["v"]
        v *= self.momentum
        v += g
        p -= self.lr * v


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction."""

    def __init__(
        self, lr: float = 2e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, **kw
    ) -> None:
        super().__init__(lr, **kw)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    slot_names = ("m", "v", "tmp")
    kept_slots = ("m", "v")  # (tmp is scratch space)

    def _update(self, p, g, slot):
        m, v, tmp = slot["m"], slot["v"], slot["tmp"]
        b1, b2 = self.beta1, self.beta2
        # The moments are kept without their (1 - beta) factors, m~ = m / (1 - b1) and
        # v~ = v / (1 - b2), which saves two passes over the buffer; the factors and the
        # bias correction fold into two scalars (Python floats: an array op with a NumPy
        # scalar costs ~1 us more). Same update as the textbook form, up to rounding:
        #   lr m_hat / (sqrt(v_hat) + eps) = lr c1 / s * m~ / (sqrt(v~) + eps / s),
        #   c1 = (1 - b1) / (1 - b1^t),  s = sqrt((1 - b2) / (1 - b2^t)).
        m *= b1
        m += g
        v *= b2
        np.multiply(g, g, out=tmp)
        v += tmp
        c1 = (1.0 - b1) / (1.0 - b1**self.t)
        s = math.sqrt((1.0 - b2) / (1.0 - b2**self.t))
        np.sqrt(v, out=tmp)
        tmp += self.eps / s
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr * c1 / s
        p -= tmp


def make_optimizer(config) -> Optimizer:
    """The optimiser a Config asks for."""
    clip = {"clip_norm": None, "clip_value": None}
    if config.clip == "norm":
        clip["clip_norm"] = config.clip_value
    elif config.clip == "value":
        clip["clip_value"] = config.clip_value
    common = dict(weight_decay=config.weight_decay, **clip)
    if config.optimizer == "sgd":
        return SGD(config.lr, **common)
    if config.optimizer == "momentum":
        return Momentum(config.lr, momentum=config.momentum, **common)
    return Adam(config.lr, beta1=config.momentum, **common)
