"""Weight initialisation schemes for Linear and Conv2d (the classic initialisation experiments)."""
from __future__ import annotations

import math

import torch
from torch import nn


def fan_in(weight: torch.Tensor) -> int:
    return weight.shape[1] * math.prod(weight.shape[2:])


@torch.no_grad()
def initialise(module: nn.Module, scheme: str, nonlinearity: str = "relu",
               slope: float = 0.0) -> None:
    """Re-initialise `module.weight` (and zero its bias) by `scheme`.

    pytorch: leave torch's default (Kaiming-uniform with a=√5, bias ±1/√fan_in).
    uniform: U(−1/√fan_in, 1/√fan_in) — the "standard" initialisation of the early papers.
    xavier_*: Glorot & Bengio (2010), gain 1.  kaiming_*: He et al. (2015) for `nonlinearity`.
    """
    if scheme == "pytorch":
        module.reset_parameters()
        return
    w = module.weight
    if scheme == "uniform":
        bound = 1.0 / math.sqrt(fan_in(w))
        nn.init.uniform_(w, -bound, bound)
    elif scheme == "xavier_uniform":
        nn.init.xavier_uniform_(w)
    elif scheme == "xavier_normal":
        nn.init.xavier_normal_(w)
    elif scheme == "kaiming_uniform":
        nn.init.kaiming_uniform_(w, a=slope, nonlinearity=nonlinearity)
    elif scheme == "kaiming_normal":
        nn.init.kaiming_normal_(w, a=slope, nonlinearity=nonlinearity)
    else:
        raise ValueError(f"unknown init scheme {scheme!r}")
    if module.bias is not None:
        nn.init.zeros_(module.bias)
