"""What watching a network's layers costs, in Layerwise and in the tools people use instead.

One process, one torch thread, CPU. Each side trains the same network from the same initial
weights on the same data in the same batch order with the same validation pass
(bench/train_overhead.py's `bare_loop` and `engine_loop`, imported, not copied):
  plain loop              train_overhead.bare_loop (no statistics of any layer), with
                          torch.optim.Adam's defaults, and with Adam's fused kernel, as
                          Layerwise builds its optimizers (engine.run.optim);
  Layerwise               engine.train, default probes (every 20 steps) and probes every step;
  hooks -> TensorBoard    what a user writes by hand: forward hooks on every leaf layer
                          (activation mean, std, fraction of zeros), tensor hooks on every
                          parameter (gradient norm), each value a SummaryWriter.add_scalar on
                          the probed steps (1, 1 + N, ... as in Layerwise), N = 20 and N = 1;
  wandb.watch             wandb.watch(model, log="all", log_freq=20): parameter and gradient
                          histograms, in an offline run, with a wandb.log every 20 steps.
The hooked sides run bare_loop itself, their hooks attached to the model it builds before its
timer starts, so every side is timed alike: from the first batch to the end of the last
validation pass. Setting up (SummaryWriter, wandb.init) and closing (writer.close, run.finish)
happen outside that window; the writer's thread and wandb's service process run inside it, as
they do for a user. Everything is written under a temporary folder, removed at the end
(WANDB_MODE=offline: nothing leaves the machine). Every side is run once to warm up, then
`--rounds` rounds run each side once in a rotating order; the table gives the median of the
per-round ratios side / plain loop with their interquartile range. A peer that is not
installed or fails says so in its row.

    .venv/bin/pip install -e '.[bench]'            # tensorboard, wandb
    .venv/bin/python bench/peers.py [--rounds 30] [--samples 5000] [--epochs 1]
                                    [--networks lenet5 deep_relu_he]
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_overhead import CASES, EXAMPLES, bare_loop, engine, engine_loop  # noqa: E402

PLAIN = "plain loop"


class TensorBoardHooks:
    """Hand-written hooks: per leaf layer the output's mean, std and fraction of zeros, per
    parameter its gradient's norm, each a SummaryWriter.add_scalar on every `every`-th training
    step (steps 1, 1 + every, ...); validation passes are not logged."""

    def __init__(self, folder: str, every: int):
        from torch.utils.tensorboard import SummaryWriter
        self.writer = SummaryWriter(folder)
        self.every, self.step, self.probing, self.handles = every, 0, False, []

    def attach(self, model: torch.nn.Module) -> None:
        self.handles.append(model.register_forward_pre_hook(self._count))
        for name, layer in model.named_modules():
            if next(layer.children(), None) is None:
                self.handles.append(layer.register_forward_hook(self._activations(name)))
        for name, param in model.named_parameters():
            self.handles.append(param.register_hook(self._gradient(name)))

    def _count(self, model, inputs) -> None:
        self.step += model.training
        self.probing = model.training and (self.step - 1) % self.every == 0

    def _activations(self, name: str):
        def hook(layer, inputs, out):
            if self.probing:
                out = out.detach()
                self.writer.add_scalar(f"{name}/mean", out.mean().item(), self.step)
                self.writer.add_scalar(f"{name}/std", out.std().item(), self.step)
                self.writer.add_scalar(f"{name}/zeros", (out == 0).float().mean().item(),
                                       self.step)
        return hook

    def _gradient(self, name: str):
        def hook(grad):
            if self.probing:
                self.writer.add_scalar(f"{name}/grad_norm", grad.norm().item(), self.step)
        return hook

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.writer.close()


class WandbWatch:
    """wandb.watch(model, log="all", log_freq=every) in an offline run of its own, with a
    wandb.log every `every` training steps (as a user logging the loss would) so that the
    histograms are committed to the run's file, not only computed."""

    def __init__(self, folder: str, every: int):
        import wandb
        self.run = wandb.init(dir=folder, project="layerwise-peers", mode="offline")
        self.every, self.step, self.model, self.handle = every, 0, None, None

    def attach(self, model: torch.nn.Module) -> None:
        self.model = model
        self.run.watch(model, log="all", log_freq=self.every)
        self.handle = model.register_forward_pre_hook(self._commit)

    def _commit(self, model, inputs) -> None:
        if model.training:
            self.step += 1
            if self.step % self.every == 0:
                self.run.log({"step": self.step})

    def close(self) -> None:
        if self.model is not None:
            self.handle.remove()
            self.run.unwatch(self.model)
        self.run.finish()


def watched(make, every: int, scratch: str):
    """A side: bare_loop with a `make(folder, every)` watcher's hooks on the model it builds."""
    def side(spec, data, cfg) -> float:
        watcher = make(tempfile.mkdtemp(dir=scratch), every)
        build = engine.build

        def build_and_attach(spec):
            model = build(spec)
            watcher.attach(model)
            return model
        try:
            with mock.patch.object(engine, "build", build_and_attach):
                return bare_loop(spec, data, cfg)
        finally:
            watcher.close()
    return side


