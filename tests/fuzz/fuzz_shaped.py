"""Networks that follow the shape rules, so that most of them pass analysis and reach the
builder, a forward pass and the exports: an image part (convolutions, pooling, normalisation,
activations, dropout) then a vector part (linear layers ...), with residual Adds and Concats
of two branches, and parameters that vary within what the shapes allow."""
from __future__ import annotations

from hypothesis import strategies as st

ACTIVATIONS = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Softplus", "Sigmoid", "Tanh", "Softsign",
               "GELU"]
INITS = ["auto", "pytorch", "uniform", "xavier_uniform", "xavier_normal", "kaiming_uniform",
         "kaiming_normal"]


class Builder:
    """Nodes and edges of a network under construction, with each node's output shape."""

    def __init__(self, shape: tuple[int, ...]):
        self.nodes = [{"id": "n0", "kind": "Input", "params": {"shape": list(shape)}}]
        self.edges: list[list[str]] = []
        self.shapes = {"n0": shape}
        self.last = "n0"

    def add(self, kind: str, params: dict, shape: tuple[int, ...], inputs=None) -> str:
        node_id = f"n{len(self.nodes)}"
        self.nodes.append({"id": node_id, "kind": kind, "params": params})
        self.edges += [[src, node_id] for src in (inputs or [self.last])]
        self.shapes[node_id], self.last = shape, node_id
        return node_id


@st.composite
def image_layer(draw, b: Builder) -> None:
    c, h, w = b.shapes[b.last]
    kind = draw(st.sampled_from(["Conv2d", "Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm2d",
                                 "Dropout2d", "act", "AdaptiveAvgPool2d", "Add", "Concat"]))
    if kind == "Conv2d":
        k, p = draw(st.integers(1, min(3, h, w))), draw(st.integers(0, 1))
        s, out = draw(st.integers(1, 2)), draw(st.integers(1, 4))
        groups = draw(st.sampled_from([g for g in (1, 2) if c % g == 0 and out % g == 0]))
        b.add(kind, {"out_channels": out, "kernel_size": k, "stride": s, "padding": p,
                     "groups": groups, "bias": draw(st.booleans()),
                     "init": draw(st.sampled_from(INITS))},
              (out, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1))
    elif kind in ("MaxPool2d", "AvgPool2d") and min(h, w) >= 2:
        ceil = draw(st.booleans())
        b.add(kind, {"kernel_size": 2, "ceil_mode": ceil},
              (c, -(-h // 2), -(-w // 2)) if ceil else (c, h // 2, w // 2))
    elif kind == "AdaptiveAvgPool2d":
        size = draw(st.integers(1, 3))
        b.add(kind, {"output_size": size}, (c, size, size))
    elif kind in ("BatchNorm2d", "Dropout2d"):
        b.add(kind, {"p": draw(st.floats(0, 0.9))} if kind == "Dropout2d" else {}, (c, h, w))
    else:
        shared_layer(draw, b, kind, dim=1)


def shared_layer(draw, b: Builder, kind: str, dim: int) -> None:
    """An activation, a residual Add over the last two nodes of one shape, or a Concat along
    the channels / features of a branch and the main line."""
    shape = b.shapes[b.last]
    same = [n for n, s in b.shapes.items() if s == shape and n != b.last]
    if kind == "Add" and same:
        b.add("Add", {}, shape, inputs=[draw(st.sampled_from(same)), b.last])
    elif kind == "Concat":
        branch = b.add(draw(st.sampled_from(ACTIVATIONS)), {}, shape)
        b.add("Concat", {"dim": dim}, (2 * shape[0],) + shape[1:],
              inputs=[b.edges[-1][0], branch])
    else:
        b.add(draw(st.sampled_from(ACTIVATIONS)), {}, shape)


@st.composite
def vector_layer(draw, b: Builder) -> None:
    (d,) = b.shapes[b.last]
    kind = draw(st.sampled_from(["Linear", "Linear", "BatchNorm1d", "Dropout", "act", "Add",
                                 "Concat"]))
    if kind == "Linear":
        out = draw(st.integers(1, 8))
        b.add(kind, {"out_features": out, "bias": draw(st.booleans()),
                     "init": draw(st.sampled_from(INITS))}, (out,))
    elif kind == "BatchNorm1d":
        b.add(kind, {"momentum": draw(st.floats(0, 1)), "affine": draw(st.booleans())}, (d,))
    elif kind == "Dropout":
        b.add(kind, {"p": draw(st.floats(0, 0.9))}, (d,))
    else:
        shared_layer(draw, b, kind, dim=1)


@st.composite
def shaped_networks(draw) -> dict:
    image = draw(st.booleans())
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 10)), draw(st.integers(1, 10))) \
        if image else (draw(st.integers(1, 12)),)
    b = Builder(shape)
    if image:
        for _ in range(draw(st.integers(0, 5))):
            draw(image_layer(b))
        b.add("Flatten", {}, (b.shapes[b.last][0] * b.shapes[b.last][1] * b.shapes[b.last][2],))
    for _ in range(draw(st.integers(0 if image else 1, 4))):
        draw(vector_layer(b))
    return {"format": "layerwise-network", "format_version": 1, "name": "shaped",
            "description": "", "nodes": b.nodes, "edges": b.edges}
