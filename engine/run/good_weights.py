"""The last weights of a run whose outputs were finite, kept so that a run that diverges ends
with weights that still work (engine.run.loop keeps them at each epoch's end and restores them
when a loss or gradient norm becomes NaN or infinite)."""
from __future__ import annotations

import torch


class GoodWeights:
    """A copy of the last weights whose outputs were finite, on the model's device: buffers
    made once and copied into at each epoch's end (no allocation per epoch)."""

    def __init__(self, model: torch.nn.Module):
        self.when = "at the start of this run"
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def keep(self, model: torch.nn.Module, when: str) -> None:
        current = [v.detach() for v in model.state_dict().values()]
        torch._foreach_copy_(list(self.state.values()), current)
        self.when = when

    def restore(self, model: torch.nn.Module) -> None:
        model.load_state_dict(self.state)
