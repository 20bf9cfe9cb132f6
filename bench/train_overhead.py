"""What the engine's training loop costs over a bare PyTorch loop.

Same process, same model and initial weights, same data on the same device, same batch order,
same validation pass each epoch; runs interleaved (bare, engine with default probing, engine
probing every step, in a rotating order) so that drift in machine load hits all alike. Prints
one table: median seconds and the median of the per-round ratios engine / bare.

    .venv/bin/python bench/train_overhead.py [--epochs 1] [--rounds 21] [--device cpu]
                                             [--threads N]

Targets: default probing at most 1.05x the bare loop; probing every step at most 1.25x.
On a shared machine, many short interleaved rounds give a steadier median than a few long
ones; `--threads 1` keeps torch's own threads from fighting the machine's other load.
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
from engine.train_setup import resolve_device       # noqa: E402
from engine.training import epoch_order, epoch_seed  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"
CASES = [("LeNet-5", "lenet5.json"), ("deep MLP (5x100 ReLU)", "deep_relu_he.json")]


def bare_loop(spec, data, cfg: engine.TrainConfig) -> float:
    """The loop a PyTorch user would write, with the same batches and validation pass."""
    t0 = time.perf_counter()
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = engine.build(spec).to(device)
    train_idx, val_idx = data.split(cfg.val_fraction, cfg.seed)
    x, y = data.x[train_idx].to(device), data.y[train_idx].to(device)
    vx, vy = data.x[val_idx].to(device), data.y[val_idx].to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    for epoch in range(cfg.epochs):
        torch.manual_seed(epoch_seed(cfg.seed, epoch))
        order = epoch_order(len(x), cfg.seed, epoch, device)
        model.train()
        running, correct = 0.0, torch.zeros((), device=device)
        for i in range(0, len(x), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            out = model(x[idx])
            loss = F.cross_entropy(out, y[idx])
            running += loss.item() * len(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            correct += (out.detach().argmax(1) == y[idx]).sum()
        model.eval()
        with torch.no_grad():
            vloss = vcorrect = torch.zeros((), device=device)
            for i in range(0, len(vx), 1024):
                out = model(vx[i:i + 1024])
                vloss = vloss + F.cross_entropy(out, vy[i:i + 1024]) * len(out)
                vcorrect = vcorrect + (out.argmax(1) == vy[i:i + 1024]).sum()
        torch.stack([correct.float(), vloss, vcorrect.float()]).tolist()
    return time.perf_counter() - t0


def engine_loop(spec, data, cfg: engine.TrainConfig) -> float:
    t0 = time.perf_counter()
    engine.train(spec, data, cfg)
    return time.perf_counter() - t0


def measure(spec, data, base: engine.TrainConfig, rounds: int) -> dict[str, list[float]]:
    variants = {"bare": (bare_loop, base),
                "engine": (engine_loop, base),
                "engine, probe every step": (engine_loop, base.replace(probe_every=1))}
    for fn, cfg in variants.values():            # warm up (imports, allocator, caches)
        fn(spec, data, cfg.replace(epochs=1))
    times: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for r in range(rounds):
        for name in names[r % 3:] + names[:r % 3]:
            fn, cfg = variants[name]
            times[name].append(fn(spec, data, cfg))
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--rounds", type=int, default=21)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (default: torch's choice); 1 is steadier on a busy "
                        "machine")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = engine.load_dataset("mnist-5k")
    base = engine.TrainConfig(epochs=args.epochs, device=args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, "
          f"mnist-5k, {args.epochs} epoch(s) per run, batch {base.batch_size}, adam, "
          f"{args.rounds} interleaved rounds; default probe_every={base.probe_every}")
    print("ratio: the median of the per-round ratios engine / bare (range: their spread); "
          "best: fastest engine run / fastest bare run")
    print(f"{'network':24} {'bare s':>7} {'engine s':>9} {'ratio':>6} {'best':>6} {'range':>10} "
          f"{'every-step s':>13} {'ratio':>6} {'best':>6} {'range':>10}")
    for title, file in CASES:
        spec = engine.load(EXAMPLES / file).spec
        t = measure(spec, data, base, args.rounds)
        cells = [f"{statistics.median(t['bare']):7.3f}"]
        for k, width in (("engine", 9), ("engine, probe every step", 13)):
            ratios = [e / b for e, b in zip(t[k], t["bare"])]
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            cells.append(f"{statistics.median(t[k]):{width}.3f} "
                         f"{statistics.median(ratios):6.3f} {min(t[k]) / min(t['bare']):6.3f} "
                         f"{spread:>10}")
        print(f"{title:24} " + " ".join(cells))


if __name__ == "__main__":
    main()
