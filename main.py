"""Layerwise: `python main.py` opens the window (`python main.py open FILE` opens a file in it);
`python main.py COMMAND ...` runs headless."""
from __future__ import annotations

import sys

USAGE = "usage: layerwise open FILE"


def run(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] == "open":
        files = argv[1:]
        if files and files[0] in ("-h", "--help"):
            print(f"{USAGE}\n\nOpen FILE (.lwnet or network.json) in the Layerwise window.")
            return 0
        if len(files) > 1 or (argv and not files):
            print(f"{USAGE}\nlayerwise: error: 'open' takes exactly one file", file=sys.stderr)
            return 2
        try:
            from gui.app import main as gui_main
        except ImportError as exc:
            print(f"layerwise: error: the window needs PySide6 ({exc}); headless commands "
                  f"still work: layerwise --help", file=sys.stderr)
            return 1
        return gui_main(files)
    if argv[0] == "lab":
        from gui.report_figures import install    # Lab figures are drawn with pyqtgraph
        install()
    from cli.main import main
    return main(argv)


if __name__ == "__main__":
    sys.exit(run())
