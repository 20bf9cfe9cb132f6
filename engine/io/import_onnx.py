"""Import an ONNX model as a Layerwise network.

The file is only read, never run as code: it is parsed from its bytes (bounded in size), weights
kept in external files are refused (no other file is opened), and onnx's checker validates it
before any op is looked at. Each op is mapped to a catalogue kind by the table in
engine.io.onnx_ops; the ops without one are refused together, each named with its node. The
imported network is checked against ONNX Runtime (when installed) on a random batch.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from engine.errors import FileFormatError, LayerwiseError
from engine.io.checks import file_problem
from engine.io.import_common import GraphBuilder, Imported, UnsupportedOperations, check_same

MAX_BYTES = 1 << 30      # 1 GiB: larger files are refused before they are read
FLOAT_TYPES = (1, 10, 11, 16)   # float, float16, double, bfloat16


def import_onnx(path, name: str | None = None) -> Imported:
    """Read `path` (an .onnx file) into a NetworkSpec and a Model holding its weights."""
    from engine.io import onnx_ops
    path = Path(path)
    data = _read_bytes(path)
    model = _parse(path, data)
    graph = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    builder = GraphBuilder(name or _own_name(graph.name) or path.stem,
                           f"Imported from the ONNX model {path.name}.")
    consts = {t.name: _array(path, t) for t in graph.initializer}
    source, dtype = _graph_input(path, graph, consts)
    builder.input(source.name, _sample_shape(path, source))
    ctx = onnx_ops.Context(builder, consts, opset, graph, len(data))
    for i, node in enumerate(graph.node):
        ctx.convert(node, i)
    if len(graph.output) != 1:
        raise UnsupportedOperations([(o.name, "one of several outputs; a Layerwise network "
                                              "has one") for o in graph.output])
    spec, built = builder.finish(graph.output[0].name)
    result = Imported(spec, built, source=str(path))
    result.max_difference = _check(built, data, source.name, dtype)
    return result


# ----------------------------------------------------------------------------- reading

EXPORTER_NAMES = ("main_graph", "torch_jit", "torch-jit-export", "tf2onnx", "")
"""Graph names PyTorch's exporters (and others) give every model: the file's name is better."""


def _own_name(name: str) -> str:
    return "" if name in EXPORTER_NAMES else name


def _array(path: Path, tensor):
    """A stored weight as a numpy array; FileFormatError naming it when it cannot be one (an
    unknown data type, data that do not fill its shape)."""
    import onnx
    try:
        return onnx.numpy_helper.to_array(tensor)
    except (KeyError, ValueError, TypeError, IndexError, OverflowError) as exc:
        raise FileFormatError(path, [f"its weight {tensor.name!r} cannot be read "
                                     f"({type(exc).__name__}: {_first_line(exc)})"]) from None


def _read_bytes(path: Path) -> bytes:
    problem = file_problem(path)
    if problem:
        raise FileFormatError(path, [problem])
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise FileFormatError(path, [f"it holds {size:,} bytes, more than the "
                                         f"{MAX_BYTES:,} an imported model may have"])
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise FileFormatError(path, [f"it cannot be read ({exc.strerror or exc})"]) from None
    if len(data) > MAX_BYTES:
        raise FileFormatError(path, [f"it holds more than {MAX_BYTES:,} bytes"])
    return data


def _parse(path: Path, data: bytes):
    """The ModelProto, from the bytes alone (external data is never followed), validated."""
    import onnx
    from google.protobuf.message import DecodeError
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError, TypeError) as exc:
        raise FileFormatError(path, [f"it is not an ONNX model ({_first_line(exc)})"]) from None
    if not model.graph.node and not model.graph.input:
        raise FileFormatError(path, ["it is not an ONNX model (it holds no graph)"])
    external = [t.name for t in _all_tensors(model.graph)
                if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise FileFormatError(path, [f"its weights {', '.join(map(repr, external[:3]))}"
                                     f"{' and others' if len(external) > 3 else ''} are kept in "
                                     f"other files, which Layerwise does not open: save the "
                                     f"model with its weights inside"])
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError, RuntimeError) as exc:
        raise FileFormatError(path, [f"it is not a valid ONNX model: "
                                     f"{_first_line(exc)}"]) from None
    return model


def _all_tensors(graph):
    """Every tensor stored in `graph`, in subgraphs too."""
    import onnx
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                yield attr.t
            elif attr.type == onnx.AttributeProto.GRAPH:
                yield from _all_tensors(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _all_tensors(g)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    line = (text[0] if text else type(exc).__name__).strip()
    return line if len(line) <= 300 else line[:297] + "..."


def _graph_input(path: Path, graph, consts):
    inputs = [i for i in graph.input if i.name not in consts]
    if len(inputs) != 1:
        names = ", ".join(repr(i.name) for i in inputs) or "none"
        raise FileFormatError(path, [f"it has {len(inputs)} inputs ({names}); a Layerwise "
                                     f"network has exactly one"])
    source = inputs[0]
    dtype = source.type.tensor_type.elem_type
    if dtype not in FLOAT_TYPES + (6, 7):       # int32 and int64: token ids
        raise FileFormatError(path, [f"its input {source.name!r} is not a tensor of numbers"])
    return source, dtype


def _sample_shape(path: Path, source) -> tuple[int, ...]:
    """One sample's shape: the input's dimensions after the batch, each a fixed number."""
    dims = source.type.tensor_type.shape.dim
    fixed = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    if len(fixed) < 2 or any(not d or d < 1 for d in fixed[1:]):
        shown = ", ".join(str(d) if d else "?" for d in fixed) or "none given"
        raise FileFormatError(path, [f"its input {source.name!r} has the shape ({shown}); "
                                     f"Layerwise needs a batch dimension followed by fixed "
                                     f"sizes"])
    return tuple(fixed[1:])


# ----------------------------------------------------------------------------- the check

def _check(model, data: bytes, input_name: str, dtype: int) -> float | None:
    """The largest difference from ONNX Runtime's outputs (None when it is not installed)."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    import onnxruntime
    try:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4      # its own log lines stay quiet; errors are ours
        session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:        # onnxruntime raises its own untyped errors
        raise LayerwiseError(f"ONNX Runtime cannot run the model: {_first_line(exc)}") from None
    np_type = {1: np.float32, 10: np.float16, 11: np.float64, 6: np.int32,
               7: np.int64}.get(dtype, np.float32)

    def run(x):
        try:
            out = session.run(None, {input_name: x.numpy().astype(np_type)})[0]
        except Exception as exc:    # noqa: BLE001 - onnxruntime raises its own untyped errors
            raise LayerwiseError(f"ONNX Runtime cannot run the model: {_first_line(exc)}") \
                from None
        return out.astype(np.float32)
    return check_same(model, run, "ONNX Runtime's outputs")
