"""`python main.py [options]`: the desktop app, plus --screenshot and --profile-ui modes."""

from __future__ import annotations

import argparse
import html
import math
import os
import re
import sys
import time

from rnnviz.config import Config
from rnnviz.data import FORMATS
from rnnviz.options import add_experiment_options, add_setting_options, given_settings

PROCESS_T0 = time.perf_counter()
SWITCH_INTERVAL = 0.0005  # seconds
# --panel choices: gui.window.PANELS (tested equal), listed here so --help needs no Qt.
PANEL_CHOICES = ("network", "corpus", "why", "gradient_flow", "gates", "neurons",
                 "projection", "state_space", "errors", "compare")  # fmt: skip


def window_size(text: str) -> tuple[int, int]:
    """ "1500x920" -> (1500, 920); argparse shows the ValueError's message in one line."""
    w, sep, h = text.lower().partition("x")
    if not (sep and w.strip().isdigit() and h.strip().isdigit()):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1500x920; got {text!r}")
    size = int(w), int(h)
    if not all(200 <= n <= 10_000 for n in size):
        raise argparse.ArgumentTypeError(f"width and height must be 200 to 10000; got {text!r}")
    return size


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds; got {text!r}")
    return value


def steps_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 up; got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    panels = ", ".join(PANEL_CHOICES)
    p = argparse.ArgumentParser(
        prog="main.py",
        description="Watch a from-scratch NumPy RNN learn, live: a text classifier, or a "
        "language model on plain text. With no option the app opens on the last corpus used.",
        epilog=f"Tabs (--panel): {panels}. Headless commands: `main.py train|predict|generate|"
        "samples|dynamics --help` (train takes the same settings as the app).",
    )
    add_experiment_options(p)  # --data, --format, --label-column, --experiment: as train's
    p.add_argument(
        "--lesson", metavar="NAME", default=None,
        help="open a lesson (corpus, settings, tab and a note); --lesson '?' lists them",
    )  # fmt: skip
    p.add_argument(
        "--steps", type=steps_count, default=300, help="--screenshot: steps to train first"
    )
    p.add_argument("--screenshot", metavar="PNG", help="train --steps steps, save the window, exit")
    p.add_argument(
        "--screenshot-timeout", type=positive_seconds, metavar="SECONDS", default=120.0,
        help="--screenshot: give up (exit 1) after SECONDS (default 120; long language-model "
        "runs need more)",
    )  # fmt: skip
    p.add_argument(
        "--panel", choices=PANEL_CHOICES, default=None,
        help=f"the tab to show: {panels} (default: network, or the lesson's)",
    )  # fmt: skip
    p.add_argument(
        "--profile-ui", type=positive_seconds, metavar="SECONDS",
        help="train with the window up for SECONDS and print one JSON line of measurements",
    )  # fmt: skip
    p.add_argument(
        "--profile-load", metavar="PATH",
        help="load PATH (then Reset) with the window up; print one JSON line of event-loop stalls",
    )  # fmt: skip
    p.add_argument(
        "--size", type=window_size, default="1500x920", help="--screenshot/--profile-ui window size"
    )
    p.add_argument("--preset", choices=("default", "fast"), default=None,
                   help="lm: the language model's defaults, fast (H=256, the app's) or default "
                   "(H=512)")  # fmt: skip
    p.add_argument(
        "--theme", choices=("auto", "light", "dark", "contrast"), default=None,
        help="View > Theme: auto follows the desktop (default: the last one chosen)",
    )  # fmt: skip
    add_setting_options(p)
    return p


def explicit_settings(args: argparse.Namespace) -> dict:
    """The Config fields given on the command line (the task aside: it picks defaults)."""
    given = given_settings(args)
    given.pop("task", None)
    return given


def opened_experiment(args: argparse.Namespace):
    """The experiment or lesson the command line names (None for neither); raises
    ExperimentError with one line."""
    if args.lesson:
        from rnnviz.lessons import load_lesson

        return load_lesson(args.lesson)
    if args.experiment:
        from rnnviz.experiment import load

        return load(args.experiment)
    return None


def config_from_args(args: argparse.Namespace, base: Config | None = None) -> Config:
    """The window's settings: `base` (an experiment's) or the task's defaults, with the
    options given on top. The window trains until paused unless told otherwise."""
    from gui.tasks import config_for_task

    task = getattr(args, "task", None) or (base.task if base else "classify")
    if base is None:
        base = config_for_task(Config(epochs=0), task)  # lm: the language model's defaults
        if task == "lm" and getattr(args, "preset", None):
            from rnnviz.lm_trainer import lm_defaults

            base = lm_defaults(args.preset, epochs=0)
    else:
        base = config_for_task(base, task)
    return base.replace(**explicit_settings(args))


def list_lessons_text() -> str:
    from rnnviz.lessons import list_lessons

    lines = [f"{name:<24} {title}" for name, title in list_lessons()]
    return "\n".join(["Lessons (python main.py --lesson NAME):", *lines])


