"""Test helper, run by torchrun (tests/engine/test_distributed.py): one process of a
multi-process `train`. It runs the command line as a user would, keeps the Run that
engine.run_recipe returned, and dumps that rank's final weights and history to OUTDIR/rank<R>.*
so that the test can compare the ranks, with the names of the process's native threads once the
command has returned (the process group's must be gone by then).
Usage: dist_worker.py OUTDIR TRAIN-ARGS..."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import engine                               # noqa: E402
from engine.run import recipe as recipes  # noqa: E402
from cli.main import main                 # noqa: E402


def run() -> int:
    outdir, args = Path(sys.argv[1]), sys.argv[2:]
    runs = []

    def keep(*a, **k):
        runs.append(recipes.run_recipe(*a, **k))
        return runs[-1]
    engine.run_recipe = keep
    rc = main(["train", *args])
    rank = os.environ["RANK"]
    from safetensors.torch import save_file
    state = {k: v.detach().cpu().contiguous() for k, v in runs[0].model.state_dict().items()}
    save_file(state, str(outdir / f"rank{rank}.safetensors"))
    history = runs[0].history
    (outdir / f"rank{rank}.json").write_text(json.dumps(
        {"rc": rc, "epochs": history["epochs"], "steps": engine.jsonable(history["steps"]),
         "runs": history["runs"], "probes": len(history["probes"]["step"]),
         "threads": native_threads()}))
    return rc


def native_threads() -> list[str] | None:
    """The names of this process's threads, C++ ones included (Linux; None elsewhere)."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return None
    names = []
    for task in tasks.iterdir():
        try:
            names.append((task / "comm").read_text().strip())
        except OSError:         # a thread that ended meanwhile
            pass
    return sorted(names)


if __name__ == "__main__":
    sys.exit(run())
