"""Layerwise: `python main.py` opens the window (`python main.py open FILE` opens a file in it);
`python main.py COMMAND ...` runs headless."""
from __future__ import annotations

import contextlib
import os
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
    quiet = _other_process_usage(argv)
    return main(argv) if quiet is None else quiet


def _other_process_usage(argv: list[str]) -> int | None:
    """Under torchrun every process reads the same command line, so a usage error (or --help)
    is the same in each: rank 0 prints it, the others end with its exit code silently
    (cli.train.rank_0_reports). None: this is rank 0, not under torchrun, or it parses."""
    if "WORLD_SIZE" not in os.environ or os.environ.get("RANK", "0").strip() == "0":
        return None
    from cli.main import make_parser
    from cli.train import rank_0_reports
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), \
            contextlib.redirect_stderr(null):
        try:
            make_parser().parse_args(argv)
            return None
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code if rank_0_reports(code) else None


if __name__ == "__main__":
    sys.exit(run())
