"""`lab --list`, `lab NAME [--quick] [--seed N] [--out DIR]` and `lab all ...`: the lecture's
experiments, each with its verdict."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cli.progress import duration, is_terminal
from engine import Callback, StepEvent


def register(sub) -> None:
    p = sub.add_parser("lab", help="run one of the Lab's experiments and write its report",
                       description="Run one of the classic deep-learning experiments under "
                                   "controlled conditions and write report.md, results.json "
                                   "and PNG figures.")
    p.add_argument("name", nargs="?", metavar="NAME", help="the experiment (see --list), or "
                                                           "'all' for every one in turn")
    p.add_argument("--list", action="store_true", help="list the experiments")
    p.add_argument("--quick", action="store_true",
                   help="a small budget (under 30 s each on a laptop CPU) instead of the full one")
    p.add_argument("--seed", type=_seed, default=0, help="the base seed: arms compared over seeds "
                                                       "use it and the next ones (default 0)")
    p.add_argument("--out", metavar="DIR", help="where to write the report (default: "
                                                "lab-reports/NAME; for all, a folder per "
                                                "experiment and summary.md)")
    p.set_defaults(run=run)


def run(args) -> int:
    from engine import lab
    if args.list or not args.name:
        print("Lab experiments (python main.py lab NAME [--quick] [--out DIR]):")
        for e in lab.experiments():
            print(f"  {e.name:<25} {e.summary}")
        return 0
    out = Path(args.out) if args.out else Path("lab-reports") / args.name
    progress = _Progress() if is_terminal() else None
    hooks = dict(callbacks=[progress] if progress else (),
                 progress=progress.stage if progress else None)
    if args.name == "all":
        results = lab.run_all(out, quick=args.quick, seed=args.seed, **hooks)
    else:
        results = [lab.run_experiment(args.name, quick=args.quick, seed=args.seed,
                                      out_dir=out, **hooks)]
    if progress:
        progress.clear()
    for result in results:
        _print(result)
    print(f"Report: {out / ('summary.md' if args.name == 'all' else 'report.md')}")
    return 0


def _print(result) -> None:
    seconds = f"{result.seconds:.1f}" if result.seconds < 10 else f"{result.seconds:.0f}"
    print(f"{result.title}: {len(result.rows)} rows in {seconds} s"
          + (" (stopped early)" if result.stopped else ""))
    label = "Verdict" if not result.quick else "Verdict (indicative, quick budget)"
    print(f"  {label}: {result.verdict.headline()}")
    for line in result.findings:
        print(f"  - {line}")


class _Progress(Callback):
    """One line on stderr: the current stage, its step count and the time so far."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.text = ""
        self.last = 0.0

    def stage(self, text: str) -> None:
        self.text = text
        self._draw("")

    def on_step(self, run, e: StepEvent) -> None:
        now = time.perf_counter()
        if now - self.last >= 0.1:
            self.last = now
            self._draw(f"  epoch {e.epoch} batch {e.batch}/{e.batches}")

    def _draw(self, detail: str) -> None:
        elapsed = duration(time.perf_counter() - self.t0)
        sys.stderr.write(f"\r[{elapsed}] {self.text}{detail}\033[K")
        sys.stderr.flush()

    def clear(self) -> None:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def _seed(text: str) -> int:
    """--seed, checked as the Lab checks it (a usage error otherwise)."""
    from engine import LayerwiseError, lab
    try:
        return lab.check_seed(int(text))
    except (ValueError, LayerwiseError) as exc:
        raise argparse.ArgumentTypeError(str(exc) if isinstance(exc, LayerwiseError)
                                         else f"{text!r} is not a whole number") from None