def missing(module: str) -> str | None:
    """Why a peer cannot run here, or None."""
    if importlib.util.find_spec(module) is None:
        return f"not installed (pip install {module})"
    return None


def sides(base: engine.TrainConfig, scratch: str) -> dict[str, object]:
    """name -> a function (spec, data, cfg) -> seconds, or a string saying why it cannot run."""
    every = base.probe_every
    tb, wandb = missing("tensorboard"), missing("wandb")
    return {
        PLAIN: bare_loop,
        "plain loop with Adam's fused kernel (as Layerwise's)":
            lambda spec, data, cfg: bare_loop(spec, data, cfg, fused=True),
        f"Layerwise, default probes (every {every} steps)": engine_loop,
        "Layerwise, probes every step":
            lambda spec, data, cfg: engine_loop(spec, data, cfg.replace(probe_every=1)),
        f"hand-written hooks -> TensorBoard, every {every} steps":
            tb or watched(TensorBoardHooks, every, scratch),
        "hand-written hooks -> TensorBoard, every step":
            tb or watched(TensorBoardHooks, 1, scratch),
        f'wandb.watch(log="all", log_freq={every}), offline':
            wandb or watched(WandbWatch, every, scratch),
    }


def run_side(name: str, fn, spec, data, cfg, failed: dict[str, str]) -> float | None:
    """One run of a side; a peer's failure is recorded in `failed` (the plain loop and
    Layerwise must not fail: their errors propagate)."""
    try:
        return fn(spec, data, cfg)
    except Exception as e:                  # a peer's own bug or setup problem: report it
        if name == PLAIN or name.startswith("Layerwise"):
            raise
        failed[name] = f"failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        return None


def measure(spec, data, base, rounds: int, scratch: str) -> tuple[dict, dict]:
    """{side: [seconds per round]}, {side: why it has no times}."""
    table = sides(base, scratch)
    failed = {k: v for k, v in table.items() if isinstance(v, str)}
    live = [k for k in table if k not in failed]
    for name in live:                                   # warm up: imports, allocator, caches
        run_side(name, table[name], spec, data, base.replace(epochs=1), failed)
    times: dict[str, list[float]] = {k: [] for k in table}
    for r in range(rounds):
        live = [k for k in live if k not in failed]
        round_times = {}
        for name in live[r % len(live):] + live[:r % len(live)]:
            round_times[name] = run_side(name, table[name], spec, data, base, failed)
        for name, t in round_times.items():
            if name not in failed:
                times[name].append((t, round_times[PLAIN]))
    return times, failed


def report(title: str, times: dict, failed: dict, rounds: int) -> None:
    plain = [p for _, p in times[PLAIN]]
    print(f"\n{title}: plain loop {statistics.median(plain):.3f} s (median of {rounds})")
    print(f"| {'what':52} | ratio to the plain loop | IQR         | median s |")
    print(f"|{'-' * 54}|-------------------------|-------------|----------|")
    for name, pairs in times.items():
        if name == PLAIN:
            continue
        if name in failed or len(pairs) < 2:
            print(f"| {name:52} | {failed.get(name, 'too few rounds'):23} | {'':11} | {'':8} |")
            continue
        ratios = [t / p for t, p in pairs]
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        print(f"| {name:52} | {statistics.median(ratios):23.3f} | {q1:.3f}-{q3:.3f} "
              f"| {statistics.median(t for t, _ in pairs):8.3f} |")


def main(argv: list[str] | None = None) -> None:
    names = {Path(file).stem: (title, file) for title, file in CASES}
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--samples", type=int, default=5000,
                   help="train on the first N samples of mnist-5k (5000: all)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--networks", nargs="+", choices=sorted(names), default=list(names))
    args = p.parse_args(argv)
    if args.rounds < 2 or args.samples < 64 or args.epochs < 1:
        p.error("--rounds must be at least 2, --samples at least 64, --epochs at least 1")
    torch.set_num_threads(1)
    full = engine.load_dataset("mnist-5k")
    data = dataclasses.replace(full, x=full.x[:args.samples], y=full.y[:args.samples])
    base = engine.TrainConfig(epochs=args.epochs, device="cpu")
    print(f"torch {torch.__version__}, 1 thread, cpu, mnist-5k ({len(data)} samples), "
          f"{args.epochs} epoch(s) per run, batch {base.batch_size}, adam, {args.rounds} "
          f"interleaved rounds; ratio: median of the per-round ratios to the plain loop")
    with tempfile.TemporaryDirectory(prefix="layerwise-peers-") as scratch:
        for var in ("WANDB_DIR", "WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
            os.environ[var] = scratch
        os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true")
        t0 = time.perf_counter()
        for key in args.networks:
            title, file = names[key]
            spec = engine.load(EXAMPLES / file).spec
            times, failed = measure(spec, data, base, args.rounds, scratch)
            report(title, times, failed, args.rounds)
        print(f"\n({time.perf_counter() - t0:.0f} s in all)")


if __name__ == "__main__":
    main()
