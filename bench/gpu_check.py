"""Does training on the GPU give what training on the CPU gives, and how much faster is it?

Trains LeNet-5 (resources/examples/lenet5.json) on mnist-5k from the same seed on CUDA and on
the CPU with the engine's own loop, and prints one table:
  - the largest weight difference after the first few steps (same initial weights, same
    batches; TF32 is turned off so that CUDA computes in true fp32),
  - final train loss, validation loss and accuracy after --epochs epochs,
  - throughput in training samples per second (epochs after the first; no probes),
and the same on CUDA in bf16 (when the GPU supports it) and fp16 mixed precision, whose results
are reported but only checked loosely. Exit 1 when fp32 CUDA and the CPU disagree beyond the
tolerances, 0 otherwise. Without a GPU it says so and exits 0.

    .venv/bin/python bench/gpu_check.py [--epochs 3] [--steps 5] [--batch-size 64]
                                        [--threads N] [--device cuda|cuda:N|cpu]

--device cpu is a self-check of this script: both sides run on the CPU (they must agree
exactly), so the script can be tried on a machine without a GPU.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import engine                                       # noqa: E402
from cli.progress import table              # noqa: E402

LENET = Path(__file__).resolve().parents[1] / "resources" / "examples" / "lenet5.json"
WEIGHT_TOL = 1e-4       # max |w_cuda - w_cpu| after the first steps (fp32)
LOSS_TOL = 0.02         # relative difference of the final losses (fp32)
ACC_TOL = 0.02          # difference of the final accuracies (fp32)
MIXED_ACC_TOL = 0.05    # bf16/fp16 against the CPU: looser, reported


class StopAfter(engine.Callback):
    """Stops the run (through its Control) once `steps` optimizer steps are done."""

    def __init__(self, control: engine.Control, steps: int):
        self.control, self.steps = control, steps

    def on_step(self, run, event) -> None:
        if event.step >= self.steps:
            self.control.stop()


def config(args, device: str, precision: str = "fp32", epochs: int | None = None):
    return engine.TrainConfig(epochs=epochs or args.epochs, batch_size=args.batch_size,
                              optimizer="adam", lr=1e-3, seed=args.seed, device=device,
                              probe_every=0, val_fraction=0.1, precision=precision)


def first_steps(spec, data, args, device: str) -> dict:
    """The weights after the first `args.steps` steps, on the CPU."""
    control = engine.Control()
    run = engine.train(spec, data, config(args, device, epochs=1),
                       callbacks=[StopAfter(control, args.steps)], control=control)
    assert run.history["steps"][-1]["step"] == args.steps, "the run did not stop where asked"
    return {k: v.detach().float().cpu() for k, v in run.model.state_dict().items()}


def max_difference(a: dict, b: dict) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def full_run(spec, data, args, device: str, precision: str = "fp32") -> dict:
    run = engine.train(spec, data, config(args, device, precision))
    epochs = run.history["epochs"]
    timed = epochs[1:] or epochs                      # the first epoch pays for warm-up
    samples = round(len(data) * (1 - 0.1))
    last = epochs[-1]
    return {"device": run.device, "precision": precision, "train_loss": last["train_loss"],
            "val_loss": last["val_loss"], "val_acc": last["val_acc"],
            "rate": samples / statistics.median(e["seconds"] for e in timed),
            "memory": engine.device_info(run.device)}


def mixed_precisions(device: str) -> list[str]:
    if torch.device(device).type != "cuda":
        return []
    return (["bf16"] if torch.cuda.is_bf16_supported() else []) + ["fp16"]


def report(rows: list[dict], weight_diff: float, cpu: dict) -> list[str]:
    lines = [("device", "precision", "train loss", "val loss", "val acc", "samples/s",
              "vs CPU")]
    for r in rows:
        speed = r["rate"] / cpu["rate"]
        lines.append((r["device"], r["precision"], f"{r['train_loss']:.4f}",
                      f"{r['val_loss']:.4f}", f"{r['val_acc']:.2%}", f"{r['rate']:,.0f}",
                      f"{speed:.1f}x"))
    out = table(lines, right=tuple(range(2, 7)))
    out.append(f"  max weight difference after the first steps (fp32): {weight_diff:.3g}")
    return out


def checks(rows: list[dict], weight_diff: float, cpu: dict) -> list[str]:
    """What disagrees beyond the tolerances (empty when all is well)."""
    bad = []
    if weight_diff > WEIGHT_TOL:
        bad.append(f"weights after the first steps differ by {weight_diff:.3g} "
                   f"(tolerance {WEIGHT_TOL:g})")
    for r in rows:
        if r is cpu:
            continue
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="the accelerator to check (default cuda; "
                   "cpu runs both sides on the CPU as a self-check)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--steps", type=int, default=5, help="steps before comparing weights")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="CPU threads for PyTorch")
    args = p.parse_args(argv)
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
    print(f"LeNet-5 on mnist-5k, {args.epochs} epochs, batch {args.batch_size}, seed "
          f"{args.seed}: {args.device} against the CPU", flush=True)
    weight_diff = max_difference(first_steps(spec, data, args, args.device),
                                 first_steps(spec, data, args, "cpu"))
    cpu = full_run(spec, data, args, "cpu")
    rows = [full_run(spec, data, args, args.device)]
    rows += [full_run(spec, data, args, args.device, m) for m in mixed_precisions(args.device)]
    rows.append(cpu)
    print("\n".join(report(rows, weight_diff, cpu) + memory_line(rows)))
    bad = checks(rows, weight_diff, cpu)
    for line in bad:
        print(f"MISMATCH: {line}")
    print("FAILED" if bad else "OK: the accelerator matches the CPU within the tolerances")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
