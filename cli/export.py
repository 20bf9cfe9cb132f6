"""`export FILE --format python|torchscript|onnx -o OUT`."""
from __future__ import annotations

from pathlib import Path

from cli.progress import printable


def register(sub) -> None:
    p = sub.add_parser("export", help="export a network as PyTorch source, TorchScript or ONNX",
                       description="Export a network (with its trained weights, if the file has "
                                   "them) and check that the export reproduces its outputs.")
    p.add_argument("file", metavar="FILE", help="a .lwnet file or a network.json")
    p.add_argument("--format", required=True, choices=("python", "torchscript", "onnx"),
                   help="python: a standalone .py plus a .safetensors weights file; "
                        "torchscript: a .pt for torch.jit.load; onnx: an .onnx model")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the file to write")
    p.set_defaults(run=run)


def run(args) -> int:
    from engine import export
    from engine import load
    saved = load(args.file)
    result = export(saved, Path(args.output), format=args.format)
    written = " and ".join(f"'{p}'" for p in result.paths)
    print(f"Exported {printable(saved.spec.name or args.file)} as {args.format}: {written}")
    if result.note:
        print(f"Note: {result.note}.")
    if result.max_difference is None:
        print("Not checked: ONNX Runtime is not installed (pip install -e '.[onnx]').")
    else:
        print(f"Checked: the export reproduces the network's outputs (largest difference "
              f"{result.max_difference:.2g}).")
    return 0
