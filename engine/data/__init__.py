"""Data sets: built-in synthetic ones, the bundled mnist-5k, downloads with a cache, and the
user's own files. `load_dataset(name_or_path, **options)` returns a `Dataset`; `datasets()`
lists the named ones."""
from .dataset import CLASSIFICATION, REGRESSION, Dataset
from .download import cache_dir
from .registry import DatasetInfo, Option, datasets, load_dataset

__all__ = ["CLASSIFICATION", "REGRESSION", "Dataset", "DatasetInfo", "Option", "cache_dir",
           "datasets", "load_dataset"]
