"""analyze(): the whole-network check behind every edit — order, shapes, sizes, errors per node.

Pure Python arithmetic, no torch, so it can run on every keystroke in the GUI. Every problem is
collected (not just the first) and phrased as a sentence that names the node, what it received
and what it needs. A node whose inputs are already broken is not blamed again downstream.
A problem a front end can repair in one step carries a `Fix` (e.g. "Insert Flatten" before a
Linear that receives an image). Warnings (e.g. a sample whose activations take a lot of memory,
see engine.network.memory) are listed apart: a network with warnings is still valid.
"""
from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

from engine.errors import SpecError
from engine.network.catalogue import LAYERS
from engine.network.memory import BYTES_PER_VALUE, MEMORY_LIMIT, check_memory
from engine.network.parse import MAX_EDGES, MAX_NODES
from engine.network.shapes import Shape, ShapeError, numel
from engine.network.spec import NetworkSpec, check_params

NETWORK = ""   # key in Analysis.errors for problems of the whole network, not of one node
CYCLE_SEARCHES = 50     # cycles searched for their path; nodes on more are blamed without one
SHOWN_CYCLE = 6         # a longer cycle's path is shown by its ends


@dataclass(frozen=True)
class Fix:
    """A one-step repair a front end can offer for a problem: set `param` of `node_id` to
    `value`, or insert a new node of kind `insert` just before `node_id` (on its first input).
    `title` is the button's text, e.g. "Insert Flatten"."""
    title: str
    node_id: str
    param: str = ""
    value: object = None
    insert: str = ""


@dataclass
class Analysis:
    ok: bool = False
    errors: dict[str, str] = field(default_factory=dict)        # node id (or NETWORK) -> text
    problems: list[tuple[str, str]] = field(default_factory=list)   # every (node id, sentence)
    shapes: dict[str, Shape] = field(default_factory=dict)      # node id -> output shape
    in_shapes: dict[str, list[Shape]] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)        # node id -> parameter count
    node_flops: dict[str, int] = field(default_factory=dict)    # node id -> FLOPs per sample
    total_params: int = 0
    flops: int = 0
    output_shape: Shape | None = None
    order: list[str] = field(default_factory=list)              # a topological order
    input_id: str | None = None
    output_id: str | None = None
    inits: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # resolved init
    warnings: list[tuple[str, str]] = field(default_factory=list)   # (node id, sentence)
    fixes: dict[tuple[str, str], Fix] = field(default_factory=dict)   # problem -> its repair
    memory: dict[str, int] = field(default_factory=dict)   # node id -> output bytes per sample
    activation_bytes: int = 0                      # all outputs of one sample (float32)

    def add(self, node_id: str, message: str, fix: Fix | None = None) -> None:
        self.problems.append((node_id, message))
        self.errors[node_id] = (self.errors[node_id] + " " + message
                                if node_id in self.errors else message)
        if fix is not None:
            self.fixes[(node_id, message)] = fix

    def warn(self, node_id: str, message: str) -> None:
        self.warnings.append((node_id, message))


class _Graph:
    """Adjacency of a spec, computed once per analysis."""

    def __init__(self, spec: NetworkSpec):
        self.spec = spec
        self.preds: dict[str, list[str]] = defaultdict(list)
        self.succs: dict[str, list[str]] = defaultdict(list)
        for s, d in spec.edges:
            self.succs[s].append(d)
            self.preds[d].append(s)

    def label(self, node_id: str) -> str:
        return self.spec.label(node_id)

    def reach(self, starts: list[str], forward: bool = True) -> set[str]:
        nxt = self.succs if forward else self.preds
        seen, todo = set(starts), list(starts)
        while todo:
            for n in nxt[todo.pop()]:
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return seen


def analyze(spec: NetworkSpec) -> Analysis:
    """Check the whole network; never raises for a bad network (see `.ok` and `.errors`)."""
    a = Analysis()
    g = _Graph(spec)
    if not spec.nodes:
        a.add(NETWORK, "The network is empty: drag an Input and some layers onto the canvas.")
        return a
    _check_size(spec, a)
    valid = _check_params(spec, a)
    a.order, cyclic = _topological(g, a)
    _find_ends(g, a, cyclic)
    wired = _check_wiring(g, a, cyclic)
    _infer_shapes(g, a, valid & wired)
    _resolve_inits(g, a)
    check_memory(a, g.preds, g.label)
    a.total_params = sum(a.params.values())
    a.flops = sum(a.node_flops.values())
    if a.output_id in a.shapes:
        a.output_shape = a.shapes[a.output_id]
    a.ok = not a.problems
    return a


def _check_size(spec: NetworkSpec, a: Analysis) -> None:
    if len(spec.nodes) > MAX_NODES or len(spec.edges) > MAX_EDGES:
        a.warn(NETWORK, f"The network has {len(spec.nodes):,} layers and {len(spec.edges):,} "
                        f"connections; a network file holds at most {MAX_NODES:,} layers and "
                        f"{MAX_EDGES:,} connections: make it smaller before saving it.")


