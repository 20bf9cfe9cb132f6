"""The .lwnet file: a zip of JSON and safetensors members, safe to open from strangers.

Members: manifest.json (format, version, app and torch versions, date), network.json (the spec),
training.json (the run's recipe: training and pre-training settings, data set, threads;
files before the recipe held a flat training config, read as a recipe), weights.safetensors and
history.json (both optional; the history's step and probe series in history.safetensors since
format 2, engine.io.series), and
optimizer.json + optimizer.safetensors (optional, together: the optimizer's state, so that
training can continue where it stopped; for fp16 runs optimizer.json also holds the loss
scaler's state under "grad_scaler", optional, so files without it still load, and older
readers ignore it: no format version change).
Never pickle. Reading checks member names, count and sizes before decompressing, then the
version, JSON structure, kinds and parameters, and weight shapes against the spec, and reports
every problem in one FileFormatError. Writing goes to a temporary file that is renamed over the
target only when complete, so a failed save leaves the previous file intact.
"""
from __future__ import annotations

import datetime as _dt
import importlib.metadata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import __version__
from engine.errors import FileFormatError, LayerwiseError, SpecError, listed
from engine.io.atomic import write_with
from engine.io.checks import (FORMAT_NAME, FORMAT_VERSION, INLINE, MEMBER_LIMITS, MiB,
                              SERIES_MEMBER, check_version, dumps, migrate, optimizer_problems,
                              parse_history, parse_json, read_members, state_dict_problems)
from engine.io.runs import parse_runs
from engine.io.structure import MAX_PROBLEMS, json_limits
from engine.network.spec import NetworkSpec

if TYPE_CHECKING:       # torch is imported only when weights are read or written
    import torch

    from engine.network.model import Model

__all__ = ["FORMAT_VERSION", "Saved", "save", "load"]


@dataclass
class Saved:
    """What a file holds. `model` is None when it has no weights."""
    spec: NetworkSpec
    model: Model | None = None
    history: dict | None = None
    recipe: Any = None              # engine.Recipe, or None
    manifest: dict = field(default_factory=dict)
    path: str = ""
    optimizer_state: Any = None     # engine.run.optim.OptimizerState, or None
    runs: list = field(default_factory=list)   # kept runs (engine.io.runs records)


# ----------------------------------------------------------------------------- writing

def save(path, spec: NetworkSpec, model: Model | None = None, history: dict | None = None,
         recipe: Any = None, optimizer: Any = None, runs: list | None = None) -> Path:
    """Write a .lwnet file atomically. Nothing is written unless everything is valid.
    `recipe` is an engine.Recipe (or its dict): the settings the network trains with.
    `optimizer` (an engine.run.optim.OptimizerState, e.g. run.optimizer_state()) needs `model`;
    `runs` are kept runs for comparison (engine.io.runs records)."""
    path = Path(path)
    if not isinstance(spec, NetworkSpec):
        raise SpecError(f"save() needs a NetworkSpec, got {type(spec).__name__}")
    members = {"manifest.json": dumps(_manifest()),
               "network.json": dumps(network_json(spec))}
    if recipe is not None:
        members["training.json"] = dumps({"recipe": _recipe(recipe).to_dict()})
    if history is not None:
        members.update(_history_members(path, history))
    if model is not None:
        members["weights.safetensors"] = _weights_bytes(spec, model)
    if optimizer is not None:
        members.update(_optimizer_members(spec, model, optimizer))
    if runs:
        members["runs.json"] = dumps(list(runs))
    _check_opens(path, members)
    _write_atomically(path, members)
    return path


def _check_opens(path: Path, members: dict[str, bytes]) -> None:
    """What saves opens: the members go through the reader's own limits and checks (the
    weights and optimizer state were checked against the network when they were made)."""
    problems: list[str] = []
    for name, data in members.items():
        if len(data) > MEMBER_LIMITS[name]:
            problems.append(f"{name} would be {len(data) // MiB:,} MiB; a file may hold at most "
                            f"{MEMBER_LIMITS[name] // MiB:,} MiB")
    _parse({k: v for k, v in members.items() if k in JSON_MEMBERS and k != "optimizer.json"
            or k == SERIES_MEMBER}, problems)
    if problems:
        raise LayerwiseError(f"Cannot save '{path}': the file could not be opened again, so "
                             f"nothing was written: " + "; ".join(listed(problems)))


