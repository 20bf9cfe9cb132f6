"""Where a probed step's extra time goes, part by part, measured inside a training step.

One process, one model, mnist-5k batches of 32, Adam with its fused kernel (as the engine builds
it); step kinds interleaved one by one (so the machine's slow and fast spells hit all alike) and
timed from the forward pass to the end of the optimizer step, with the steps' caches as training
leaves them (the parts cost more here than on their own: the backward pass has pushed the
activations out of the processor's caches):

  plain                 forward, loss.backward(), step
  probed                the training loop's probed step: tapped forward, backward through
                        engine.run.probes.Watch (capturing the layer-output gradients), the
                        statistics reduced on the device (read 64 probes at a time)
  no activation stats   probed, with the activation layers' reduction replaced by zeros
  no norms              probed, with the norms replaced by zeros
  capture only          tapped forward and capturing backward, no statistics

    .venv/bin/python bench/probe_cost.py [--steps 1000] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import engine                                       # noqa: E402
import engine.run.probes as probes                 # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"
CASES = [("LeNet-5", "lenet5.json"), ("deep MLP (5x100 ReLU)", "deep_relu_he.json")]
KINDS = ("plain", "probed", "no activation stats", "no norms", "capture only")
REAL = {"reduce": probes._ActivationPlan.reduce, "norms": probes._norms}


def _zeros_for(kind: str) -> None:
    """Put the real statistics back, or replace one part by zeros laid out alike."""
    probes._ActivationPlan.reduce = REAL["reduce"] if kind != "no activation stats" else \
        (lambda plan, outputs, batch: torch.zeros(len(plan.keys)))
    probes._norms = REAL["norms"] if kind != "no norms" else \
        (lambda tensors: torch.zeros(len(tensors)))


def measure(file: str, steps: int, x: torch.Tensor, y: torch.Tensor) -> dict[str, list]:
    torch.manual_seed(0)
    model = engine.build(engine.load(EXAMPLES / file).spec)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=1e-3, fused=True)      # as the engine builds it
    watch = probes.Watch(model, retain=False)
    times: dict[str, list] = {k: [] for k in KINDS}
    pending: list = []
    try:
        for i in range(steps):
            kind = KINDS[i % len(KINDS)]
            _zeros_for(kind)
            start = (i * 32) % (len(x) - 32)
            xb, yb = x[start:start + 32], y[start:start + 32]
            t0 = time.perf_counter()
            if kind != "plain":
                watch.attach()
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            if kind == "plain":
                loss.backward()
            else:
                watch.backward(loss, params)
                if kind == "capture only":
                    watch._forget()          # drop what was captured, unreduced
                else:
                    pending.append(watch.gather()[1])
                watch.remove()
            opt.step()
            times[kind].append(time.perf_counter() - t0)
            if len(pending) >= 64:
                torch.cat(pending).numpy(force=True)
                pending.clear()
    finally:
        _zeros_for("probed")
        watch.close()
    return {k: v[len(v) // 10:] for k, v in times.items()}     # the first tenth warms up


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000, help="steps per network, all kinds")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data = engine.load_dataset("mnist-5k")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), batch 32, adam, "
          f"{args.steps} steps per network, kinds interleaved; median µs per step")
    print(f"{'network':24} {'kind':20} {'µs/step':>8} {'extra µs':>9} {'ratio':>6}")
    for title, file in CASES:
        times = measure(file, args.steps, data.x, data.y)
        base = statistics.median(times["plain"])
        for kind in KINDS:
            m = statistics.median(times[kind])
            print(f"{title:24} {kind:20} {m * 1e6:8.0f} {(m - base) * 1e6:9.0f} "
                  f"{m / base:6.3f}")


if __name__ == "__main__":
    main()
