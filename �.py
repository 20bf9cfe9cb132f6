"""Two-moons classifier — exported from Layerwise on 2026-12-06.

One hidden layer of 16 tanh units for 2-D toy data (moons, circles, xor): universal
approximation in action; watch the decision boundary.

Standalone: needs only torch and safetensors. Usage:

    import torch
    from \udcff import INPUT_SHAPE, load
    model = load()          # Network() with the weights in \udcff.safetensors
    output = model(torch.zeros(8, *INPUT_SHAPE))
"""
from pathlib import Path

import torch
from torch import nn

INPUT_SHAPE = (2,)


class Network(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear_1 = nn.Linear(2, out_features=16, bias=True)
        self.tanh_1 = nn.Tanh()
        self.linear_2 = nn.Linear(16, out_features=2, bias=True)

    def forward(self, x):
        linear_1 = self.linear_1(x)
        tanh_1 = self.tanh_1(linear_1)
        linear_2 = self.linear_2(tanh_1)
        return linear_2


def load(weights=None, device="cpu"):
    """Network() with the weights from `weights` (default: \udcff.safetensors beside this file), in eval mode."""
    from safetensors.torch import load_file
    path = Path(weights) if weights else Path(__file__).with_name('\udcff.safetensors')
    model = Network()
    model.load_state_dict(load_file(str(path)))
    return model.to(device).eval()