def _history_members(path: Path, history: dict) -> dict[str, bytes]:
    """history.json, and history.safetensors when the history has step or probe series."""
    from engine.io.series import split_history
    problems: list[str] = []
    meta, series = split_history(history, problems)
    if problems:
        raise LayerwiseError(f"Cannot save '{path}': nothing was written: " + problems[0])
    members = {"history.json": dumps(meta)}
    if series is not None:
        members[SERIES_MEMBER] = series
    return members


def _recipe(recipe: Any):
    from engine.run.recipe import Recipe
    return recipe if isinstance(recipe, Recipe) else Recipe.from_dict(recipe)


def network_json(spec: NetworkSpec) -> dict:
    """The spec as stored in network.json (also valid on its own as a bare network file)."""
    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **spec.to_dict()}


def _manifest() -> dict:
    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "app": "layerwise", "app_version": __version__,
            "torch_version": _torch_version(),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def _torch_version() -> str:
    """torch's version without importing it (saving an architecture needs no torch)."""
    try:
        return importlib.metadata.version("torch").split("+")[0]
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _weights_bytes(spec: NetworkSpec, model: torch.nn.Module) -> bytes:
    from safetensors.torch import save as st_save
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    problems = state_dict_problems(_expected_state(spec), state)
    if problems:
        raise SpecError("the trained weights do not fit this network, so nothing was saved: "
                        + "; ".join(problems))
    return st_save(state)


def _optimizer_members(spec: NetworkSpec, model, optimizer) -> dict[str, bytes]:
    from safetensors.torch import save as st_save
    if model is None:
        raise LayerwiseError("an optimizer state can only be saved with the model's weights")
    shapes = {k: tuple(v.shape) for k, v in _expected_state(spec).items()}
    problems = optimizer_problems(optimizer.meta, optimizer.tensors, shapes)
    if problems:
        raise SpecError("the optimizer state does not fit this network, so nothing was saved: "
                        + "; ".join(problems))
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in optimizer.tensors.items()}
    return {"optimizer.json": dumps(optimizer.meta), "optimizer.safetensors": st_save(tensors)}


def _expected_state(spec: NetworkSpec) -> dict[str, torch.Tensor]:
    """The state dict the spec's model has, on the meta device (no memory, no init cost)."""
    import torch

    from engine.network.model import build
    with torch.device("meta"):
        return build(spec).state_dict()


def _write_atomically(path: Path, members: dict[str, bytes]) -> None:
    def write(fh) -> None:
        with zipfile.ZipFile(fh, "w") as zf:
            for name, data in members.items():
                method = zipfile.ZIP_STORED if name.endswith(".safetensors") \
                    else zipfile.ZIP_DEFLATED
                zf.writestr(name, data, compress_type=method)
    write_with(path, write)


# ----------------------------------------------------------------------------- reading

def load(path) -> Saved:
    """Read a .lwnet file or a bare network.json; every problem in one FileFormatError."""
    path = Path(path)
    problems: list[str] = []
    members = read_members(path, problems, _state_caps)
    if members is None:
        raise FileFormatError(path, problems)
    saved = _parse(members, problems)
    if problems:
        raise FileFormatError(path, problems)
    saved.path = str(path)
    return saved


STATE_ROOM = 1 * MiB          # a safetensors header and its alignment, beyond the values
BYTES_PER_STORED = 8          # a value stored as float64, the widest weights are read from
OPTIMIZER_COPIES = 4          # state tensors a weight may have (Adam with AMSGrad: 3), and more
WITHOUT_NETWORK = 1 * MiB     # the cap when network.json cannot be read: its problem is reported


def _state_caps(members: dict[str, bytes]) -> dict[str, int]:
    """The most bytes weights.safetensors and optimizer.safetensors can hold for the network in
    network.json (read_members' caps): every weight and buffer stored as float64, and four
    optimizer tensors of each. A network that cannot be read or built takes no weights (it is
    refused for that, by _parse)."""
    import json
    try:
        spec = NetworkSpec.from_dict(json.loads(members["network.json"].decode("utf-8-sig")))
        state = _expected_state(spec)
    except Exception:   # noqa: BLE001 - any problem of network.json is reported by _parse
        return dict.fromkeys(("weights.safetensors", "optimizer.safetensors"), WITHOUT_NETWORK)
    values = sum(t.numel() for t in state.values())
    weights = STATE_ROOM + BYTES_PER_STORED * values
    return {"weights.safetensors": weights,
            "optimizer.safetensors": STATE_ROOM + OPTIMIZER_COPIES * (weights - STATE_ROOM)}


