"""Lessons: one-click set-ups for a class, each an experiment file with a note.

A lesson is `rnnviz/lessons/NAME.toml`: an experiment (corpus, settings, steps, live
changes; see rnnviz/experiment.py) whose `[lesson]` table gives a title, the tab to
open and a short note (what to look at, what to try next, what the maths says).
"""

from __future__ import annotations

from pathlib import Path

from rnnviz.experiment import Experiment, ExperimentError, load

LESSONS_DIR = Path(__file__).resolve().parent
# The order of the Lessons menu and of `--lesson '?'`; files not listed come last.
ORDER = (
    "vanishing-gradients",
    "gating-cure",
    "exploding-gradients",
    "padding-leak",
    "tanh-head",
    "learning-rate-too-high",
    "learning-rate-too-low",
    "overfitting",
    "lm-memorise",
    "lm-generalise",
    "temperature",
)


def lesson_names() -> list[str]:
    """Every shipped lesson's name, in menu order."""
    names = [p.stem for p in LESSONS_DIR.glob("*.toml")]
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(names, key=lambda n: (rank.get(n, len(ORDER)), n))


def load_lesson(name: str) -> Experiment:
    """The lesson called `name` (an ExperimentError lists the names when there is none)."""
    if name not in lesson_names():
        raise ExperimentError(f"no lesson {name!r}; lessons: {', '.join(lesson_names())}")
    return load(LESSONS_DIR / f"{name}.toml")


def list_lessons() -> list[tuple[str, str]]:
    """(name, title) of every lesson, for menus and `--lesson '?'`."""
    return [(name, load_lesson(name).title) for name in lesson_names()]
