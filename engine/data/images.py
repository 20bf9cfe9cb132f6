"""Folders of images: one subfolder per class. Every picture's header is read first (its size
against a pixel limit, the set's size against the memory budget); only then is each decoded,
one at a time, into one array, or, when they would not fit, streamed from disk batch by batch
(engine.data.stream)."""
from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np

from engine.data import limits
from engine.data.limits import check_budget, regular_file, shorten
from engine.errors import DatasetError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".tif", ".tiff",
                  ".webp")
MAX_PIXELS = 80_000_000
"""Pixels one picture may have (a bigger one is refused from its header, before decoding)."""
GREY_MODES = ("1", "L", "I", "I;16", "F")
# What Pillow raises for a damaged or hostile picture, besides its bomb error and warning.
PIL_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, zlib.error, IndexError,
              KeyError, TypeError, ZeroDivisionError)


def class_files(path: Path) -> tuple[list[str], list[tuple[int, Path]]]:
    """(class names, [(class index, image file)]): the subfolders of `path` and the pictures
    in each (hidden files skipped); DatasetError naming a class folder without pictures."""
    classes = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    found = {c: sorted(f for f in (path / c).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES
                       and not f.name.startswith(".")) for c in classes}
    if len(classes) < 2 or not any(found.values()):
        raise DatasetError(f"'{path}' is not an image data set: it needs one subfolder per "
                           f"class (at least two) holding images ({', '.join(IMAGE_SUFFIXES)})")
    empty = [c for c in classes if not found[c]]
    if empty:
        raise DatasetError(f"class folder '{path / empty[0]}' holds no images "
                           f"({', '.join(IMAGE_SUFFIXES)}); every class needs at least one: "
                           f"add some or remove the folder")
    return classes, [(i, f) for i, c in enumerate(classes) for f in found[c]]


def image_layout(files: list[Path], size, color: str) -> tuple[str, tuple[int, int], bool]:
    """(Pillow mode "L" or "RGB", (width, height), whether to resize) of the pictures, from
    their headers alone: grey or RGB (`color` auto, gray or rgb), resized to `size` =
    [height, width] or all of the first one's size."""
    image = _pillow()
    headers = [_header(image, f) for f in files]
    mode = {"gray": "L", "rgb": "RGB"}.get(color) or \
        ("L" if all(m in GREY_MODES for _, m in headers) else "RGB")
    height, width = size if size else headers[0][0][::-1]
    if not size:
        for f, (dims, _) in zip(files, headers):
            _same_size(f, dims, (width, height))
    return mode, (width, height), bool(size)


def decoded_values(files: list[Path], layout) -> int:
    """How many values the pictures hold once decoded."""
    mode, (width, height), _ = layout
    return len(files) * (1 if mode == "L" else 3) * height * width


def fits_budget(files: list[Path], layout) -> bool:
    """Whether decoding all the pictures at once fits the memory budget."""
    return decoded_values(files, layout) * limits.BYTES_PER_VALUE <= limits.memory_budget()


def load_images(folder: Path, files: list[Path], layout) -> np.ndarray:
    """The pictures as uint8 (N, channels, height, width), laid out as `image_layout` says;
    DatasetError when they would not fit the memory budget."""
    mode, (width, height), resize = layout
    check_budget(folder, decoded_values(files, layout),
                 f"its {len(files)} images of {width}x{height} pixels hold")
    image = _pillow()
    out = np.empty((len(files), 1 if mode == "L" else 3, height, width), dtype=np.uint8)
    for i, f in enumerate(files):
        out[i] = _decode(image, f, mode, (width, height), resize)
    return out


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise DatasetError("reading a folder of images needs the Pillow package: install it "
                           "with 'pip install Pillow'") from None
    return Image


def _header(image, f: Path) -> tuple[tuple[int, int], str]:
    """((width, height), mode) from the picture's header; nothing is decoded."""
    regular_file(f)
    with _reading(image, f), warnings.catch_warnings():
        warnings.simplefilter("ignore")            # Pillow's notes on damaged metadata
        warnings.simplefilter("error", image.DecompressionBombWarning)
        with image.open(f) as im:
            dims, mode = im.size, im.mode
    if dims[0] * dims[1] > MAX_PIXELS:
        raise DatasetError(f"'{f}' is {dims[0]}x{dims[1]} pixels ({dims[0] * dims[1] / 1e6:.0f} "
                           f"megapixels), more than the limit of {MAX_PIXELS // 1_000_000} "
                           f"megapixels per image; scale it down")
    if min(dims) < 1:
        raise DatasetError(f"'{f}' has no pixels ({dims[0]}x{dims[1]})")
    return dims, mode


def _decode(image, f: Path, mode: str, dims: tuple[int, int], resize: bool) -> np.ndarray:
    with _reading(image, f), warnings.catch_warnings():
        warnings.simplefilter("ignore")            # Pillow's notes on damaged metadata
        with image.open(f) as im:
            im = im.convert(mode)
            if resize:
                im = im.resize(dims)
            _same_size(f, im.size, dims)
            a = np.asarray(im, dtype=np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def _same_size(f: Path, dims, first) -> None:
    if tuple(dims) != tuple(first):
        raise DatasetError(f"'{f}' is {dims[0]}x{dims[1]} pixels but the first image is "
                           f"{first[0]}x{first[1]}; make all images the same size or pass "
                           f"size=[height, width]")


class _reading:
    """Turns what Pillow raises for one picture into a DatasetError naming the file."""

    def __init__(self, image, f: Path):
        self.image, self.f = image, f

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if kind is None or not issubclass(kind, (*PIL_ERRORS, self.image.DecompressionBombError,
                                                 self.image.DecompressionBombWarning)):
            return False
        if issubclass(kind, (self.image.DecompressionBombError,
                             self.image.DecompressionBombWarning)):
            raise DatasetError(f"'{self.f}' has more pixels than the limit of "
                               f"{MAX_PIXELS // 1_000_000} megapixels per image (a picture this "
                               f"large may be a decompression bomb); scale it down") from None
        raise DatasetError(f"'{self.f}' cannot be read as an image "
                           f"({shorten(exc) or kind.__name__})") from None
