"""The fuzz suite with a long budget: the generators of tests/fuzz, thousands of inputs per kind.

    python bench/fuzz.py --files 3000 --seed 1 [--kinds lwnet,network,...] [--out DIR]

Each kind runs in its own process (so its peak memory is its own, and a memory limit keeps a
bomb from taking the machine). Prints one table: per kind, inputs tried, refused with the
project's error, accepted, crashes (any other exception, a hang, or a broken promise such as
"what saves opens"), the slowest input in seconds, and the peak memory (ru_maxrss) against the
process's own after imports. The first reproducers of each crash class are saved under --out,
with their traceback; the crash classes are listed after the table."""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("lwnet", "network", "csv", "npz", "idx", "images", "shards", "cli")
KEEP = 3                # reproducers kept per crash class


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=3000, help="inputs per kind")
    p.add_argument("--cli", type=int, default=None, help="inputs for the cli kind "
                   "(default: files / 10; each may train a little)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--out", default="/tmp/fuzz/crashes", help="where reproducers go")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds one input may take")
    p.add_argument("--memory-gib", type=float, default=6.0, help="data limit of each process")
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        return run_one(args)
    start = time.perf_counter()
    rows = []
    for kind in args.kinds.split(","):
        n = args.files if kind != "cli" else (args.cli or max(1, args.files // 10))
        rows.append(spawn(kind, n, args))
    print_table(rows, time.perf_counter() - start)
    return 1 if any(r.get("crashes") for r in rows) else 0


def spawn(kind: str, n: int, args) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as result:
        cmd = [sys.executable, __file__, "--one", kind, "--files", str(n), "--seed",
               str(args.seed), "--out", args.out, "--timeout", str(args.timeout),
               "--memory-gib", str(args.memory_gib), "--result", result.name]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        try:
            return json.loads(Path(result.name).read_text())
        except ValueError:
            return {"kind": kind, "tried": 0, "died": proc.returncode,
                    "error": (proc.stderr or proc.stdout)[-2000:]}


def print_table(rows: list[dict], seconds: float) -> None:
    head = ("kind", "tried", "refused", "accepted", "crashes", "slowest s", "peak MiB",
            "base MiB", "seconds")
    print("  ".join(f"{h:>9}" for h in head))
    for r in rows:
        cells = (r["kind"], r.get("tried", 0), r.get("refused", 0), r.get("accepted", 0),
                 r.get("crashes", 0), f"{r.get('slowest', 0):.2f}", r.get("peak_mib", "-"),
                 r.get("base_mib", "-"), f"{r.get('seconds', 0):.0f}")
        print("  ".join(f"{c:>9}" for c in cells))
    total = Counter()
    for r in rows:
        total.update({k: r.get(k, 0) for k in ("tried", "refused", "accepted", "crashes")})
    print(f"{'all':>9}  " + "  ".join(f"{total[k]:>9}" for k in
                                      ("tried", "refused", "accepted", "crashes")))
    print(f"{seconds:.0f} s in all")
    for r in rows:
        if r.get("error"):
            print(f"\n{r['kind']}: the process died ({r.get('died')}):\n{r['error']}")
        for sig, info in sorted(r.get("classes", {}).items(), key=lambda kv: -kv[1]["count"]):
            print(f"\n{r['kind']}: {info['count']} x {sig}\n  e.g. {info['files'][0]}")


# ----------------------------------------------------------------------------- one kind

def run_one(args) -> int:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
    limit = int(args.memory_gib * (1 << 30))
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{args.one}-") as scratch:
        os.environ["LAYERWISE_HOME"] = str(Path(scratch) / "home")
        import fuzz_kinds
        kind = fuzz_kinds.KINDS[args.one](Path(scratch))
        base = maxrss_mib()
        stats = Stats(args.one, Path(args.out) / args.one)
        start = time.perf_counter()
        fuzz_kinds.run_many(kind, args.files, args.seed, args.timeout, stats.record)
    result = stats.summary() | {"seconds": time.perf_counter() - start,
                                "peak_mib": maxrss_mib(), "base_mib": base}
    Path(args.result).write_text(json.dumps(result))
    return 0


def maxrss_mib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


class Stats:
    def __init__(self, kind: str, out: Path):
        self.kind, self.out = kind, out
        self.counts: Counter = Counter()
        self.slowest = 0.0
        self.classes: dict[str, dict] = {}

    def record(self, outcome: str, seconds: float, case, save, exc=None) -> None:
        """One input: "refused", "accepted" or "crash" (with the exception and a function
        that writes the input as a reproducer)."""
        self.counts[outcome] += 1
        self.slowest = max(self.slowest, seconds)
        if outcome != "crash":
            return
        from fuzz_oracles import signature
        import traceback
        sig = signature(exc)
        info = self.classes.setdefault(sig, {"count": 0, "files": [],
                                             "index": len(self.classes) + 1})
        info["count"] += 1
        if len(info["files"]) < KEEP:
            self.out.mkdir(parents=True, exist_ok=True)
            stem = self.out / f"{info['index']:02d}-{len(info['files'])}"
            path = save(case, stem)
            Path(f"{stem}.traceback.txt").write_text(
                f"{sig}\n\n" + "".join(traceback.format_exception(exc)), encoding="utf-8")
            info["files"].append(str(path))

    def summary(self) -> dict:
        return {"kind": self.kind, "tried": sum(self.counts.values()),
                "refused": self.counts["refused"], "accepted": self.counts["accepted"],
                "crashes": self.counts["crash"], "slowest": self.slowest,
                "classes": self.classes}


if __name__ == "__main__":
    sys.exit(main())
