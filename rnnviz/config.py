"""One dataclass of hyper-parameters, used by the core, the CLI and the GUI."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

OPTIMIZERS = ("adam", "sgd", "momentum")
HEADS = ("softmax", "tanh")
INITS = ("uniform", "xavier", "orthogonal")
CELLS = ("rnn", "gru", "lstm")
GATE_INITS = ("chrono", "zero")
CLIPS = ("norm", "value", "none")
LEVELS = ("word", "char")
TASKS = ("classify", "lm")
EARLY_STOP_METRICS = ("loss", "accuracy")
# A learning rate that works out of the box for each optimiser (Config.lr is Adam's).
DEFAULT_LR = {"adam": 1e-3, "momentum": 0.05, "sgd": 0.1}
# Gated cells learn at Adam 5e-3 (sample:recall?length=300, 3 epochs: GRU and LSTM 1.0 at
# 5e-3, chance at 1e-3); the tanh RNN's 1e-3 was chosen on real review sentences.
GATED_ADAM_LR = 5e-3


def default_lr(optimizer: str, cell: str = "rnn") -> float:
    """The learning rate a classifier starts with for this optimiser and cell."""
    if optimizer == "adam" and cell in ("gru", "lstm"):
        return GATED_ADAM_LR
    return DEFAULT_LR[optimizer]


# The decoupled weight decay the CLI uses with each optimiser unless told: the decay is
# scaled by the learning rate, and SGD's 50x larger rate would shrink the weights 1% a step.
DEFAULT_WEIGHT_DECAY = {"adam": 0.1, "momentum": 0.0, "sgd": 0.0}
# Bounds on numbers that cannot be meant outside them (a rate of 1e-300 never moves a
# float32 weight; 1e38 overflows it on the first step).
LR_RANGE = (1e-8, 1e3)
CLIP_RANGE = (1e-6, 1e9)  # clipping threshold, for both modes
GAIN_MAX = 100.0  # recurrent_gain
WEIGHT_DECAY_MAX = 100.0  # (decoupled: a step multiplies the weights by 1 - lr * decay)
SIZE_MAX = 1_000_000  # embed_dim, hidden_size, batch_size, bptt, maxlen (memory is
#                       checked separately, from the corpus: rnnviz/budget.py)
LR_SCHEDULES = ("constant", "plateau", "exponential")  # lm: Config.lr_schedule

# The settings a run takes between two steps, and the tasks that take each (every other
# field needs a Reset). Declared once: both trainers' `update`, the session and the
# GUI's controls read it through `live_fields(task)`.
LIVE = {
    "lr": TASKS,
    "clip": TASKS,
    "clip_value": TASKS,
    "batch_size": TASKS,  # lm: from the next epoch (the lanes are laid out per epoch)
    "mask_padding": TASKS,
    "weight_decay": TASKS,
    "momentum": TASKS,
    "epochs": TASKS,
    "patience": TASKS,
    "weight_average": TASKS,
    "eval_every": TASKS,
    "word_dropout": ("classify",),
    "embed_dropout": TASKS,
    "output_dropout": TASKS,
    "early_stop_metric": ("classify",),
    "keep_best": ("classify",),
    "lr_schedule": ("lm",),
    "lr_decay": ("lm",),
}


def live_fields(task: str) -> tuple[str, ...]:
    """The Config fields a run of `task` may change between two steps."""
    return tuple(name for name, tasks in LIVE.items() if task in tasks)


# The char-level language model's defaults, tuned on tinyshakespeare within a wall-clock
# budget on 2 cores (bench/bench_lm.py; figures in bench/README.md, "Language model").
LM_DEFAULTS = dict(
    task="lm",
    level="char",
    embed_dim=64,
    hidden_size=512,
    batch_size=64,
    bptt=32,  # twice the updates per token of bptt 64: much faster early progress
    lr=3e-3,  # 5e-3 diverges at H=512
    recurrent_gain=1.0,  # (the classifier's default is 0.5)
    lr_schedule="plateau",  # halve lr when validation stalls (floor: lr/32)
    output_dropout=0.2,  # on the states feeding the head (the non-recurrent path)
    embed_dropout=0.0,
    weight_decay=0.0,
    word_dropout=0.0,  # (the classifier's)
    keep_best=False,  # ends on the averaged weights of the last step
    early_stop_metric="loss",
    weight_average=0.999,  # evaluate the average of the last ~1000 steps' weights
    epochs=10,
    val_fraction=0.1,
    eval_every=200,
)
# Presets on top of LM_DEFAULTS. "default": the above. "fast": a state half as wide,
# ~2.5x more steps a second (for a quick look, or a slower machine).
LM_PRESETS = {
    "default": {},
    "fast": dict(hidden_size=256, lr=5e-3, output_dropout=0.0),
}


@dataclass(frozen=True)
class Config:
    """Everything that defines a run. Frozen: change it with `config.replace(...)`."""

    task: str = "classify"  # "classify" (label per text) or "lm" (next token)
    level: str = "word"  # tokenizer level: "word" or "char"
    split_punctuation: bool = True  # False: the seed's plain whitespace split
    maxlen: int = 0  # padded length; 0 = longest training text (a real corpus's capped at 100)
    embed_dim: int = 32  # D: embedding size
    hidden_size: int = 64  # H: recurrent state size
    cell: str = "rnn"  # recurrent cell: "rnn" (the seed's tanh RNN), "gru" or "lstm"
    gate_init: str = "chrono"  # gated cells' biases: "chrono" (T_max = maxlen or bptt) or "zero"
    head: str = "softmax"  # "softmax" + cross-entropy, or the seed's "tanh" + squared error
    mask_padding: bool = True  # carry the state through [PAD] steps
    init: str = "xavier"  # "uniform" (the seed's), "xavier", "orthogonal" (recurrent)
    recurrent_gain: float = 0.5  # W_h scaled by this after init: > 1 explodes gradients;
    #                              the classifier's 0.5 was measured (bench/README.md)
    optimizer: str = "adam"  # "adam", "sgd" (the seed's), "momentum"
    lr: float = 1e-3  # learning rate (the classifier's Adam; see DEFAULT_LR)
    momentum: float = 0.9  # for "momentum"; Adam's beta1
    weight_decay: float = 0.1  # decoupled (AdamW-style) decay on weight matrices, x lr a step
    clip: str = "norm"  # "norm" (global), "value" (element-wise, the seed's), "none"
    clip_value: float = 5.0  # threshold for either clipping mode
    batch_size: int = 32  # examples (classify) or windows (lm) per step
    bucketing: bool = True  # classify: batch texts of similar length (less padding to run)
    blas_threads: int = 1  # BLAS threads while training (see rnnviz/blas.py); 0 = NumPy's
    batch_threads: int = 1  # split each batch over this many threads, one BLAS thread
    #                         each (rnnviz/parallel.py): for machines with spare cores
    epochs: int = 30  # how many passes the CLI trains for
    val_fraction: float = 0.2  # held-out share (stratified for classify; tail for lm)
    eval_every: int = 25  # steps between validation passes; 0 = once per epoch
    patience: int = 0  # early stopping after this many evaluations without gain; 0 = off
    early_stop_metric: str = "accuracy"  # "best" is the top val "accuracy" or lowest "loss"
    keep_best: bool = True  # at the end of a run, go back to the best evaluation's weights
    bptt: int = 64  # lm: truncated BPTT window length
    seed: int = 0  # one seed for init, split and shuffling
    dtype: str = "float32"  # "float32" (fast) or "float64" (exact checks)
    # Classifier options (issue 12). The regularisers' defaults were chosen by measured
    # runs across seeds and corpora (bench/bench_defaults.py, figures in bench/README.md);
    # the language model sets its own in LM_DEFAULTS (below the class).
    label_names: str = ""  # class names in label order, "negative,positive"; "" = the data's
    min_count: int = 1  # words seen fewer times in training become [UNK]
    word_dropout: float = 0.3  # classify: share of training tokens replaced by [UNK] per batch
    embed_dropout: float = 0.3  # dropout on the input vectors while training, 0..1
    lr_schedule: str = "constant"  # lm: "constant", "plateau" or "exponential" (see lr_decay)
    lr_decay: float = 0.5  # lm: lr factor per evaluation without gain (plateau) or per epoch
    output_dropout: float = 0.5  # dropout on the state(s) feeding the output head, 0..1
    weight_average: float = 0.0  # decay of a moving average of the weights that evaluation
    #                              and checkpoints use (e.g. 0.999); 0 = off

    @classmethod
    def for_task(cls, task: str, preset: str = "default", **overrides) -> Config:
        """The defaults of `task` ("classify": Config(); "lm": LM_DEFAULTS with `preset`
        from LM_PRESETS), then `overrides`."""
        if task == "lm":
            if preset not in LM_PRESETS:
                raise ValueError(f"preset must be one of {', '.join(LM_PRESETS)}; got {preset!r}")
            return cls(**{**LM_DEFAULTS, **LM_PRESETS[preset], **overrides})
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
        return cls(**{"task": task, **overrides})

    def live_fields(self) -> tuple[str, ...]:
        """The fields this run may change between two steps (see LIVE)."""
        return live_fields(self.task)

    def replace(self, **changes) -> Config:
        """A copy with some fields changed (validated)."""
        return replace(self, **changes)

    def __post_init__(self) -> None:
        choices = {
            "task": TASKS,
            "level": LEVELS,
            "head": HEADS,
            "init": INITS,
            "cell": CELLS,
            "gate_init": GATE_INITS,
            "optimizer": OPTIMIZERS,
            "clip": CLIPS,
            "dtype": ("float32", "float64"),
            "early_stop_metric": EARLY_STOP_METRICS,
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
        for f in fields(self):  # nan and inf are never meant, in any number
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{f.name} must be a finite number; got {value}")
        positive = ("embed_dim", "hidden_size", "batch_size", "bptt", "batch_threads")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1; got {getattr(self, name)}")
        for name in (*positive, "maxlen"):
            if getattr(self, name) > SIZE_MAX:
                raise ValueError(f"{name} must be at most {SIZE_MAX:,}; got {getattr(self, name)}")
        if not 0 < self.recurrent_gain <= GAIN_MAX:
            raise ValueError(
                f"recurrent_gain must be in (0, {GAIN_MAX:g}]; got {self.recurrent_gain}"
            )
        _check_range("lr", self.lr, *LR_RANGE)
        _check_range("clip_value", self.clip_value, *CLIP_RANGE)
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1); got {self.momentum}")
        if not 0.0 <= self.weight_decay <= WEIGHT_DECAY_MAX:
            raise ValueError(
                f"weight_decay must be from 0 to {WEIGHT_DECAY_MAX:g}; got {self.weight_decay}"
            )
        if not 0.0 <= self.weight_average < 1.0:
            raise ValueError(f"weight_average must be in [0, 1); got {self.weight_average}")
        for name in ("embed_dropout", "output_dropout", "word_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1); got {getattr(self, name)}")
        if self.min_count < 1:
            raise ValueError(f"min_count must be at least 1; got {self.min_count}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1); got {self.val_fraction}")
        for name in ("embed_dropout", "output_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1); got {getattr(self, name)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}; got {self.lr_schedule!r}"
            )
        if not 0.0 < self.lr_decay <= 1.0:
            raise ValueError(f"lr_decay must be in (0, 1]; got {self.lr_decay}")
        for name in ("maxlen", "epochs", "patience", "eval_every"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative; got {getattr(self, name)}")
        if self.seed < 0:
            raise ValueError(f"seed cannot be negative; got {self.seed}")
        if self.blas_threads < 0:
            raise ValueError(f"blas_threads cannot be negative; got {self.blas_threads}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Config:
        """Build from a dict, ignoring unknown keys (older or newer checkpoints)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    # Fields whose change alters array shapes or the data pipeline (needs a reset).
    SHAPE_FIELDS = (
        "task",
        "level",
        "split_punctuation",
        "maxlen",
        "embed_dim",
        "hidden_size",
        "cell",
        "gate_init",
        "head",
        "init",
        "recurrent_gain",
        "optimizer",
        "val_fraction",
        "min_count",
        "bptt",
        "seed",
        "dtype",
    )


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}; got {value:g}")


def lm_defaults(preset: str = "default", **overrides) -> Config:
    """A Config with the language model's defaults (char level), a preset, then `overrides`."""
    return Config.for_task("lm", preset, **overrides)
