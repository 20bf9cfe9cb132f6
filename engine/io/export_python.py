"""Generate a standalone, readable PyTorch module (torch + safetensors only) from a Model.

Text from the document (its name and description) and from the file names reaches the source
only inside the module's docstring, escaped by `doc_text` so that it can never end the string
or form an escape of its own; `python_source` parses what it generated and refuses it unless
the docstring reads back exactly as meant (a document can never put code in the file).
"""
from __future__ import annotations

import ast
import datetime as _dt
import keyword
import re
import textwrap
import unicodedata

from engine.errors import LayerwiseError

import torch

from engine.network.catalogue import LAYERS

RESERVED = {"x", "self", "torch", "nn", "Network", "load", "INPUT_SHAPE", "super",
            "seq_out"}      # seq_out: a bidirectional recurrent layer's output (catalogue)
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
    if LAYERS[kind].source is not None:
        return LAYERS[kind].source(params, in_shapes)
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
    if LAYERS[kind].call is not None:
        return LAYERS[kind].call(params, node_var, input_vars)
    if kind == "Add":
        return " + ".join(input_vars)
    if kind == "Concat":
        return f"torch.cat([{', '.join(input_vars)}], dim={params['dim']})"
    return f"self.{node_var}({input_vars[0]})"


def doc_text(text: str) -> str:
    """`text` as it must be written inside a triple-quoted (non-raw) docstring to read back as
    itself: backslashes and double quotes escaped, and every control (newlines included),
    format (bidirectional overrides included), separator, surrogate, private or unassigned
    character written as its escape."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif unicodedata.category(ch)[0] in "CZ" and ch != " ":
            out.append(ascii(ch)[1:-1])      # '\x00', '\u202e', '\ud800', '\n', ...
        else:
            out.append(ch)
    return "".join(out)


def _docstring(model, weights_name: str, module_name: str) -> tuple[list[str], str]:
    """The module docstring's source lines, and the text it must read back as (made from the
    raw text, independently of the escaping, so that the check in python_source tests it)."""
    spec = model.spec
    text = [f"{spec.name or 'Network'} — exported from Layerwise on "
            f"{_dt.date.today().isoformat()}.", ""]
    if spec.description:
        for paragraph in spec.description.split("\n"):
            text += textwrap.wrap(paragraph, 96, break_long_words=False,
                                  break_on_hyphens=False) or [""]
        text.append("")
    text += ["Standalone: needs only torch and safetensors. Usage:", "",
             "    import torch",
             f"    from {module_name} import INPUT_SHAPE, load",
             f"    model = load()          # Network() with the weights in {weights_name}",
             "    output = model(torch.zeros(8, *INPUT_SHAPE))", ""]
    source = '"""' + "\n".join(doc_text(line) for line in text) + '"""'
    return source.split("\n"), "\n".join(text)


def python_source(model, weights_name: str, module_name: str = "network") -> str:
    spec, names = model.spec, names_for(model)
    doc, meant = _docstring(model, weights_name, module_name)
    lines = [
        *doc, "from pathlib import Path", "", "import torch", "from torch import nn", "",
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
              f'    """Network() with the weights from `weights` (default: '
              f'{doc_text(weights_name)} beside this file), in eval mode."""',
              "    from safetensors.torch import load_file",
              f"    path = Path(weights) if weights else Path(__file__).with_name("
              f"{weights_name!r})",
              "    model = Network()",
              "    model.load_state_dict(load_file(str(path)))",
              "    return model.to(device).eval()", ""]
    source = "\n".join(lines)
    _check_source(source, meant)
    return source


def _check_source(source: str, docstring: str) -> None:
    """Refuse generated source that does not parse, or whose docstring does not read back as
    `docstring` (which would mean text from the document escaped its string)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise LayerwiseError(f"the generated Python source does not parse ({exc.msg}, line "
                             f"{exc.lineno}); nothing was written") from None
    if ast.get_docstring(tree, clean=False) != docstring:
        raise LayerwiseError("the generated Python source's docstring does not read back as "
                             "written; nothing was written")


def state_for_source(model) -> dict[str, torch.Tensor]:
    """The model's state dict renamed for the generated module: layers.<id>.w -> <name>.w."""
    names = names_for(model)
    out = {}
    for key, tensor in model.state_dict().items():
        _, node_id, rest = key.split(".", 2)
        out[f"{names[node_id]}.{rest}"] = tensor.detach().cpu().contiguous()
    return out
