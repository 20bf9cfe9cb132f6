"""What an ONNX exporter wraps around a layer: shape arithmetic, zero states and transposes.

PyTorch's exporter writes a recurrent layer (batch first) as a chain of small ops around the
ONNX LSTM or GRU: the input transposed to steps first, the initial state as zeros expanded to
the batch's size (Shape, Concat, Expand), the output transposed and reshaped back with sizes
computed from Shape. None of them is a layer. This module follows them without a kind:

- shape arithmetic is folded into constants: `Shape` of a value whose sizes are known gives
  them, with the batch as the marker BATCH; Slice, Concat, Gather, Squeeze, Unsqueeze, Reshape
  and integer Mul/Add/Sub/Div of constants are computed (arithmetic on the marker is not);
- a tensor of zeros of any shape (Expand or ConstantOfShape of 0, and what Slice, Reshape,
  Squeeze, Unsqueeze, Transpose or Cast make of it) is remembered as zeros (`Context.zeros`):
  a recurrent layer's initial state;
- a transposed or reshaped tensor is a *view* (`Context.views`): the value it comes from, with
  its axes as groups of atoms (each atom one axis of a layer's output, the batch "B"); a view
  whose axes come back to its base's order is that value again, and one a layer reads in
  another order is refused, named.

Every handler, the op table's too, runs through `guarded`: numpy's and onnx's errors on a
stranger's constants refuse the node, named, instead of escaping the import.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.io.import_common import NotImportable

FOLD_LIMIT = 4096           # values a folded constant may grow to beyond its inputs' sizes
FOLD_ROOM = 64 * 2**20      # bytes all folded constants may take beyond FOLD_PER_BYTE x the file
FOLD_PER_BYTE = 4           # casting every weight from float16 to float64 takes 4x the file
BATCH = -(10 ** 12) - 7      # the batch's size in folded shapes (any other size is fixed)
ARITHMETIC = {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract, "Div": np.floor_divide}
FOLLOWED = ("Shape", "Transpose", "Expand", "ConstantOfShape", "Slice", "Concat", "Gather",
            "Squeeze", "Unsqueeze", "Reshape", "Mul", "Add", "Sub", "Div")
KEEPS_ZEROS = ("Slice", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Cast", "Identity",
               "Expand")


@dataclass(frozen=True)
class View:
    """A value seen with its axes in another order or grouping: `base` (a value the builder
    computes), its axes as `groups` of atoms, and the atoms' `sizes`."""
    base: str
    groups: tuple[tuple, ...]
    sizes: dict

    def shape(self) -> list[int]:
        return [int(np.prod([self.sizes[a] for a in g])) if "B" not in g else BATCH
                for g in self.groups]


def base_groups(ctx, value: str) -> tuple[tuple, ...]:
    """A computed value's own axes: the batch, then one atom per sample axis (a recurrent
    layer's output registers its own, with its directions and width apart)."""
    if value in ctx.atoms:
        return ctx.atoms[value][0]
    return (("B",),) + tuple(((value, i),) for i in range(len(ctx.b.shape(value))))


def sizes_of(ctx, value: str) -> dict:
    if value in ctx.atoms:
        return ctx.atoms[value][1]
    return {"B": BATCH, **{(value, i): int(d) for i, d in enumerate(ctx.b.shape(value))}}


def normal(view: View, groups=None) -> tuple[tuple, ...]:
    """Axes without their atoms of size 1 (a squeezed or unsqueezed direction axis is the
    same axis): how views and bases are compared."""
    return tuple(tuple(a for a in g if a == "B" or view.sizes.get(a) != 1)
                 for g in (view.groups if groups is None else groups))


def is_base(ctx, view: View) -> bool:
    """Whether the view's axes are its base's, in its order."""
    return normal(view) == normal(view, base_groups(ctx, view.base))


def view_of(ctx, name: str) -> View | None:
    """`name` as a view: a view already, a computed value as itself, else None."""
    if name in ctx.views:
        return ctx.views[name]
    if ctx.b.known(name):
        return View(name, base_groups(ctx, name), sizes_of(ctx, name))
    return None


def resolve(ctx, name: str) -> str:
    """The computed value a view is (its axes back in the base's order), or NotImportable."""
    view = ctx.views[name]
    if is_base(ctx, view):
        return view.base
    raise NotImportable("it reads a tensor transposed or reshaped across the batch or the "
                        "steps of a sequence, which Layerwise's layers cannot follow")


