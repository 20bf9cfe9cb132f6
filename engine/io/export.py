"""Export a network out of Layerwise: readable PyTorch source, TorchScript, ONNX.

Every export is checked before it is reported done: the exported artefact is loaded back with its
own runtime (the generated module, torch.jit.load, ONNX Runtime when installed) and run on the
same random batch as the original; the largest difference is returned.
"""
from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import logging
import sys
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from engine.errors import LayerwiseError
from engine.io.atomic import output_problem, replacing, write_bytes
from engine.io.export_python import python_source, state_for_source
from engine.network.model import Model, build
from engine.network.spec import NetworkSpec

FORMATS = ("python", "torchscript", "onnx")
SUFFIXES = {"python": ".py", "torchscript": ".pt", "onnx": ".onnx"}
TOLERANCE = {"python": 0.0, "torchscript": 1e-6, "onnx": 1e-5}


@dataclass
class ExportResult:
    format: str
    paths: list[Path] = field(default_factory=list)
    max_difference: float | None = None     # None when the runtime to check with is missing
    note: str = ""


def export(network, path, format: str = "python", verify: bool = True) -> ExportResult:
    """Write `network` (a Saved file, a Model or a NetworkSpec) to `path` in `format`."""
    if format not in FORMATS:
        raise LayerwiseError(f"unknown export format {format!r}; choose one of "
                             f"{', '.join(FORMATS)}")
    model, note = _model_of(network)
    model = copy.deepcopy(model).to("cpu").eval()     # the caller's model stays as it is
    path = Path(path)
    _check_target(path, format)
    result = {"python": _export_python, "torchscript": _export_torchscript,
              "onnx": _export_onnx}[format](model, path)
    result.note = note
    if verify:
        _verify(model, result)
    return result


def _check_target(path: Path, format: str) -> None:
    """Refuse, before any work, a target that would replace something else: another kind of
    file (the .lwnet being exported, a weights file), a folder, a device or a pipe."""
    where = f"Cannot export to '{path}'"
    if path.suffix.lower() != SUFFIXES[format]:
        raise LayerwiseError(f"{where}: a {format} export is written to a {SUFFIXES[format]} "
                             f"file; give a name ending in {SUFFIXES[format]}.")
    targets = [path] + ([path.with_suffix(".safetensors")] if format == "python" else [])
    for target in targets:
        problem = output_problem(target)
        if problem:
            named = "" if target == path else f"'{target}': "
            raise LayerwiseError(f"{where}: {named}{problem}.")


def _model_of(network) -> tuple[Model, str]:
    if isinstance(network, Model):
        return network, ""
    if isinstance(network, NetworkSpec):
        return build(network), "the network had no trained weights: exported freshly initialised ones"
    spec, model = getattr(network, "spec", None), getattr(network, "model", None)
    if model is not None:
        return model, ""
    if isinstance(spec, NetworkSpec):
        return build(spec), "the file had no trained weights: exported freshly initialised ones"
    raise LayerwiseError(f"export() needs a NetworkSpec, a Model or a loaded file, "
                         f"not {type(network).__name__}")


def _example(model: Model, batch: int = 3) -> torch.Tensor:
    """An input batch to trace and verify with (Model.example_input)."""
    return model.example_input(batch)


# ----------------------------------------------------------------------------- formats

def _export_python(model: Model, path: Path) -> ExportResult:
    """The source and its weights, both made in memory, then written side by side: each
    replaces its file only once both are complete (a full disk leaves neither half-done)."""
    from safetensors.torch import save as st_save
    weights = path.with_suffix(".safetensors")
    source = python_source(model, weights.name, path.stem).encode("utf-8")
    tensors = st_save(state_for_source(model))
    with replacing(weights, "export to") as wtmp, replacing(path, "export to") as stmp:
        wtmp.write_bytes(tensors)
        stmp.write_bytes(source)
    return ExportResult("python", [path, weights])


def _export_torchscript(model: Model, path: Path) -> ExportResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # torch.jit is deprecated upstream but still loads
        traced = torch.jit.trace(model, _example(model), check_trace=False)
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer)      # in memory: torch aborts the process on a full disk
    write_bytes(path, buffer.getvalue(), "export to")
    return ExportResult("torchscript", [path])


def _export_onnx(model: Model, path: Path) -> ExportResult:
    missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise LayerwiseError(f"ONNX export needs the packages {' and '.join(missing)}, which "
                             f"Layerwise installs: reinstall it (pip install -e .) or install "
                             f"them with  pip install {' '.join(missing)}")
    batch = torch.export.Dim("batch", min=1)
    with warnings.catch_warnings(), _quiet(), replacing(path, "export to") as tmp:
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (_example(model),), str(tmp), dynamo=True, verbose=False,
                          input_names=["input"], output_names=["output"],
                          dynamic_shapes=({0: batch},), external_data=False)
    return ExportResult("onnx", [path])


@contextlib.contextmanager
def _quiet():
    """Silence the exporter's progress lines and log warnings (the CLI prints its own)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


# ----------------------------------------------------------------------------- verification

def _verify(model: Model, result: ExportResult) -> None:
    x = _example(model, batch=5)     # another batch size than traced: checks the dynamic batch
    with torch.no_grad():
        want = model(x)
        got = _run_exported(result, x)
    if got is None:
        return
    result.max_difference = float((got - want).abs().max())
    if result.max_difference > TOLERANCE[result.format] * max(1.0, float(want.abs().max())):
        raise LayerwiseError(f"the {result.format} export does not reproduce the network "
                             f"(largest difference {result.max_difference:.3g}); please report "
                             f"this network")


def _run_exported(result: ExportResult, x: torch.Tensor) -> torch.Tensor | None:
    path = result.paths[0]
    if result.format == "python":
        module = load_python_module(path)
        return module.load(result.paths[1])(x)
    if result.format == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.jit.load(str(path))(x)
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    import onnxruntime
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {"input": x.numpy()})[0])


def load_python_module(path: Path):
    """Import a generated .py file under a private name."""
    name = f"_layerwise_export_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module
