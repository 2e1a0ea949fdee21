"""rnnviz: watch a recurrent neural network learn.

python main.py                      open the desktop app on the sentiment sample
python main.py --lesson NAME        open a lesson (`--lesson '?'` lists them)
python main.py train --data FILE    train headless (see `python main.py train --help`)
python main.py predict --model M.npz "some text"
python main.py samples              list the built-in corpora
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:  # Ctrl-C while NumPy is still importing: one line, not a traceback
        from rnnviz.cli import SUBCOMMANDS

        if argv and argv[0] in SUBCOMMANDS:  # --help goes to the app's own options
            from rnnviz.cli import main as cli_main

            return cli_main(argv)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    from gui.app import main as gui_main

    return gui_main(argv)


if __name__ == "__main__":
    sys.exit(main())