def intercept(ctx, node):
    """A handler `(ctx, node)` for `node` when this module follows it (None: the op
    table's); it raises NotImportable saying why it cannot."""
    op = node.op_type
    inputs = [v for v in node.input if v]
    if op == "Shape" and inputs and view_of(ctx, inputs[0]) is not None:
        return _shape
    if op in ("Expand", "ConstantOfShape") and _zero_fill(ctx, node):
        return _zeros
    if op in KEEPS_ZEROS and inputs and inputs[0] in ctx.zeros and \
            all(v in ctx.consts for v in inputs[1:]):
        return _zeros
    if inputs and all(v in ctx.consts for v in inputs) and op in FOLDS:
        return _fold
    if op == "Transpose" and inputs and view_of(ctx, inputs[0]) is not None:
        return _transpose
    if op in ("Reshape", "Squeeze", "Unsqueeze") and inputs and inputs[0] in ctx.views:
        return _regroup
    if op == "Gather" and len(inputs) == 2 and inputs[0] in ctx.views and inputs[1] in ctx.consts:
        return _pick_one
    return None


def skipped(ctx, node) -> None:
    """The handler of an op fed by a refused one: nothing (it is refused with it)."""


def guarded(handler, ctx, node) -> None:
    """Run a handler on a stranger's node: what numpy or onnx raise on constants or
    attributes that do not fit the op (a text weight, an index out of range) is a reason to
    refuse the node, not a crash."""
    try:
        handler(ctx, node)
    except (ValueError, IndexError, TypeError, KeyError, ZeroDivisionError, OverflowError,
            AttributeError, MemoryError) as exc:
        raise NotImportable(f"its constants or attributes do not fit it "
                            f"({type(exc).__name__})") from None


def _zeros(ctx, node) -> None:
    ctx.zeros.update(o for o in node.output if o)


def _zero_fill(ctx, node) -> bool:
    if node.op_type == "ConstantOfShape":
        value = next((a.t for a in node.attribute if a.name == "value"), None)
        if value is not None:
            import onnx
            value = onnx.numpy_helper.to_array(value)
        return (value is None or not np.any(value)) and node.input[0] in ctx.consts
    data, shape = node.input[0], node.input[1] if len(node.input) > 1 else ""
    return data in ctx.consts and not np.any(ctx.consts[data]) and shape in ctx.consts


def _shape(ctx, node) -> None:
    shape = np.array(view_of(ctx, node.input[0]).shape(), dtype=np.int64)
    start, end = ctx.attr(node, "start", 0), ctx.attr(node, "end", None)
    ctx.consts[node.output[0]] = shape[start:end]