JSON_MEMBERS = ("manifest.json", "network.json", "training.json", "history.json",
                "optimizer.json", "runs.json")


def _parse(members: dict[str, bytes], problems: list[str]) -> Saved:
    too_big = json_limits(members, problems)
    parsed = {name: parse_json(members, name, problems, required=(name == "network.json"))
              if name not in too_big else None for name in JSON_MEMBERS}
    version = check_version(parsed["manifest.json"], parsed["network.json"], members, problems)
    if version is None:
        return Saved(NetworkSpec())
    parsed = migrate(parsed, version)
    spec = _parse_spec(parsed["network.json"], problems)
    recipe = _parse_recipe(parsed["training.json"], problems)
    history = parse_history(parsed["history.json"], members, problems, parsed.get(INLINE))
    model = None
    if "weights.safetensors" in members and spec is not None:
        model = _parse_weights(spec, members["weights.safetensors"], problems)
    manifest = parsed["manifest.json"] or {}
    state = _parse_optimizer(parsed["optimizer.json"], members, model, problems)
    runs = parse_runs(parsed["runs.json"], problems) if parsed["runs.json"] is not None else []
    return Saved(spec or NetworkSpec(), model, history, recipe, manifest,
                 optimizer_state=state, runs=runs)


def _parse_spec(network: Any, problems: list[str]) -> NetworkSpec | None:
    if network is None:
        return None
    try:
        return NetworkSpec.from_dict(network)
    except SpecError as exc:
        problems.extend(f"network.json: {m}" for _, m in exc.problems[:MAX_PROBLEMS])
        if len(exc.problems) > MAX_PROBLEMS:
            problems.append(f"network.json: only the first {MAX_PROBLEMS} problems are listed")
        return None


def _parse_recipe(training: Any, problems: list[str]):
    """The recipe in training.json: {"recipe": {...}}, or {"config": {...}} (a flat training
    config with "dataset" and "pretrain", as written before the recipe), migrated."""
    from engine.run.recipe import Recipe
    if training is None:
        return None
    data = training.get("recipe", training.get("config")) if isinstance(training, dict) else None
    if not isinstance(data, dict) or len(training) != 1:
        problems.append("training.json must be an object with one member, 'recipe' (or 'config' "
                        "in older files), that is an object")
        return None
    try:
        return Recipe.from_dict(data)
    except LayerwiseError as exc:
        problems.append(f"training.json: {exc}")
        return None


def _parse_weights(spec: NetworkSpec, data: bytes, problems: list[str]) -> Model | None:
    from safetensors.torch import load as st_load

    from engine.network.model import build
    try:
        state = st_load(data)
    except Exception as exc:  # safetensors raises its own error types for any malformed file
        problems.append(f"weights.safetensors is not a valid safetensors file ({exc})")
        return None
    try:
        model = build(spec)
    except SpecError as exc:
        problems.append(f"the file has weights but its network is invalid: {exc}")
        return None
    found = state_dict_problems(model.state_dict(), state)
    if found:
        problems.extend(f"weights.safetensors: {m}" for m in found)
        return None
    model.load_state_dict(state)
    return model


def _parse_optimizer(meta: Any, members: dict[str, bytes], model: Model | None,
                     problems: list[str]):
    has_json, has_tensors = "optimizer.json" in members, "optimizer.safetensors" in members
    if not has_json and not has_tensors:
        return None
    if has_json != has_tensors or "weights.safetensors" not in members:
        problems.append("an optimizer state needs optimizer.json, optimizer.safetensors and "
                        "weights.safetensors together")
        return None
    from safetensors.torch import load as st_load
    try:
        tensors = st_load(members["optimizer.safetensors"])
    except Exception as exc:  # safetensors raises its own error types for any malformed file
        problems.append(f"optimizer.safetensors is not a valid safetensors file ({exc})")
        return None
    if model is None or meta is None:
        return None      # the weights or optimizer.json already have a problem reported
    shapes = {k: tuple(v.shape) for k, v in model.named_parameters()}
    found = optimizer_problems(meta, tensors, shapes)
    if found:
        problems.extend(found)
        return None
    from engine.run.optim import OptimizerState
    return OptimizerState(tensors, meta)
