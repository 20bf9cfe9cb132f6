"""`import MODEL.onnx|file.py:ClassName [-o OUT.lwnet]`: a network from ONNX or PyTorch."""
from __future__ import annotations

from pathlib import Path

from cli.progress import printable

TRUST = ("Importing file.py:ClassName RUNS THE FILE'S CODE (that is what importing a class is): "
         "only import Python files you trust. An .onnx file is only read, never run.")


def register(sub) -> None:
    p = sub.add_parser("import", help="import a network from ONNX or a PyTorch module "
                                      "(a .py file runs: only import files you trust)",
                       description="Turn an ONNX model or a PyTorch module into a Layerwise "
                                   "network with its weights, check that it gives the same "
                                   "outputs, and save it as a .lwnet file. Operations that "
                                   "have no Layerwise layer are listed together. " + TRUST)
    p.add_argument("source", metavar="SOURCE",
                   help="MODEL.onnx, or file.py:ClassName (a torch.nn.Module made with no "
                        "arguments; runs the file's code: only import files you trust)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="the .lwnet file to write (default: the source's name with .lwnet, "
                        "in the current folder)")
    p.add_argument("--input-shape", metavar="C,H,W", type=_shape,
                   help="PyTorch only: one input sample's shape without the batch, e.g. "
                        "1,28,28 (default: the module's or its file's INPUT_SHAPE)")
    p.add_argument("--weights", metavar="FILE.safetensors",
                   help="PyTorch only: weights to load into the module first (as written by "
                        "`export --format python`)")
    p.add_argument("--name", help="the network's name (default: the model's)")
    p.set_defaults(run=run)


def _shape(text: str) -> tuple[int, ...]:
    import argparse
    try:
        shape = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape such as 1,28,28")
    return shape


def default_output(source: str) -> Path:
    if source.lower().endswith(".onnx"):
        return Path(Path(source).stem + ".lwnet")
    return Path(source.rpartition(":")[2] + ".lwnet")


def run(args) -> int:
    from engine import check_output, import_network, save
    out = Path(args.output) if args.output else default_output(args.source)
    if out.suffix.lower() != ".lwnet":
        from engine import LayerwiseError
        raise LayerwiseError(f"Cannot save to '{out}': give a name ending in .lwnet")
    check_output(out, "save to")
    result = import_network(args.source, input_shape=args.input_shape, name=args.name,
                            weights=args.weights)
    save(out, result.spec, model=result.model)
    layers = len(result.spec.nodes) - 1
    params = sum(p.numel() for p in result.model.parameters())
    print(f"Imported {printable(result.source)}: {layers} layers, {params:,} parameters -> "
          f"'{printable(str(out))}'")
    if result.max_difference is None:
        print("Not checked: ONNX Runtime is not installed (pip install -e '.[onnx]').")
    else:
        print(f"Checked: it reproduces the source's outputs (largest difference "
              f"{result.max_difference:.2g}).")
    return 0
