"""`info FILE [--json]`: the layers in order with shapes, parameters and FLOPs; totals; errors."""
from __future__ import annotations

import json

from engine import describe as D
from engine import FORMAT_VERSION
from engine import NETWORK, analyze
from cli.progress import printable


def register(sub) -> None:
    p = sub.add_parser("info", help="show a network's layers, shapes, parameters and FLOPs",
                       description="Show a network's layers in order with output shapes, "
                                   "parameters and FLOPs per sample, the totals, and any "
                                   "problems. Exits 1 if the network has problems.")
    p.add_argument("file", metavar="FILE", help="a .lwnet file or a network.json")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(run=run)


def run(args) -> int:
    from engine import load   # torch is needed only to read weights
    saved = load(args.file)
    report = build_report(saved, args.file)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    if not report["valid"]:
        from cli.main import fail
        n = len(report["problems"])
        return fail(f"the network in '{args.file}' has {n} problem{'s' if n > 1 else ''} "
                    f"(listed above)")
    return 0


def build_report(saved, path: str) -> dict:
    spec = saved.spec
    a = analyze(spec)
    order = a.order + [n for n in spec.nodes if n not in a.order]
    nodes = [{
        "id": n, "label": spec.label(n), "kind": spec.nodes[n].kind,
        "summary": D.summary(spec.nodes[n].kind, spec.nodes[n].params),
        "params": {k: list(v) if isinstance(v, tuple) else v
                   for k, v in spec.nodes[n].params.items()},
        "inputs": spec.inputs_of(n),
        "output_shape": list(a.shapes[n]) if n in a.shapes else None,
        "parameters": a.params.get(n), "flops": a.node_flops.get(n),
        "memory": a.memory.get(n), "error": a.errors.get(n),
    } for n in order]
    history = saved.history or {}
    return {
        "file": str(path), "name": spec.name, "description": spec.description,
        "format_version": saved.manifest.get("format_version", FORMAT_VERSION),
        "valid": a.ok, "nodes": nodes, "total_params": a.total_params, "flops": a.flops,
        "output_shape": list(a.output_shape) if a.output_shape else None,
        "problems": [{"node": None if n == NETWORK else n, "message": m} for n, m in a.problems],
        "warnings": [{"node": None if n == NETWORK else n, "message": m} for n, m in a.warnings],
        "activation_bytes": a.activation_bytes,
        "has_weights": saved.model is not None,
        "epochs_trained": len(history.get("epochs", [])),
    }


def format_report(r: dict) -> str:
    lines = [f"{r['name'] or 'Network'} — {r['file']}"]
    if r["description"]:
        lines += r["description"].splitlines()
    lines.append("")
    rows = [("#", "layer", "settings", "output shape", "params", "FLOPs", "memory")]
    for i, n in enumerate(r["nodes"], 1):
        rows.append((str(i), n["label"], n["summary"], D.shape(n["output_shape"]),
                     "" if n["parameters"] is None else D.count(n["parameters"]),
                     "" if not n["flops"] else D.flops(n["flops"]),
                     "" if n["memory"] is None else D.memory(n["memory"])))
    lines += _table(rows, right=(0, 4, 5, 6))
    lines.append("")
    lines.append(f"Total: {D.count(r['total_params'])} parameters, {D.flops(r['flops'])}FLOPs "
                 f"per sample (multiply-adds of Linear and Conv2d, x2), output shape "
                 f"{D.shape(r['output_shape'])}; activations {D.memory(r['activation_bytes'])} "
                 f"per sample (float32)")
    weights = "trained weights" if r["has_weights"] else "no weights (architecture only)"
    epochs = f", {r['epochs_trained']} epochs of history" if r["epochs_trained"] else ""
    lines.append(f"File: {weights}{epochs}")
    if r["valid"]:
        lines.append("The network is valid.")
    else:
        lines.append(f"Problems ({len(r['problems'])}):")
        lines += [f"  - {p['message']}" for p in r["problems"]]
    if r["warnings"]:
        lines.append(f"Warnings ({len(r['warnings'])}):")
        lines += [f"  - {w['message']}" for w in r["warnings"]]
    return "\n".join(printable(line) for line in lines)   # names from the file: no escapes


def _table(rows: list[tuple[str, ...]], right: tuple[int, ...]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        out.append("  " + "  ".join(cells).rstrip())
    return out
