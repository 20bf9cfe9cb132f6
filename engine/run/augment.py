"""Image augmentation of the training batches: random horizontal flips and random shifts (a crop
of the image padded with zeros), drawn for a whole batch at once on the device.

Only the training stage's batches are augmented (engine.run.loop): never the validation data,
nor the batches of the pre-training stages. The random numbers come from torch's generator,
which the loop reseeds every epoch from (seed, epoch), so the same seed gives the same
augmented batches. With both settings off nothing is drawn and the batches are the data's own.
"""
from __future__ import annotations

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

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The augmented copy of the batch `x` (N, C, H, W); `x` itself when off."""
        if self.flip:
            x = random_flip(x)
        if self.crop:
            x = random_crop(x, self.crop)
        return x


def random_flip(x: torch.Tensor) -> torch.Tensor:
    """Each image of `x` (N, C, H, W) mirrored left to right with probability 1/2."""
    mirrored = torch.rand(len(x), device=x.device) < 0.5
    return torch.where(mirrored[:, None, None, None], x.flip(-1), x)


def random_crop(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Each image of `x` (N, C, H, W) padded with `pad` zeros on every side and cut back to
    H x W at a random offset (0 to 2 pad, rows and columns apart): one padding, then a view of
    every window (unfold) from which each image's is picked."""
    n, _, h, w = x.shape
    windows = F.pad(x, (pad, pad, pad, pad)).unfold(2, h, 1).unfold(3, w, 1)
    offset = torch.randint(0, 2 * pad + 1, (2, n), device=x.device)
    return windows[torch.arange(n, device=x.device), :, offset[0], offset[1]]
