"""Data sets: built-in synthetic ones, the bundled mnist-5k, downloads with a cache, and the
user's own files. `load_dataset(name_or_path, **options)` returns a `Dataset`; `datasets()`
lists the named ones; `file_options(path)` says which options the user's file takes. Sharded
arrays (engine.data.shards) are written by engine.io.shards_write (engine.write_shards)."""
from engine.data.dataset import CLASSIFICATION, REGRESSION, Dataset, Option
from engine.data.download import cache_dir
from engine.data.readers import (FILE_KINDS, check_file_options, check_path, csv_columns, file_kind,
                      file_kinds, file_options)
from engine.data.registry import DatasetInfo, datasets, load_dataset
from engine.data.stream import set_decode_workers

__all__ = ["CLASSIFICATION", "FILE_KINDS", "REGRESSION", "Dataset", "DatasetInfo", "Option",
           "cache_dir", "check_file_options", "check_path", "csv_columns", "datasets", "file_kind",
           "file_kinds", "file_options", "load_dataset", "set_decode_workers"]
