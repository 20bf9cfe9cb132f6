"""What one optimizer step costs with the engine's optimizers against torch.optim's defaults.

The engine builds its optimizers with PyTorch's fused kernels where it has them
(engine.run.optim.make_optimizer): one pass over all weight tensors instead of a loop of ~10
small operations per tensor, which on a CPU is most of the step's time for small networks.
This times `optimizer.step()` on the weights of the example networks (gradients drawn once),
each kind with torch's defaults and as the engine builds it, the two interleaved step by step;
prints the median µs per step and the ratio. The two give the same update to rounding.

    .venv/bin/python bench/optimizer_step.py [--steps 2000] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import engine                                       # noqa: E402
from engine.run.optim import make_optimizer         # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"
CASES = [("LeNet-5", "lenet5.json"), ("deep MLP (5x100 ReLU)", "deep_relu_he.json")]
KINDS = ("sgd", "sgd+momentum", "adam", "adamw", "rmsprop", "adagrad")


def default_kernels(kind: str, params: list) -> torch.optim.Optimizer:
    """The optimizer a PyTorch user builds for `kind`: torch.optim's defaults."""
    cfg = engine.TrainConfig(optimizer=kind)
    O, lr = torch.optim, cfg.learning_rate
    return {"sgd": lambda: O.SGD(params, lr=lr),
            "sgd+momentum": lambda: O.SGD(params, lr=lr, momentum=cfg.momentum),
            "adam": lambda: O.Adam(params, lr=lr),
            "adamw": lambda: O.AdamW(params, lr=lr),
            "rmsprop": lambda: O.RMSprop(params, lr=lr),
            "adagrad": lambda: O.Adagrad(params, lr=lr)}[kind]()


def time_steps(file: str, kind: str, steps: int) -> tuple[float, float]:
    """Median seconds per step: (torch's defaults, the engine's), interleaved."""
    model = engine.build(engine.load(EXAMPLES / file).spec)
    sides = []
    for build in (lambda ps: default_kernels(kind, ps),
                  lambda ps: make_optimizer(engine.TrainConfig(optimizer=kind), ps)):
        params = [torch.nn.Parameter(p.detach().clone()) for p in model.parameters()]
        for p in params:
            p.grad = torch.randn_like(p) * 1e-3
        sides.append(build(params))
    times: list[list[float]] = [[], []]
    for i in range(steps + steps // 10):
        for side, optimizer in enumerate(sides):
            t0 = time.perf_counter()
            optimizer.step()
            if i >= steps // 10:                    # the first tenth warms up
                times[side].append(time.perf_counter() - t0)
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), cpu, "
          f"{args.steps} steps per side, interleaved; median µs per optimizer step")
    print(f"{'network':24} {'optimizer':13} {'torch default':>13} {'engine':>8} {'ratio':>6}")
    for title, file in CASES:
        for kind in KINDS:
            torch_s, engine_s = time_steps(file, kind, args.steps)
            print(f"{title:24} {kind:13} {torch_s * 1e6:13.0f} {engine_s * 1e6:8.0f} "
                  f"{engine_s / torch_s:6.3f}")
            title = ""


if __name__ == "__main__":
    main()
