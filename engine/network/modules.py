"""Small torch modules for kinds torch.nn has no module for (merges, reshaping), and torch.nn
modules adapted to take and give one tensor (embedding, recurrent layers, self-attention)."""
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


class MultiplyInputs(nn.Module):
    """Element-wise product of all inputs (a gate)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class ReshapeTo(nn.Module):
    """Each sample reshaped to `shape` (the batch dimension kept)."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class TokenEmbedding(nn.Embedding):
    """nn.Embedding on token ids given as numbers of any type (data sets hold floats)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.long())


def last_step(out: torch.Tensor, hidden: int, bidirectional: bool) -> torch.Tensor:
    """A batch-first recurrent output (batch, steps, directions x hidden) reduced to the
    output after the whole sequence: the last step's; bidirectional, the forward direction's
    at the last step and the backward direction's at the first."""
    if not bidirectional:
        return out[:, -1]
    return torch.cat([out[:, -1, :hidden], out[:, 0, hidden:]], dim=1)


class _Sequence:
    """A batch-first torch.nn recurrent layer (mixed in before nn.LSTM or nn.GRU) giving its
    output sequence, or with `last` the output after the whole sequence (a plain tensor either
    way, so layers can follow)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, bidirectional: bool = False, last: bool = False):
        super().__init__(input_size, hidden_size, num_layers=num_layers, bias=bias,
                         batch_first=True, bidirectional=bidirectional)
        self.last = last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)[0]
        return last_step(out, self.hidden_size, self.bidirectional) if self.last else out


class SequenceLSTM(_Sequence, nn.LSTM):
    """nn.LSTM over (batch, steps, features): its output sequence, or the last one (_Sequence)."""


class SequenceGRU(_Sequence, nn.GRU):
    """nn.GRU over (batch, steps, features): its output sequence, or the last one (_Sequence)."""


class SelfAttention(nn.MultiheadAttention):
    """nn.MultiheadAttention over (batch, steps, features) with the sequence as query, key and
    value; gives the attended sequence only."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True):
        super().__init__(embed_dim, num_heads, dropout=dropout, bias=bias, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # type: ignore[override]
        return super().forward(x, x, x, need_weights=False)[0]
