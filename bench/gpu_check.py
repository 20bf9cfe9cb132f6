"""Does training on the GPU give what training on the CPU gives, and how much faster is it?

Trains LeNet-5 (resources/examples/lenet5.json) on mnist-5k from the same seed on CUDA and on
the CPU with the engine's own loop, and prints one table:
  - the largest weight difference after the first few steps (same initial weights, same
    batches; TF32 is turned off so that CUDA computes in true fp32),
  - final train loss, validation loss and accuracy after --epochs epochs,
  - throughput in training samples per second, measured alike on every side: the same
    process and torch thread count, the data already on the side's device, one untimed
    warm-up run per side, then --rounds rounds in which every side runs once (the order
    rotating from round to round); each run trains --warmup untimed steps, then times the
    next --timed steps (no probes), the device drained at both ends of that window. A side's
    figure is its median over the rounds; the speed-up is the median of the per-round ratios
    to the CPU run of the same round, with their interquartile range and extremes,
and the same on CUDA in bf16 (when the GPU supports it) and fp16 mixed precision, whose results
are reported but only checked loosely. On CUDA it also trains a few epochs with probes and
`torch.cuda.set_sync_debug_mode("error")` on for the steps that are not probed: a host sync in
them (an .item(), a copy to the host) is reported with where it happened. Exit 1 when fp32
CUDA and the CPU disagree beyond the tolerances or such a sync is found, 0 otherwise. Without a
GPU it says so and exits 0.

    .venv/bin/python bench/gpu_check.py [--epochs 3] [--steps 5] [--batch-size 64]
                                        [--rounds 9] [--warmup 5] [--timed 60]
                                        [--threads N] [--device cuda|cuda:N|cpu]

--device cpu is a self-check of this script: both sides run on the CPU (their weights must agree
exactly and their speed-up be about 1.0x), so the script can be tried without a GPU.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import traceback
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import engine                                       # noqa: E402
from cli.progress import table              # noqa: E402

LENET = ROOT / "resources" / "examples" / "lenet5.json"
WEIGHT_TOL = 1e-4       # max |w_cuda - w_cpu| after the first steps (fp32; 0 for CPU vs CPU)
LOSS_TOL = 0.02         # relative difference of the final losses (fp32)
ACC_TOL = 0.02          # difference of the final accuracies (fp32)
MIXED_ACC_TOL = 0.05    # bf16/fp16 against the CPU: looser, reported
VAL_FRACTION = 0.1


class StopAt(engine.Callback):
    """Stops the run (through its Control) after step `steps`: asked at that step's start, the
    loop ends before the next one, however late it reads the losses."""

    def __init__(self, control: engine.Control, steps: int):
        self.control, self.steps = control, steps

    def on_batch_start(self, run, step: int) -> None:
        if step >= self.steps:
            self.control.stop()


class Stopwatch(StopAt):
    """Times steps `warmup`+1 .. `warmup`+`timed`: from the start of the first to the start of
    the step after the last, with the device drained at both ends; then stops the run."""

    def __init__(self, control: engine.Control, device: str, warmup: int, timed: int):
        super().__init__(control, warmup + timed + 1)
        self.device, self.first = torch.device(device), warmup + 1
        self.t0 = self.seconds = None

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def on_batch_start(self, run, step: int) -> None:
        if step == self.first:
            self.t0 = self._now()
        elif step == self.steps:
            self.seconds = self._now() - self.t0
        super().on_batch_start(run, step)


def config(args, device: str, precision: str = "fp32", epochs: int | None = None,
           probe_every: int = 0):
    return engine.TrainConfig(epochs=epochs or args.epochs, batch_size=args.batch_size,
                              optimizer="adam", lr=1e-3, seed=args.seed, device=device,
                              probe_every=probe_every, val_fraction=VAL_FRACTION,
                              precision=precision)


def first_steps(spec, data, args, device: str) -> dict:
    """The weights after the first `args.steps` steps, on the CPU."""
    control = engine.Control()
    run = engine.train(spec, data, config(args, device, epochs=1),
                       callbacks=[StopAt(control, args.steps)], control=control)
    assert run.history["steps"][-1]["step"] == args.steps, "the run did not stop where asked"
    return {k: v.detach().float().cpu() for k, v in run.model.state_dict().items()}


def max_difference(a: dict, b: dict) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def full_run(spec, data, args, device: str, precision: str = "fp32") -> dict:
    run = engine.train(spec, data, config(args, device, precision))
    last = run.history["epochs"][-1]
    return {"device": run.device, "precision": precision, "train_loss": last["train_loss"],
            "val_loss": last["val_loss"], "val_acc": last["val_acc"],
            "memory": engine.device_info(run.device)}


# ----------------------------------------------------------------------------- speed

def batch_sizes(n_train: int, batch: int) -> list[int]:
    """The size of each step's batch within one epoch."""
    return [min(batch, n_train - i) for i in range(0, n_train, batch)]


