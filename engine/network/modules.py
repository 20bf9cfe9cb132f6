"""Small torch modules for the merge kinds (torch.nn has no module for these)."""
from __future__ import annotations

import torch
from torch import nn


class AddInputs(nn.Module):
    """Element-wise sum of all inputs (a residual connection)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class ConcatInputs(nn.Module):
    """torch.cat of all inputs along `dim` (0 is the batch)."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