def main(argv: list[str] | None = None) -> int:
    """Run the app; returns the process exit code."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.lesson == "?":
        print(list_lessons_text())
        return 0
    try:
        if args.format not in (None, *FORMATS):
            raise ValueError(f"--format: unknown format {args.format!r}; use one of "
                             f"{', '.join(FORMATS)}")  # fmt: skip
        opened = opened_experiment(args)
        config = config_from_args(args, opened.config if opened else None)
    except ValueError as exc:  # ExperimentError is one
        print(f"rnnviz: {exc}", file=sys.stderr)
        return 2
    if opened is not None:
        from dataclasses import replace

        opened = replace(
            opened, config=config, source=args.data or opened.source,
            format=args.format or opened.format,
            label_column=args.label_column or opened.label_column,
        )  # fmt: skip
    panel = args.panel or (opened.panel if opened and opened.panel else "network")
    headless_mode = args.screenshot or args.profile_ui or args.profile_load
    no_screen = not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
    if headless_mode and not os.environ.get("QT_QPA_PLATFORM") and no_screen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a PNG needs no screen
    from gui.platform_check import platform_problem

    problem = platform_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2

    import pyqtgraph as pg
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(antialias=False, imageAxisOrder="row-major")
    # The trainer thread holds the GIL between NumPy calls; a short switch interval lets
    # the GUI thread take it back within ~0.5 ms instead of 5 ms each time it blocks.
    sys.setswitchinterval(SWITCH_INTERVAL)
    app = QApplication.instance() or QApplication(["rnnviz"])
    app.setApplicationName("rnnviz")
    app.setOrganizationName("rnnviz")
    app.setDesktopFileName("rnnviz")  # matches rnnviz.desktop (its icon in the dock)

    from gui.window import MainWindow
    from rnnviz.corpus_source import corpus_source
    from rnnviz.data import list_samples

    # Demo modes must not depend on (or change) the user's remembered state.
    settings = QSettings("rnnviz", "rnnviz-demo" if headless_mode else "rnnviz")
    window = MainWindow(config, settings)
    window.task_switch.pinned = explicit_settings(args)  # kept if plain text switches the task
    window.set_samples(list_samples())
    if args.theme or headless_mode:  # screenshots: light unless asked, whatever was last
        window.theme.choose(args.theme or "light")
    source = args.data or (None if headless_mode or opened else settings.value("last_corpus"))
    source = corpus_source(str(source or "sample:sentiment"), args.format or "auto",
                           args.label_column)  # fmt: skip
    if headless_mode:
        window.resize(*args.size)
    if args.profile_ui:
        from gui.profile import run_profile

        window.show_panel(panel)  # measure with this tab in front
        return disposed(window, run_profile(app, window, source, config, args.profile_ui,
                                            PROCESS_T0))  # fmt: skip
    if args.profile_load:
        from gui.profile import run_load_profile

        window.show_panel("corpus")  # the vocabulary table is what stalled
        return disposed(window, run_load_profile(app, window, args.profile_load))
    window.show()
    if opened is not None:
        window.experiments.open(opened, args.experiment or "")
    else:
        window.load_source(source)
    if args.screenshot:
        return disposed(window, run_screenshot(app, window, args.screenshot, args.steps, panel,
                                               args.screenshot_timeout))  # fmt: skip
    return disposed(window, app.exec())


def disposed(window, code: int) -> int:
    """Delete the closed window now, while Python is whole: left to the interpreter's
    exit, its plots' Python overrides can run during teardown and crash (rc -11)."""
    import shiboken6

    if shiboken6.isValid(window):
        shiboken6.delete(window)
    return code


def plain_text(rich: str) -> str:
    """A message label's rich text as a terminal shows it: no tags, no HTML escapes."""
    return html.unescape(re.sub(r"<[^>]+>", "", rich))


def run_screenshot(app, window, path: str, steps: int, panel: str, timeout: float = 120.0) -> int:
    """Train `steps` steps in the real worker, render the whole window to `path`."""
    from gui.poll_loop import poll_until

    window.show_panel(panel)
    state = {"started": False, "done_at": None}
    worker = window.worker

    def poll() -> int | None:
        if window.message.isVisible() and window.message.kind == "error" and window.info is None:
            print(f"rnnviz: {plain_text(window.message.label.text())}", file=sys.stderr)
            return 1
        if window.info is None:
            return None
        if not state["started"]:
            state["started"] = True
            if steps > 0:
                worker.step_budget = steps
                window.start()
            else:
                state["done_at"] = time.monotonic()
            return None
        trained = window.train_history.total >= steps or window.info.step >= steps
        if state["done_at"] is None and not worker.running and (trained or window.diverged_message):
            state["done_at"] = time.monotonic()
        if state["done_at"] is None or time.monotonic() - state["done_at"] <= 0.3:
            return None
        if not state.get("flushed"):
            state["flushed"] = True
            window.redraw(force=True)
            return None
        if window.insight.busy():  # a view still analysing the last snapshot
            return None
        window.redraw(force=True)
        app.processEvents()
        opened = window.experiments.opened
        if opened is not None and opened.note and not window.experiments.note.isVisible():
            print("rnnviz: the lesson's note is not on screen", file=sys.stderr)
            return 1
        if not window.grab().save(path):
            print(f"rnnviz: could not write {path}", file=sys.stderr)
            return 1
        return 0

    return poll_until(app, window, poll, 50, timeout, f"screenshot timed out after {timeout:g} s")