def timed_samples(n_train: int, args) -> int:
    """Samples trained in the timed window (steps warmup+1 .. warmup+timed, across epochs)."""
    sizes = batch_sizes(n_train, args.batch_size)
    return sum(sizes[(s - 1) % len(sizes)] for s in range(args.warmup + 1,
                                                           args.warmup + args.timed + 1))


def timed_rate(spec, data, args, side: tuple[str, str], n_train: int) -> float:
    """Training samples per second of one run's timed window on `side` (device, precision)."""
    device, precision = side
    epochs = math.ceil((args.warmup + args.timed + 1) / len(batch_sizes(n_train,
                                                                        args.batch_size)))
    control = engine.Control()
    watch = Stopwatch(control, device, args.warmup, args.timed)
    engine.train(spec, data, config(args, device, precision, epochs=epochs), callbacks=[watch],
                 control=control)
    return timed_samples(n_train, args) / watch.seconds


def speeds(spec, data, args, sides: list[tuple[str, str]]) -> list[dict]:
    """Per side: its runs' rates and, for the sides after the first (the CPU reference), the
    per-round ratios to the reference; one untimed warm-up run per side first."""
    n_train = len(data.split(VAL_FRACTION, args.seed)[0])
    warm = argparse.Namespace(**{**vars(args), "warmup": 1, "timed": 2})
    for side in sides:
        timed_rate(spec, data, warm, side, n_train)
    rates = [[] for _ in sides]
    for r in range(args.rounds):
        for i in (k % len(sides) for k in range(r, r + len(sides))):     # rotating order
            rates[i].append(timed_rate(spec, data, args, sides[i], n_train))
        print(f"  round {r + 1}: " + ", ".join(
            f"{d} {p}{' (reference)' if i == 0 else ''} {x[-1]:,.0f}"
            for i, ((d, p), x) in enumerate(zip(sides, rates))) + " samples/s", flush=True)
    return [{"rates": x, "ratios": [a / b for a, b in zip(x, rates[0])]} for x in rates]


def spread(ratios: list[float]) -> tuple[float, float, float]:
    """(median, first quartile, third quartile)."""
    if len(ratios) < 2:
        return ratios[0], ratios[0], ratios[0]
    q1, q2, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return q2, q1, q3


# ----------------------------------------------------------------------------- host syncs