def _check_params(spec: NetworkSpec, a: Analysis) -> set[str]:
    valid = set()
    for node in spec.nodes.values():
        kind = LAYERS.get(node.kind)
        if kind is None:
            a.add(node.id, f"{node.id} has unknown kind {node.kind!r}.")
            continue
        try:
            check_params(kind, node.params, spec.label(node.id))
            valid.add(node.id)
        except SpecError as exc:
            for _, message in exc.problems:
                a.add(node.id, message + ".")
    return valid


def _topological(g: _Graph, a: Analysis) -> tuple[list[str], set[str]]:
    indeg = {n: len(g.preds[n]) for n in g.spec.nodes}
    ready = deque(n for n in g.spec.nodes if indeg[n] == 0)
    order = []
    while ready:
        n = ready.popleft()
        order.append(n)
        for m in g.succs[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
    cyclic = {n for n, d in indeg.items() if d > 0}    # on a cycle, or fed by one
    _blame_cycles(g, a, _cycles(g, cyclic))
    return order, cyclic


def _blame_cycles(g: _Graph, a: Analysis, components: list[list[str]]) -> None:
    """Blame every node on a cycle, naming a shortest cycle through it (searched from at most
    CYCLE_SEARCHES nodes; every node on a cycle found is blamed with it)."""
    searches = 0
    for members in components:
        within, blamed = set(members), set()
        for n in members:
            if n in blamed:
                continue
            cycle = _cycle_through(g, n, within) if searches < CYCLE_SEARCHES else None
            searches += 1
            for i, c in enumerate(cycle or [n]):
                if c not in blamed:
                    blamed.add(c)
                    path = f" ({_path(g, cycle, i)})" if cycle else ""
                    a.add(c, f"{g.label(c)} is part of a cycle{path}: remove one of these "
                             f"connections so data flows one way.")


def _path(g: _Graph, cycle: list[str], start: int) -> str:
    """The cycle from its node `start`: 'A → B → C → A'; a long one by its ends:
    'A → B → C → D → … 9,993 more … → Y → Z → A'."""
    n = len(cycle)
    shown = range(n) if n <= SHOWN_CYCLE else [*range(SHOWN_CYCLE - 2), n - 2, n - 1]
    labels = [g.label(cycle[(start + k) % n]) for k in shown]
    if n > SHOWN_CYCLE:
        labels.insert(SHOWN_CYCLE - 2, f"… {n - SHOWN_CYCLE:,} more …")
    return " → ".join(labels + labels[:1])


def _cycles(g: _Graph, nodes: set[str]) -> list[list[str]]:
    """The strongly connected components of `nodes` that hold a cycle (Tarjan's algorithm,
    without recursion), each in the document's order, in the order of their first node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    work: list = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        work.append((v, iter(g.succs[v])))

    for root in (n for n in g.spec.nodes if n in nodes):
        if root not in index:
            visit(root)
        while work:
            v, successors = work[-1]
            for w in successors:
                if w in nodes and w not in index:
                    visit(w)
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    members = _pop_component(stack, on_stack, v)
                    if len(members) > 1 or v in g.succs[v]:
                        found.append(members)
    position = {n: i for i, n in enumerate(g.spec.nodes)}
    return sorted((sorted(m, key=position.get) for m in found), key=lambda m: position[m[0]])


def _pop_component(stack: list[str], on_stack: set[str], root: str) -> list[str]:
    members = []
    while True:
        w = stack.pop()
        on_stack.discard(w)
        members.append(w)
        if w == root:
            return members


def _cycle_through(g: _Graph, start: str, within: set[str]) -> list[str] | None:
    """A shortest cycle through `start` inside `within` (BFS), or None."""
    parent = {start: None}
    queue = deque([start])
    while queue:
        cur = queue.popleft()
        for nxt in g.succs[cur]:
            if nxt == start:
                path = [cur]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return path[::-1]
            if nxt in within and nxt not in parent:
                parent[nxt] = cur
                queue.append(nxt)
    return None


def _find_ends(g: _Graph, a: Analysis, cyclic: set[str]) -> None:
    inputs = g.spec.input_ids()
    if not inputs:
        a.add(NETWORK, "The network has no Input: add an Input node and connect it to the "
                       "first layer.")
    else:
        a.input_id = inputs[0]
        for extra in inputs[1:]:
            a.add(extra, f"{g.label(extra)} is a second Input; a network has exactly one: "
                         f"remove it or merge its data into {g.label(inputs[0])}.")
    sinks = [n for n in a.order if not g.succs[n] and n not in cyclic]
    if not sinks:
        if not cyclic:
            a.add(NETWORK, "The network has no output.")
        return
    depth = _depths(g, a.order)
    reachable = g.reach([a.input_id]) if a.input_id else set()
    position = {n: i for i, n in enumerate(g.spec.nodes)}
    main = max(sinks, key=lambda n: (n in reachable, depth.get(n, 0),
                                     LAYERS[g.spec.nodes[n].kind].weighted
                                     if g.spec.nodes[n].kind in LAYERS else False,
                                     -position[n]))
    a.output_id = main
    if main == a.input_id:
        a.add(main, f"{g.label(main)} is all there is: add layers after the Input.")
    for extra in sinks:
        if extra != main and extra in reachable:
            a.add(extra, f"{g.label(extra)} leads nowhere: the network already ends at "
                         f"{g.label(main)}; connect {g.label(extra)} onward (e.g. into an Add "
                         f"or Concat) or delete it.")


def _depths(g: _Graph, order: list[str]) -> dict[str, int]:
    depth: dict[str, int] = {}
    for n in order:
        depth[n] = max((depth.get(p, 0) + 1 for p in g.preds[n]), default=0)
    return depth


def _check_wiring(g: _Graph, a: Analysis, cyclic: set[str]) -> set[str]:
    """Reachability and input counts. Returns the nodes wired well enough to get a shape."""
    from_input = g.reach([a.input_id]) if a.input_id else set()
    to_output = g.reach([a.output_id], forward=False) if a.output_id else set()
    # nodes that lead to one already blamed (a node is only blamed here after all it leads to)
    leads_to_blamed = g.reach([n for n in a.errors if n in g.spec.nodes], forward=False)
    wired = set()
    for n in a.order:
        kind = LAYERS.get(g.spec.nodes[n].kind)
        if kind is None:
            continue
        have, label = len(g.preds[n]), g.label(n)
        if n not in from_input and kind.name != "Input":
            a.add(n, f"{label} is not connected to the input: connect a layer into it." if have
                  == 0 else f"{label} does not get data from the Input: its inputs start "
                            f"elsewhere.")
            continue
        if (n not in to_output and n != a.output_id and g.succs[n]
                and n not in leads_to_blamed):
            a.add(n, f"{label} does not lead to the output, so its result is unused: connect "
                     f"its branch onward or delete it.")
        if have < kind.min_inputs:
            a.add(n, f"{label} has {have} input{'s' if have != 1 else ''} but needs at least "
                     f"{kind.min_inputs}: connect another branch into it.")
            continue
        if kind.max_inputs is not None and have > kind.max_inputs:
            a.add(n, f"{label} has {have} inputs but takes "
                     f"{'none' if kind.max_inputs == 0 else 'one'}: merge them first with "
                     f"Add or Concat.")
            continue
        wired.add(n)
    return wired


def _infer_shapes(g: _Graph, a: Analysis, ok: set[str]) -> None:
    """Shapes, parameter counts and FLOPs in order. A node whose output is beyond any memory
    (blamed by check_memory) gets its numbers, but the nodes after it do not: so every number
    stays within what a float holds, however the sizes would multiply downstream."""
    oversized: set[str] = set()
    for n in a.order:
        if n not in ok:
            continue
        node = g.spec.nodes[n]
        ins = [a.shapes.get(p) for p in g.preds[n]]
        if any(s is None for s in ins) or any(p in oversized for p in g.preds[n]):
            continue   # an input is already broken and blamed; do not cascade
        kind = LAYERS[node.kind]
        try:
            out = kind.infer(node.params, ins)
        except ShapeError as exc:
            fix = Fix(f"Insert {exc.insert}", n, insert=exc.insert) if exc.insert else None
            a.add(n, f"{g.label(n)} {exc}.", fix)
            continue
        if any(d < 1 for d in out):
            a.add(n, f"{g.label(n)} would produce an empty output {out}.")
            continue
        a.shapes[n], a.in_shapes[n] = out, ins
        a.params[n] = kind.count(node.params, ins)
        a.node_flops[n] = kind.flops(node.params, ins, out)
        if numel(out) * BYTES_PER_VALUE > MEMORY_LIMIT:
            oversized.add(n)


def _resolve_inits(g: _Graph, a: Analysis) -> None:
    """Resolve each weighted layer's init: 'auto' looks at the activation that follows."""
    for n, node in g.spec.nodes.items():
        kind = LAYERS.get(node.kind)
        if kind is None or not kind.weighted or "init" not in node.params:
            continue
        act = _next_activation(g, n)
        slope = 0.0
        if act is not None and act.kind == "LeakyReLU":
            slope = act.params.get("negative_slope", 0.01)
        elif act is not None and act.kind == "PReLU":
            slope = act.params.get("init", 0.25)
        family = LAYERS[act.kind].family if act is not None else ""
        scheme = node.params["init"]
        if scheme == "auto":
            scheme = {"rectifier": "kaiming_uniform", "saturating": "xavier_uniform"}.get(
                family, "pytorch")
        nonlinearity = "leaky_relu" if slope else "relu"   # used by the kaiming schemes
        a.inits[n] = (scheme, nonlinearity, slope)


def _next_activation(g: _Graph, node_id: str):
    """The first activation after node_id, seen through pooling, dropout, norms and reshapes."""
    seen = set()
    cur = node_id
    while True:
        succ = g.succs[cur]
        if len(succ) != 1 or succ[0] in seen:
            return None
        cur = succ[0]
        seen.add(cur)
        node = g.spec.nodes[cur]
        kind = LAYERS.get(node.kind)
        if kind is None:
            return None
        if kind.family:
            return node
        if not kind.transparent:
            return None
