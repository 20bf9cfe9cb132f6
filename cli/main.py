"""The headless commands behind `python main.py COMMAND` and `layerwise COMMAND`.

Each command lives in its own module with `register(subparsers)`, which adds a subparser whose
`run(args) -> int` does the work. Exit codes: 0 success, 2 usage error, 1 any other error,
reported as one line on stderr; no traceback for an error a user can cause.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from engine import LayerwiseError

PROG = "layerwise"
COMMAND_MODULES = ("cli.info", "cli.export", "cli.import_net", "cli.train", "cli.datasets",
                   "cli.shards", "cli.lab")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):   # usage errors: one line, exit 2
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Layerwise: build deep networks by hand and watch "
                                            "them learn. Without a command, opens the window.",
                     epilog="The window: `layerwise` alone, or `layerwise open FILE` to open a "
                            ".lwnet or network.json in it.")
    from engine import __version__
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except LayerwiseError as exc:
        return fail(" ".join(str(exc).split()) if "\n" not in str(exc) else _oneline(exc))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _oneline(exc: LayerwiseError) -> str:
    """Multi-problem errors: the details go to stderr too, but the first line stands alone."""
    first, _, rest = str(exc).partition("\n")
    print(rest, file=sys.stderr)
    return first
