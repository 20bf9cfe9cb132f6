"""Image augmentation of the training batches: random horizontal flips and random shifts (a crop
of the image padded with zeros).

Only the training stage's batches are augmented (engine.run.loop): never the validation data,
nor the batches of the pre-training stages. The random choices of an epoch are drawn at its
start, for every sample in the epoch's order (`Augment.draws`), from a generator of their own
seeded by the run's seed, the epoch and the process's rank: the same seed gives the same
augmented batches, whatever else draws random numbers (dropout), and whoever applies them
(`Augment.apply`): the training thread on the device for data in memory, the worker processes
that decode a streamed folder's batches, off the training thread. With both settings off
nothing is drawn and the batches are the data's own.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.errors import TrainingError


class Augment:
    """The augmentation of a run's training batches: `flip` mirrors each image left to right
    with probability 1/2; `crop` > 0 pads each image with `crop` zeros on every side and cuts
    it back to its size at a random offset (a shift by up to `crop` pixels each way)."""

    def __init__(self, flip: bool = False, crop: int = 0):
        self.flip, self.crop = bool(flip), int(crop)

    @classmethod
    def of(cls, config, sample_shape: tuple[int, ...]) -> "Augment":
        """The augmentation `config` (a TrainConfig) asks for, on samples of `sample_shape`;
        TrainingError when it asks for any on data that are not images (C, H, W), or for shifts
        as large as the image."""
        augment = cls(config.augment_flip, config.augment_crop)
        if not augment:
            return augment
        shape = tuple(int(d) for d in sample_shape)
        setting = " and ".join(name for name, on in (("augment_flip", augment.flip),
                                                     ("augment_crop", augment.crop)) if on)
        if len(shape) != 3:
            raise TrainingError(f"{setting} augments images (samples of shape channels x height "
                                f"x width), but this data's samples have shape {shape}: turn "
                                f"augmentation off, or use image data")
        if augment.crop >= min(shape[1:]):
            raise TrainingError(f"augment_crop {augment.crop} would shift whole images out of "
                                f"view: these images are {shape[1]}x{shape[2]}, so use at most "
                                f"{min(shape[1:]) - 1} pixels")
        return augment

    def __bool__(self) -> bool:
        return self.flip or self.crop > 0

    def draws(self, n: int, seed: int, rank: int = 0) -> "Draws":
        """The choices for the `n` samples of an epoch, in its order, on the CPU (`seed`: the
        epoch's, engine.run.loop.epoch_seed)."""
        g = torch.Generator().manual_seed((int(seed) + SALT * (rank + 1)) % 2 ** 63)
        mirrored = torch.rand(n, generator=g) < 0.5 if self.flip else None
        offset = torch.randint(0, 2 * self.crop + 1, (2, n), generator=g) if self.crop \
            else None
        return Draws(mirrored, offset)

    def apply(self, x: torch.Tensor, draws: "Draws") -> torch.Tensor:
        """The augmented copy of the batch `x` (N, C, H, W) with its `draws` (one per image,
        on x's device)."""
        if draws.mirrored is not None:
            x = flip_where(x, draws.mirrored)
        if draws.offset is not None:
            x = crop_at(x, self.crop, draws.offset)
        return x


SALT = 0x5EED_A06        # augmentation's generator apart from the epoch's shuffle


@dataclass(frozen=True)
class Draws:
    """Per image: whether it is mirrored (bool, (N,)), its crop's offset ((2, N), rows then
    columns, 0 to 2 crop); None for a setting that is off."""
    mirrored: torch.Tensor | None
    offset: torch.Tensor | None

    def to(self, device) -> "Draws":
        return Draws(*(None if t is None else t.to(device) for t in (self.mirrored,
                                                                     self.offset)))

    def part(self, start: int, stop: int) -> "Draws":
        """The draws of the images start..stop-1 (a batch)."""
        return Draws(None if self.mirrored is None else self.mirrored[start:stop],
                     None if self.offset is None else self.offset[:, start:stop])


def flip_where(x: torch.Tensor, mirrored: torch.Tensor) -> torch.Tensor:
    """Each image of `x` (N, C, H, W) mirrored left to right where `mirrored` (N,) is true."""
    return torch.where(mirrored[:, None, None, None], x.flip(-1), x)


def crop_at(x: torch.Tensor, pad: int, offset: torch.Tensor) -> torch.Tensor:
    """Each image of `x` (N, C, H, W) padded with `pad` zeros on every side and cut back to
    H x W at its offset (`offset`: (2, N), rows then columns, 0 to 2 pad): one padding, then a
    view of every window (unfold) from which each image's is picked."""
    n, _, h, w = x.shape
    windows = F.pad(x, (pad, pad, pad, pad)).unfold(2, h, 1).unfold(3, w, 1)
    return windows[torch.arange(n, device=x.device), :, offset[0], offset[1]]
