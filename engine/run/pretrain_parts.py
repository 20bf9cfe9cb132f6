"""The pieces of greedy layer-wise pre-training: blocks of a chain, temporary heads, decoders.

A block is a weighted layer (one with an init: Linear or a convolution) with the layers that
follow it up to the next weighted one. Supervised pre-training puts a temporary output layer on a
block; unsupervised pre-training mirrors it with a decoder (Linear, or ConvTranspose2d for a
Conv2d; other kinds are refused, check_mirrored) that reconstructs the block's input. Both are
discarded afterwards.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import SpecError, TrainingError
from engine.network.catalogue import LAYERS
from engine.run.history import finished_epochs


@dataclass
class Block:
    index: int                 # 1-based
    weighted: str              # node id of the Linear/Conv2d
    nodes: list[str]           # the weighted node and the layers after it, in order
    in_shape: tuple[int, ...]  # per-sample shape entering the block
    out_shape: tuple[int, ...]


def chain_blocks(model) -> tuple[list[str], list[Block]]:
    """(layers before the first weighted one, blocks). Refuses anything but a simple chain."""
    spec, a = model.spec, model.analysis
    for n in model.order:
        ins, outs = spec.inputs_of(n), spec.outputs_of(n)
        if len(ins) != 1 or len(outs) > 1 or len(spec.outputs_of(ins[0])) != 1:
            raise SpecError(f"{spec.label(n)} {'merges' if len(ins) > 1 else 'is on'} a branch: "
                            f"layer-wise pre-training needs a simple chain of layers without "
                            f"branches or merges", n)
    prefix, blocks = [], []
    for n in model.order:
        if LAYERS[spec.nodes[n].kind].weighted:
            blocks.append(Block(len(blocks) + 1, n, [n], a.in_shapes[n][0], a.shapes[n]))
        elif blocks:
            blocks[-1].nodes.append(n)
            blocks[-1].out_shape = a.shapes[n]
        else:
            prefix.append(n)
    if len(blocks) < 2:
        raise SpecError("layer-wise pre-training needs at least two weighted layers (Linear or "
                        "convolutions): one hidden layer to pre-train and the output layer")
    return prefix, blocks


MIRRORED = ("Linear", "Conv2d")      # the weighted kinds a Decoder mirrors


def check_mirrored(spec, hidden: list[Block]) -> None:
    """Unsupervised pre-training mirrors each hidden block's weighted layer with a decoder:
    TrainingError naming one it cannot mirror, before any training."""
    for block in hidden:
        kind = spec.nodes[block.weighted].kind
        if kind not in MIRRORED:
            raise TrainingError(f"unsupervised pre-training reconstructs each hidden layer's "
                                f"input through a decoder made for Linear and Conv2d layers, "
                                f"and {spec.label(block.weighted)} is a {kind}: use supervised "
                                f"pre-training, or none")


class Head(nn.Module):
    """Supervised stage: a temporary output layer from the block's output to the targets."""

    def __init__(self, in_shape, n_out: int):
        super().__init__()
        self.linear = nn.Linear(math.prod(in_shape), n_out)

    def forward(self, h):
        return self.linear(h.flatten(1))


class Decoder(nn.Module):
    """Unsupervised stage: maps a block's output back to its input (logits when `bce`).

    Undoes a flatten and a subsampling first (reshape, then nearest-neighbour upsampling back to
    the weighted layer's output size), then mirrors the weighted layer. `tied` uses the
    encoder's own weight, transposed, instead of a new one.
    """

    def __init__(self, encoder: nn.Module, block: Block, shapes: dict, tied: bool):
        super().__init__()
        self.encoder = [encoder]          # a list: not registered, so not trained twice
        self.tied = tied
        self.out_shape = block.in_shape
        self.enc_shape = shapes[block.weighted]       # right after the weighted layer
        self.pooled = next((shapes[n] for n in reversed(block.nodes)
                            if len(shapes[n]) == len(self.enc_shape)), self.enc_shape)
        self.conv = isinstance(encoder, nn.Conv2d)
        self.bias = nn.Parameter(torch.zeros(block.in_shape[0] if self.conv
                                             else block.in_shape[-1]))
        if not tied:
            w = encoder.weight
            self.weight = nn.Parameter(torch.empty_like(w if self.conv else w.t()))
            bound = 1.0 / math.sqrt(self.weight.shape[1] * math.prod(self.weight.shape[2:]))
            nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, h):
        h = h.reshape(h.shape[0], *self.pooled)
        if tuple(h.shape[1:]) != tuple(self.enc_shape):
            h = F.interpolate(h, size=self.enc_shape[1:], mode="nearest")
        enc = self.encoder[0]
        if not self.conv:       # decoder weight (in_features, out_features) = encoder's, transposed
            return F.linear(h, enc.weight.t() if self.tied else self.weight, self.bias)
        weight = enc.weight if self.tied else self.weight
        return F.conv_transpose2d(h, weight, self.bias, stride=enc.stride, padding=enc.padding,
                                  output_padding=self._output_padding(enc), groups=enc.groups,
                                  dilation=enc.dilation)

    def _output_padding(self, enc) -> tuple[int, int]:
        pad = []
        for i in range(2):
            size = ((self.enc_shape[1 + i] - 1) * enc.stride[i] - 2 * enc.padding[i]
                    + enc.dilation[i] * (enc.kernel_size[i] - 1) + 1)
            pad.append(self.out_shape[1 + i] - size)
        return tuple(pad)


def unit_interval(x: torch.Tensor) -> bool:
    return bool(x.min() >= 0) and bool(x.max() <= 1)


def reconstruction_loss(logits: torch.Tensor, target: torch.Tensor, bce: bool) -> torch.Tensor:
    if bce:
        return F.binary_cross_entropy_with_logits(logits, target)
    return F.mse_loss(logits, target)


def corrupt(x: torch.Tensor, noise: float) -> torch.Tensor:
    """Denoising: zero a random fraction `noise` of the inputs (masking noise)."""
    if noise <= 0:
        return x
    return x * (torch.rand_like(x) >= noise).to(x.dtype)


def check_pretrainable(start) -> None:
    """Pre-training needs a chain of layers, and starts from weights no run has trained."""
    if finished_epochs(start.history or {}):
        raise TrainingError("this network continues a run that already trained; pre-training "
                            "starts from new weights: start from the network itself (`train "
                            "--fresh`, or Reset Weights in the window), or set pre-training to "
                            "none to go on training")
    chain_blocks(start.model)