class SyncGuard(engine.Callback):
    """Turns CUDA's sync debug mode to "error" from the start of each step that is not probed
    (probed: 1, 1 + every, ...) until the start of the next step, except after the last step of
    an epoch, where the loop reads the epoch's losses and validates: a host sync there raises."""

    def __init__(self, every: int, batches: int):
        self.every, self.batches = every, batches
        self.step = self.checked = 0
        self.hook = None

    def on_train_start(self, run) -> None:
        from torch.optim.optimizer import register_optimizer_step_post_hook
        self.hook = register_optimizer_step_post_hook(self._stepped)

    def on_batch_start(self, run, step: int) -> None:
        self.step = step
        probed = (step - 1) % self.every == 0
        self.checked += not probed
        torch.cuda.set_sync_debug_mode("default" if probed else "error")

    def _stepped(self, optimizer, args, kwargs) -> None:
        if self.step % self.batches == 0:           # the epoch's last step: its end comes next
            torch.cuda.set_sync_debug_mode("default")

    def on_train_end(self, run) -> None:
        torch.cuda.set_sync_debug_mode("default")
        if self.hook is not None:
            self.hook.remove()


def sync_check(spec, data, args, device: str) -> tuple[str, bool]:
    """(a line saying whether steps that are not probed synchronise the host, whether one
    did): CUDA only (its sync debug mode), from `args.sync_epochs` epochs probed every
    `args.probe_every` steps."""
    if torch.device(device).type != "cuda":
        return (f"  host syncs on non-probe steps: not checked ({device} is no CUDA device; "
                f"the check runs on CUDA only)", False)
    return find_syncs(spec, data, args, device)


def find_syncs(spec, data, args, device: str, callbacks=()) -> tuple[str, bool]:
    """sync_check's run, on any device (torch.cuda.set_sync_debug_mode does the finding)."""
    n_train = len(data.split(VAL_FRACTION, args.seed)[0])
    guard = SyncGuard(args.probe_every, len(batch_sizes(n_train, args.batch_size)))
    try:
        engine.train(spec, data, config(args, device, epochs=args.sync_epochs,
                                        probe_every=args.probe_every),
                     callbacks=[guard, *callbacks])
    except Exception as exc:                        # noqa: BLE001 - reported, not hidden
        return (f"  host syncs on non-probe steps: FOUND at step {guard.step} "
                f"({str(exc).splitlines()[0][:160]}) at {where(exc)}", True)
    return (f"  host syncs on non-probe steps: none ({guard.checked} of {guard.step} steps "
            f"checked, {args.sync_epochs} epochs, probes every {args.probe_every} steps)", False)