def _fold(ctx, node) -> None:
    """Compute a shape-arithmetic op of constants; arithmetic on the batch is refused."""
    ctx.only_first_output(node)
    if not is_read(ctx, node):
        return
    values = [ctx.consts[v] if v else None for v in node.input]
    if node.op_type in ARITHMETIC:
        a, b = values
        if np.any(a == BATCH) or np.any(b == BATCH):
            raise NotImportable("arithmetic on the batch's size")
        if a.dtype.kind != "i" or b.dtype.kind != "i":
            raise NotImportable("arithmetic on constants that are not whole numbers")
        _bounded(a, b, int(np.prod(np.broadcast_shapes(a.shape, b.shape))))
        keep(ctx, node.output[0], ARITHMETIC[node.op_type](a, b))
        return
    if node.op_type == "Gather":
        axis = int(ctx.attr(node, "axis", 0))
        _bounded(values[0], values[1],
                 values[1].size * values[0].size // max(1, values[0].shape[axis]))
    if node.op_type == "Concat":
        afford(ctx, sum(v.nbytes for v in values if v is not None))
    keep(ctx, node.output[0], FOLDS[node.op_type](ctx, node, values))


def is_read(ctx, node) -> bool:
    """Whether a node's outputs are read by anything (a constant nothing reads is not
    computed: a stranger's file could chain folds that only grow)."""
    return any(ctx.readers.get(o, 0) for o in node.output if o)


def afford(ctx, size: int) -> None:
    """NotImportable when `size` more bytes of folded constants would pass the import's
    budget (ctx.fold_budget: FOLD_PER_BYTE times the file, and FOLD_ROOM)."""
    if ctx.folded + size > ctx.fold_budget:
        raise NotImportable(f"folding its constants would take more than "
                            f"{ctx.fold_budget // 2**20:,} MiB of memory, far more than the "
                            f"file's own weights")


def keep(ctx, name: str, value: np.ndarray) -> None:
    """Keep a folded constant, counted against the import's budget (see afford)."""
    afford(ctx, value.nbytes)
    ctx.folded += value.nbytes
    ctx.consts[name] = value


def _bounded(a: np.ndarray, b: np.ndarray, size: int) -> None:
    """NotImportable when folding would make a constant larger than both it comes from and
    than FOLD_LIMIT values (shape arithmetic is small; broadcasting could make it huge)."""
    if size > max(a.size, b.size, FOLD_LIMIT):
        raise NotImportable(f"computing a constant of {size:,} values from smaller ones")


def _slice(ctx, node, values):
    data = values[0]
    if len(values) == 1:                      # opset < 10: attributes
        starts, ends = ctx.attr(node, "starts"), ctx.attr(node, "ends")
        axes = ctx.attr(node, "axes", list(range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = values[1].tolist(), values[2].tolist()
        axes = values[3].tolist() if len(values) > 3 and values[3] is not None \
            else list(range(len(starts)))
        steps = values[4].tolist() if len(values) > 4 and values[4] is not None \
            else [1] * len(starts)
    index = [slice(None)] * data.ndim
    for a, s, e, k in zip(axes, starts, ends, steps):
        index[a] = slice(s, e, k)
    return data[tuple(index)]


def _axes(ctx, node, values):
    axes = ctx.attr(node, "axes")
    if axes is None and len(values) > 1 and values[1] is not None:
        axes = values[1].reshape(-1).tolist()
    return axes


def _unsqueeze(ctx, node, values):
    out = values[0]
    for a in sorted(int(a) % (out.ndim + len(_axes(ctx, node, values)))
                    for a in _axes(ctx, node, values)):
        out = np.expand_dims(out, a)
    return out


def _squeeze_const(ctx, node, values):
    axes = _axes(ctx, node, values)
    return np.squeeze(values[0], axis=None if axes is None else tuple(axes))


def _reshape_const(ctx, node, values):
    target = [int(d) for d in values[1].reshape(-1)]
    target = [values[0].shape[i] if d == 0 else d for i, d in enumerate(target)]
    return values[0].reshape(target)


FOLDS = {
    "Slice": _slice, "Unsqueeze": _unsqueeze, "Squeeze": _squeeze_const,
    "Reshape": _reshape_const,
    "Concat": lambda ctx, node, v: np.concatenate(v, axis=int(ctx.attr(node, "axis", 0))),
    "Gather": lambda ctx, node, v: np.take(v[0], v[1], axis=int(ctx.attr(node, "axis", 0))),
    **{op: None for op in ARITHMETIC},
}


# ----------------------------------------------------------------------------- constants

# Constant ops and what Identity or Cast make of a constant: folded before anything else.

def _fold_constant(ctx, node) -> None:
    import onnx
    for a in node.attribute:
        if a.name == "value":
            keep(ctx, node.output[0], onnx.numpy_helper.to_array(a.t))
        elif a.name in ("value_float", "value_floats", "value_int", "value_ints"):
            keep(ctx, node.output[0], np.array(onnx.helper.get_attribute_value(a)))


def _fold_identity(ctx, node) -> None:
    ctx.consts[node.output[0]] = ctx.consts[node.input[0]]      # the same array


def _fold_cast(ctx, node) -> None:
    import onnx
    if not is_read(ctx, node):
        return
    to = onnx.helper.tensor_dtype_to_np_dtype(ctx.attr(node, "to", 1))
    source = ctx.consts[node.input[0]]
    afford(ctx, source.size * np.dtype(to).itemsize)
    keep(ctx, node.output[0], source.astype(to))


FOLD = {"Constant": _fold_constant, "Identity": _fold_identity, "Cast": _fold_cast}


# ----------------------------------------------------------------------------- views

def _transpose(ctx, node) -> None:
    ctx.only_first_output(node)
    view = view_of(ctx, node.input[0])
    perm = ctx.attr(node, "perm", list(reversed(range(len(view.groups)))))
    if sorted(perm) != list(range(len(view.groups))):
        raise NotImportable(f"the permutation {list(perm)}")
    _set(ctx, node.output[0], View(view.base, tuple(view.groups[p] for p in perm), view.sizes))


def _regroup(ctx, node) -> None:
    """A view reshaped: its atoms, in order, grouped to the target's sizes."""
    ctx.only_first_output(node)
    view = ctx.views[node.input[0]]
    if node.op_type == "Unsqueeze":
        axes = _axes(ctx, node, [None] + [ctx.consts.get(v) for v in node.input[1:]])
        groups = list(view.groups)
        for a in sorted(_axis(a, len(groups) + len(axes)) for a in axes):
            groups.insert(a, ())
        groups = tuple(groups)
    elif node.op_type == "Squeeze":
        axes = _axes(ctx, node, [None] + [ctx.consts.get(v) for v in node.input[1:]])
        rank = len(view.groups)
        drop = {_axis(a, rank) for a in axes} if axes is not None else \
            {i for i, g in enumerate(view.groups) if _size(view, g) == 1}
        if any(_size(view, view.groups[i]) != 1 for i in drop):
            raise NotImportable("squeezing an axis that is not of size 1")
        groups = tuple(g for i, g in enumerate(view.groups) if i not in drop)
    else:
        groups = _grouped(view, [int(d) for d in ctx.const(node, 1).reshape(-1)])
    _set(ctx, node.output[0], View(view.base, groups, view.sizes))


def _axis(a, rank: int) -> int:
    """An ONNX axis (negative from the end) as 0..rank-1; NotImportable out of range."""
    if not -rank <= int(a) < rank:
        raise NotImportable(f"axis {int(a)} of a tensor of {rank} dimensions")
    return int(a) % rank


def _pick_one(ctx, node) -> None:
    """Gather of index 0 (or -1) on an axis of size 1 of a view: the axis dropped."""
    ctx.only_first_output(node)
    view, index = ctx.views[node.input[0]], ctx.consts[node.input[1]]
    axis = _axis(ctx.attr(node, "axis", 0), len(view.groups))
    if index.ndim or int(index) not in (0, -1) or _size(view, view.groups[axis]) != 1:
        raise NotImportable("picking part of an axis of a transposed tensor")
    _set(ctx, node.output[0], View(view.base, view.groups[:axis] + view.groups[axis + 1:],
                                   view.sizes))


def _size(view: View, group: tuple) -> int:
    return BATCH if "B" in group else int(np.prod([view.sizes[a] for a in group]))


def _grouped(view: View, target: list[int]) -> tuple[tuple, ...]:
    """The view's atoms, in order, grouped to the sizes of `target` (0: the size there; one
    -1: what is left); atoms of size 1 may stand alone, join a group or be dropped at the
    end. NotImportable when the sizes would split an axis."""
    atoms = [a for g in view.groups for a in g]
    shape = view.shape()
    target = [shape[i] if d == 0 and i < len(shape) else d for i, d in enumerate(target)]
    if target.count(-1) == 1:
        total = int(np.prod([view.sizes[a] for a in atoms if a != "B"]))
        known = int(np.prod([d for d in target if d not in (-1, BATCH)]))
        target[target.index(-1)] = total // max(1, known)
    groups, i = [], 0

    def one(k: int) -> bool:
        return k < len(atoms) and atoms[k] != "B" and view.sizes[atoms[k]] == 1
    for size in target:
        group: list = []
        if size == BATCH:
            while one(i):
                group.append(atoms[i])
                i += 1
            if i == len(atoms) or atoms[i] != "B":
                raise NotImportable(f"a reshape to {target} that moves the batch")
            group.append("B")
            i += 1
        else:
            while i < len(atoms) and atoms[i] != "B" and _size(view, tuple(group)) < size:
                group.append(atoms[i])
                i += 1
            if size == 1 and not group and one(i):
                group.append(atoms[i])
                i += 1
            if _size(view, tuple(group)) != size:
                raise NotImportable(f"a reshape to {target} that splits or mixes axes of "
                                    f"{[_size(view, g) for g in view.groups]}")
        groups.append(tuple(group))
    while one(i) and groups:
        groups[-1] += (atoms[i],)
        i += 1
    if i != len(atoms):
        raise NotImportable(f"a reshape to {target} of {view.shape()}")
    return tuple(groups)


def _set(ctx, name: str, view: View) -> None:
    """Record a view; one whose axes are back in the base's order is the base itself."""
    if is_base(ctx, view):
        ctx.b.alias(name, view.base)
    else:
        ctx.views[name] = view
