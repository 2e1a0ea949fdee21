"""Experiment files: a run anyone can re-run, as human-readable TOML.

An experiment is the corpus source, every `Config` field (the seed among them), the
number of steps, and the live changes made during the run with the step of each.
`python main.py train --experiment FILE --json` re-runs one headless with the same
numbers; a lesson (rnnviz/lessons/) is an experiment plus a note. Read with tomllib
(tomli before Python 3.11); written by the small writer below, whose output tomllib
reads back to the same values.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

from rnnviz.config import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, Config, default_lr

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_FIELDS = tuple(f.name for f in fields(Config))
LESSON_KEYS = ("title", "panel", "note")


class ExperimentError(ValueError):
    """A file that is not a readable experiment; the message is one line."""


@dataclass(frozen=True)
class LiveChange:
    """Settings changed during a run, after `step` training steps (before the next)."""

    step: int
    changes: dict


@dataclass(frozen=True)
class Experiment:
    """What a run was: where its text came from, its settings, and how long it trained."""

    source: str = "sample:sentiment"  # a path or sample:NAME[?k=v...]
    config: Config = field(default_factory=Config)
    steps: int = 0  # training steps; 0 = until config.epochs are done
    changes: tuple[LiveChange, ...] = ()  # in step order
    format: str = "auto"  # the corpus format (auto, tsv, csv, folder, text)
    label_column: str | None = None  # the corpus's label column, when not detected
    # A lesson's extras (empty for a plain experiment).
    title: str = ""
    panel: str = ""  # the tab to open: a `python main.py --panel` name
    note: str = ""  # what to look at, what to try next, what the maths says (HTML)

    def changes_due(self, step: int) -> list[dict]:
        """The changes to apply once `step` training steps are done."""
        return [c.changes for c in self.changes if c.step == step]


def base_config(settings: dict) -> Config:
    """The defaults that fields missing from a file take: the task's own, and for a
    classifier the optimiser's learning rate and decay (as `train` picks them)."""
    if settings.get("task") == "lm":
        return Config.for_task("lm")
    optimizer = settings.get("optimizer", "adam")
    if optimizer not in DEFAULT_LR:
        return Config()  # the bad name is reported by the settings' own check
    lr = default_lr(optimizer, settings.get("cell", "rnn"))
    return Config(lr=lr, weight_decay=DEFAULT_WEIGHT_DECAY[optimizer])


# -- reading ------------------------------------------------------------------------------
def loads(text: str, name: str = "experiment") -> Experiment:
    """An Experiment from TOML text; missing settings take the task's defaults."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(f"{name}: not valid TOML ({exc})") from None
    known = {"source", "format", "label_column", "steps", "config", "change", "lesson"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ExperimentError(f"{name}: unknown key {unknown[0]!r}; expected {', '.join(known)}")
    settings = _table(doc, "config", name)
    _check_names(settings, CONFIG_FIELDS, f"{name}: [config]")
    try:
        config = base_config(settings).replace(**settings)
    except (TypeError, ValueError) as exc:
        raise ExperimentError(f"{name}: [config]: {exc}") from None
    changes = []
    for i, entry in enumerate(doc.get("change", [])):
        if not isinstance(entry, dict) or not isinstance(entry.get("step"), int):
            raise ExperimentError(f"{name}: [[change]] {i + 1} needs a whole-number step")
        values = {k: v for k, v in entry.items() if k != "step"}
        _check_names(values, CONFIG_FIELDS, f"{name}: [[change]] at step {entry['step']}")
        try:
            config.replace(**values)
        except (TypeError, ValueError) as exc:
            raise ExperimentError(f"{name}: [[change]] at step {entry['step']}: {exc}") from None
        changes.append(LiveChange(entry["step"], values))
    steps = doc.get("steps", 0)
    if not isinstance(steps, int) or steps < 0:
        raise ExperimentError(f"{name}: steps must be a whole number >= 0; got {steps!r}")
    source = doc.get("source", Experiment.source)
    if not isinstance(source, str) or not source:
        raise ExperimentError(f"{name}: source must be a path or sample:NAME")
    lesson = _table(doc, "lesson", name)
    _check_names(lesson, LESSON_KEYS, f"{name}: [lesson]")
    label_column = doc.get("label_column")
    return Experiment(
        source=source,
        config=config,
        steps=steps,
        changes=tuple(sorted(changes, key=lambda c: c.step)),
        format=str(doc.get("format", "auto")),
        label_column=None if label_column is None else str(label_column),
        **{k: str(lesson.get(k, "")) for k in LESSON_KEYS},
    )


def load(path: str | os.PathLike) -> Experiment:
    """Read an experiment file; a relative corpus path is taken from the file's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExperimentError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ExperimentError(f"{path}: not a text file (UTF-8 TOML expected)") from None
    exp = loads(text, str(path))
    source = exp.source
    if not source.startswith("sample:") and not Path(source).is_absolute():
        local = path.parent / source
        if local.exists() and not Path(source).exists():
            exp = _replace(exp, source=str(local))
    return exp


def _table(doc: dict, key: str, name: str) -> dict:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ExperimentError(f"{name}: {key} must be a table ([{key}])")
    return value


def _check_names(values: dict, allowed: tuple[str, ...], where: str) -> None:
    unknown = [k for k in values if k not in allowed]
    if unknown:
        raise ExperimentError(f"{where}: unknown setting {unknown[0]!r}")


def _replace(exp: Experiment, **changes) -> Experiment:
    from dataclasses import replace

    return replace(exp, **changes)


# -- writing ------------------------------------------------------------------------------
def dumps(exp: Experiment) -> str:
    """The experiment as TOML: every Config field, one per line, commented."""
    lines = [
        "# rnnviz experiment. Re-run it headless: python main.py train --experiment FILE --json",
        "# or open it in the app:                 python main.py --experiment FILE",
        f"source = {_value(exp.source)}",
        f"format = {_value(exp.format)}",
    ]
    if exp.label_column is not None:
        lines.append(f"label_column = {_value(exp.label_column)}")
    lines += [f"steps = {exp.steps}  # training steps; 0 = until config.epochs are done", ""]
    if exp.title or exp.panel or exp.note:
        lines.append("[lesson]")
        lines += [f"{k} = {_value(getattr(exp, k))}" for k in LESSON_KEYS if getattr(exp, k)]
        lines.append("")
    lines.append("[config]  # every setting (rnnviz/config.py explains each one)")
    lines += [f"{k} = {_value(v)}" for k, v in exp.config.to_dict().items()]
    for change in exp.changes:
        lines += ["", "[[change]]  # changed while it trained, after `step` steps"]
        lines.append(f"step = {change.step}")
        lines += [f"{k} = {_value(v)}" for k, v in change.changes.items()]
    return "\n".join(lines) + "\n"


def save(exp: Experiment, path: str | os.PathLike) -> None:
    """Write atomically (a temporary file renamed into place)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(dumps(exp), encoding="utf-8")
    os.replace(tmp, path)


def _value(value) -> str:
    """One TOML value: str, bool, int or float."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest text that reads back to the same float
    if isinstance(value, str):
        literal = "'''" not in value and not value.endswith("'")
        if "\n" in value and literal and _printable(value.replace("\n", "")):
            return f"'''\n{value}'''"  # a multi-line literal string, kept as written
        # JSON's escapes are TOML's; TOML also wants DEL escaped.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    raise TypeError(f"cannot write {type(value).__name__} to an experiment file")


def _printable(text: str) -> bool:
    return all(c == "\t" or (ord(c) >= 32 and ord(c) != 127) for c in text)
