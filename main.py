"""Layerwise: `python main.py` opens the window; `python main.py COMMAND ...` runs headless."""
from __future__ import annotations

import sys


def run(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from engine.cli import main
    return main(argv)


if __name__ == "__main__":
    sys.exit(run())