def where(exc: BaseException) -> str:
    """The innermost frame of this project in the exception's traceback (file:line function)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.startswith(str(ROOT)) and "/.venv/" not in f.filename]
    if not frames:
        return "an unknown place"
    f = frames[-1]
    return f"{Path(f.filename).relative_to(ROOT)}:{f.lineno} {f.name}: {f.line}"


# ----------------------------------------------------------------------------- report

def mixed_precisions(device: str) -> list[str]:
    if torch.device(device).type != "cuda":
        return []
    return (["bf16"] if torch.cuda.is_bf16_supported() else []) + ["fp16"]


def report(rows: list[dict], speed: list[dict], weight_diff: float) -> list[str]:
    """rows[0] is the CPU reference, the others the checked device; speed likewise."""
    lines = [("device", "precision", "train loss", "val loss", "val acc", "samples/s",
              "vs CPU", "IQR", "min-max")]
    for i, (r, s) in enumerate(zip(rows, speed)):
        mid, q1, q3 = spread(s["ratios"])
        lines.append((r["device"] + (" (reference)" if i == 0 else ""), r["precision"],
                      f"{r['train_loss']:.4f}", f"{r['val_loss']:.4f}", f"{r['val_acc']:.2%}",
                      f"{statistics.median(s['rates']):,.0f}",
                      f"{mid:.2f}x", f"{q1:.2f}-{q3:.2f}",
                      f"{min(s['ratios']):.2f}-{max(s['ratios']):.2f}"))
    out = table(lines, right=tuple(range(2, 9)))
    out.append(f"  max weight difference after the first steps (fp32): {weight_diff:.3g}")
    return out


def checks(rows: list[dict], weight_diff: float) -> list[str]:
    """What disagrees beyond the tolerances (empty when all is well); rows[0] is the CPU."""
    cpu, bad = rows[0], []
    tol = 0.0 if rows[1]["device"] == "cpu" else WEIGHT_TOL     # CPU against CPU: exact
    if weight_diff > tol:
        bad.append(f"weights after the first steps differ by {weight_diff:.3g} "
                   f"(tolerance {tol:g})")
    for r in rows[1:]:
        acc_tol = ACC_TOL if r["precision"] == "fp32" else MIXED_ACC_TOL
        if abs(r["val_acc"] - cpu["val_acc"]) > acc_tol:
            bad.append(f"{r['device']} {r['precision']}: validation accuracy "
                       f"{r['val_acc']:.2%} against {cpu['val_acc']:.2%} on the CPU")
        loss_gap = abs(r["train_loss"] - cpu["train_loss"]) / cpu["train_loss"]
        if r["precision"] == "fp32" and loss_gap > LOSS_TOL:
            bad.append(f"{r['device']} fp32: final train loss {r['train_loss']:.4f} against "
                       f"{cpu['train_loss']:.4f} on the CPU ({loss_gap:.1%} apart)")
    return bad


def memory_line(rows: list[dict]) -> list[str]:
    return [f"  {r['memory']['name']}: {r['memory']['reserved'] / 2**20:,.0f} MiB reserved, "
            f"{r['memory']['allocated'] / 2**20:,.0f} MiB allocated after {r['precision']}"
            for r in rows if r["memory"]["reserved"] is not None]


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="the accelerator to check (default cuda; "
                   "cpu runs both sides on the CPU as a self-check)")
    p.add_argument("--epochs", type=int, default=3, help="epochs of the runs whose losses and "
                   "accuracies are compared")
    p.add_argument("--steps", type=int, default=5, help="steps before comparing weights")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="CPU threads for PyTorch (both sides)")
    p.add_argument("--rounds", type=int, default=9, help="speed rounds (each side once each)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps before the timed ones")
    p.add_argument("--timed", type=int, default=60, help="timed steps per run")
    p.add_argument("--probe-every", type=int, default=10, help="probes of the sync check")
    p.add_argument("--sync-epochs", type=int, default=2, help="epochs of the sync check")
    args = p.parse_args(argv)
    for name in ("epochs", "steps", "batch_size", "rounds", "timed", "probe_every",
                 "sync_epochs"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0:
        p.error("--warmup must be at least 0")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("bench/gpu_check.py needs a CUDA GPU and this machine has none (or PyTorch "
              "is CPU-only); nothing to check. `--device cpu` runs a self-check of the "
              "script.")
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    spec = engine.load(LENET).spec
    data = engine.load_dataset("mnist-5k")
    print(f"LeNet-5 on mnist-5k, batch {args.batch_size}, seed {args.seed}: {args.device} "
          f"against the CPU; torch threads {torch.get_num_threads()}; losses after "
          f"{args.epochs} epochs; speed: {args.rounds} rounds, each side once per round in "
          f"rotating order, {args.timed} timed steps after {args.warmup} untimed per run",
          flush=True)
    weight_diff = max_difference(first_steps(spec, data, args, args.device),
                                 first_steps(spec, data, args, "cpu"))
    sides = [("cpu", "fp32"), (args.device, "fp32")]
    sides += [(args.device, m) for m in mixed_precisions(args.device)]
    speed = speeds(spec, data, args, sides)
    rows = [full_run(spec, data, args, d, p) for d, p in sides]
    sync_line, synced = sync_check(spec, data, args, args.device)
    print("\n".join(report(rows, speed, weight_diff) + memory_line(rows) + [sync_line]))
    bad = checks(rows, weight_diff)
    for line in bad:
        print(f"MISMATCH: {line}")
    print("FAILED" if bad or synced else
          "OK: the accelerator matches the CPU within the tolerances")
    return 1 if bad or synced else 0


if __name__ == "__main__":
    sys.exit(main())
