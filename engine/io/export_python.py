"""Generate a standalone, readable PyTorch module (torch + safetensors only) from a Model."""
from __future__ import annotations

import datetime as _dt
import keyword
import re
import textwrap

import torch

from engine.network.catalogue import LAYERS

RESERVED = {"x", "self", "torch", "nn", "Network", "load", "INPUT_SHAPE", "super"}
# Input sizes, which Layerwise infers and torch wants as the first argument.
INFERRED = {"Linear": lambda s: s[-1], "Conv2d": lambda s: s[0],
            "BatchNorm1d": lambda s: s[0], "BatchNorm2d": lambda s: s[0]}
NOT_TORCH_ARGS = {"init"}


def names_for(model) -> dict[str, str]:
    """Node id -> a Python identifier, unique, never a keyword or a name the file uses."""
    out, used = {}, set(RESERVED)
    for n in [model.input_id, *model.order]:
        name = re.sub(r"\W", "_", n)
        if not name.isidentifier() or keyword.iskeyword(name) or name in used:
            base, i = f"n_{name}", 1
            name = base
            while name in used:
                i += 1
                name = f"{base}_{i}"
        used.add(name)
        out[n] = name
    return out


def _constructor(kind: str, params: dict, in_shapes: list) -> str | None:
    """Source of the torch.nn constructor for one node; None for merges (no module)."""
    if kind in ("Add", "Concat"):
        return None
    args = []
    if kind in INFERRED:
        args.append(repr(INFERRED[kind](in_shapes[0])))
    entry = LAYERS[kind]
    if kind == "PReLU":     # PReLU's torch argument `init` is its slope, not a weight scheme
        args += [f"num_parameters={params['num_parameters']!r}", f"init={params['init']!r}"]
    else:
        args += [f"{p.name}={params[p.name]!r}" for p in entry.params
                 if p.name not in NOT_TORCH_ARGS]
    return f"nn.{kind}({', '.join(args)})"


def _expression(kind: str, params: dict, node_var: str, input_vars: list[str]) -> str:
    if kind == "Add":
        return " + ".join(input_vars)
    if kind == "Concat":
        return f"torch.cat([{', '.join(input_vars)}], dim={params['dim']})"
    return f"self.{node_var}({input_vars[0]})"


def python_source(model, weights_name: str, module_name: str = "network") -> str:
    spec, names = model.spec, names_for(model)
    title = spec.name or "Network"
    lines = [f'"""{title} — exported from Layerwise on '
             f'{_dt.date.today().isoformat()}.', ""]
    if spec.description:
        lines += [*textwrap.wrap(spec.description.replace('"' * 3, "'" * 3), 96), ""]
    lines += [
        "Standalone: needs only torch and safetensors. Usage:", "",
        "    import torch",
        f"    from {module_name} import INPUT_SHAPE, load",
        f"    model = load()          # Network() with the weights in {weights_name}",
        "    output = model(torch.zeros(8, *INPUT_SHAPE))",
        '"""', "from pathlib import Path", "", "import torch", "from torch import nn", "",
        f"INPUT_SHAPE = {tuple(model.input_shape)!r}", "", "",
        "class Network(nn.Module):",
        "    def __init__(self):",
        "        super().__init__()",
    ]
    for n in model.order:
        node = spec.nodes[n]
        ctor = _constructor(node.kind, node.params, model.analysis.in_shapes[n])
        if ctor:
            lines.append(f"        self.{names[n]} = {ctor}")
    lines += ["", "    def forward(self, x):"]
    names_in_forward = {model.input_id: "x", **{n: names[n] for n in model.order}}
    for n in model.order:
        node = spec.nodes[n]
        inputs = [names_in_forward[p] for p in model.inputs[n]]
        lines.append(f"        {names[n]} = "
                     f"{_expression(node.kind, node.params, names[n], inputs)}")
    lines += [f"        return {names_in_forward[model.output_id]}", "", "",
              "def load(weights=None, device=\"cpu\"):",
              f'    """Network() with the weights from `weights` (default: {weights_name} '
              f'beside this file), in eval mode."""',
              "    from safetensors.torch import load_file",
              f"    path = Path(weights) if weights else Path(__file__).with_name("
              f"{weights_name!r})",
              "    model = Network()",
              "    model.load_state_dict(load_file(str(path)))",
              "    return model.to(device).eval()", ""]
    return "\n".join(lines)


def state_for_source(model) -> dict[str, torch.Tensor]:
    """The model's state dict renamed for the generated module: layers.<id>.w -> <name>.w."""
    names = names_for(model)
    out = {}
    for key, tensor in model.state_dict().items():
        _, node_id, rest = key.split(".", 2)
        out[f"{names[node_id]}.{rest}"] = tensor.detach().cpu().contiguous()
    return out
