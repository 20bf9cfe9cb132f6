"""Seed files for the fuzzers, made through engine's public API: real saved documents (a
network with weights, history, recipe, optimizer state and kept runs), a bare network.json,
and a tiny network + data set for the command line."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import engine

TINY_LAYERS = [("Linear", {"out_features": 4}), ("Tanh", {}), ("Linear", {"out_features": 2})]
CONV_LAYERS = [("Conv2d", {"out_channels": 2, "kernel_size": 3, "padding": 1}),
               ("BatchNorm2d", {}), ("ReLU", {}), ("MaxPool2d", {"kernel_size": 2}),
               ("Flatten", {}), ("Linear", {"out_features": 3})]


def tiny_spec(name: str = "tiny") -> engine.NetworkSpec:
    return engine.NetworkSpec.sequential((2,), TINY_LAYERS, name=name,
                                         description="a seed for the fuzzers")


def trained_file(path: Path, epochs: int = 2) -> Path:
    """A tiny network trained on xor: weights, history with probes, recipe, optimizer state
    and two kept runs (everything a .lwnet can hold)."""
    spec = tiny_spec()
    config = engine.TrainConfig(epochs=epochs, batch_size=16, probe_every=2, seed=1,
                                device="cpu")
    data = engine.load_dataset("xor", samples=64)
    run = engine.train(spec, data, config)
    recipe = run.recipe_record()
    runs = [engine.runs.make_record(run.history, recipe.flat(), label, spec)
            for label in ("first", "second")]
    return engine.save(path, spec, model=run.model, history=run.history, recipe=recipe,
                       optimizer=run.optimizer_state(), runs=runs)


def conv_file(path: Path) -> Path:
    """An image network with batch-norm buffers, weights and a short history, no optimizer."""
    spec = engine.NetworkSpec.sequential((1, 4, 4), CONV_LAYERS, name="conv")
    history = {"epochs": [{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "val_loss": 1.1,
                           "val_acc": 0.4, "seconds": 0.1}],
               "steps": [{"step": 1, "epoch": 1, "loss": 1.0}]}
    return engine.save(path, spec, model=engine.build(spec), history=history)


def bare_file(path: Path) -> Path:
    """A bare network.json (architecture only), as a person writes one by hand."""
    path.write_text(json.dumps(engine.network_json(tiny_spec("bare")), indent=1),
                    encoding="utf-8")
    return path


def seed_files(folder: Path) -> dict[str, Path]:
    """Every seed in `folder` ({name: path}), written unless an earlier call wrote them."""
    paths = {"trained": folder / "trained.lwnet", "conv": folder / "conv.lwnet",
             "bare": folder / "bare.json"}
    if all(p.exists() for p in paths.values()):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    trained_file(paths["trained"])
    conv_file(paths["conv"])
    bare_file(paths["bare"])
    return paths


def members(path: Path) -> list[tuple[str, bytes]]:
    """The members of a .lwnet in order; a bare JSON file as one network.json."""
    if not zipfile.is_zipfile(path):
        return [("network.json", path.read_bytes())]
    with zipfile.ZipFile(path) as zf:
        return [(n, zf.read(n)) for n in zf.namelist()]


def tiny_csv(path: Path, rows: int = 40) -> Path:
    """A CSV data set that fits tiny_spec: two inputs and a 0/1 label."""
    lines = ["a,b,label"] + [f"{(i % 7) / 7:.3f},{(i % 5) / 5:.3f},{i % 2}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
