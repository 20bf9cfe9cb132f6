"""How much memory one sample takes in a network, and the limits analysis holds a network to.

Every figure is float32 (4 bytes a value), the precision Layerwise trains in by default.

- A node's *activation memory* is its output for one sample: a training step keeps it for the
  backward pass (a Flatten's output is a view in torch, so the total is an upper bound).
- A **warning** when one sample's activations together exceed `ACTIVATION_WARNING` (64 MiB): at
  the default batch of 32 that is 2 GiB for the activations alone, and as much again for their
  gradients — more than many GPUs hold, and slow on a CPU. MNIST-sized networks take kilobytes.
- An **error** when one node's output for a single sample, or its weights, exceed `MEMORY_LIMIT`
  (1 TiB), or when all the activations of one sample, or all the weights, do: the largest GPUs
  hold 141 GB and large servers a few TB of RAM, and training needs the weights, their gradients
  and the optimizer's state besides, so no build could allocate and train such a network.
  (`build` also refuses weights larger than the memory of the computer it runs on.)

A node whose input is already too large is not blamed again downstream.
"""
from __future__ import annotations

import math

from engine.network.describe import memory as fmt_memory
from engine.network.shapes import fmt

BYTES_PER_VALUE = 4                 # float32
ACTIVATION_WARNING = 64 * 2**20     # one sample's activations, all layers together
MEMORY_LIMIT = 2**40                # one layer's output for one sample, or its weights
WARNING_BATCH = 32                  # the default batch size, quoted in the warning


def check_memory(a, preds: dict[str, list[str]], label) -> None:
    """Fill `a.memory` and `a.activation_bytes`, and add the errors and the warning above to
    the Analysis `a` (whose shapes and parameter counts are known)."""
    a.memory = {n: math.prod(a.shapes[n]) * BYTES_PER_VALUE for n in a.order if n in a.shapes}
    a.activation_bytes = sum(a.memory.values())
    too_big: set[str] = set()
    for n in a.order:
        if n not in a.memory:
            continue
        if any(p in too_big for p in preds[n]):
            too_big.add(n)
            continue
        message = _too_big(n, a, label)
        if message:
            too_big.add(n)
            a.add(n, message)
    if too_big:
        return
    from engine.network.analysis import NETWORK
    weights = sum(a.params.values()) * BYTES_PER_VALUE
    if weights > MEMORY_LIMIT:
        a.add(NETWORK, f"The network's weights take {fmt_memory(weights)} together "
                       f"({weights // BYTES_PER_VALUE:,} parameters as float32): more than any "
                       f"computer's memory (the limit is {fmt_memory(MEMORY_LIMIT)}). Give its "
                       f"layers fewer units or a smaller input.")
    if a.activation_bytes > MEMORY_LIMIT:
        a.add(NETWORK, f"One sample's activations take {fmt_memory(a.activation_bytes)} "
                       f"together: more than any computer's memory (the limit is "
                       f"{fmt_memory(MEMORY_LIMIT)}). Make the Input or the layers smaller.")
    elif a.activation_bytes > ACTIVATION_WARNING:
        a.warn(NETWORK, _warning(a, label))


def _too_big(n: str, a, label) -> str:
    out = a.memory[n]
    weights = a.params.get(n, 0) * BYTES_PER_VALUE
    name = label(n) if max(out, weights) > MEMORY_LIMIT else ""
    if out > MEMORY_LIMIT:
        values = math.prod(a.shapes[n])
        first = not a.in_shapes.get(n)          # the Input: its shape is the problem
        return (f"{name}'s {'shape' if first else 'output'} {fmt(a.shapes[n])} is {values:,} "
                f"values for one sample, {fmt_memory(out)} as float32: no computer has that "
                f"much memory (the limit is {fmt_memory(MEMORY_LIMIT)} a layer), so it cannot "
                f"be built. Make the {'shape' if first else 'layer or its input'} smaller.")
    if weights > MEMORY_LIMIT:
        return (f"{name} has {a.params[n]:,} weights, {fmt_memory(weights)} as float32: no "
                f"computer has that much memory (the limit is {fmt_memory(MEMORY_LIMIT)} a "
                f"layer), so it cannot be built. Give it fewer units or a smaller input.")
    return ""


def _warning(a, label) -> str:
    biggest = max(a.memory, key=lambda n: a.memory[n])
    batch = a.activation_bytes * WARNING_BATCH
    return (f"One sample's activations take {fmt_memory(a.activation_bytes)} (float32), the "
            f"largest {label(biggest)}'s output {fmt(a.shapes[biggest])} at "
            f"{fmt_memory(a.memory[biggest])}: a batch of {WARNING_BATCH} keeps "
            f"{fmt_memory(batch)} for the backward pass, and as much again for the gradients. "
            f"A smaller Input, fewer channels or an earlier stride or pooling would lighten "
            f"it; or train with a small batch.")
