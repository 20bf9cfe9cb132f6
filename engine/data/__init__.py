"""Data sets: built-in synthetic ones, the bundled mnist-5k, downloads with a cache, and the
user's own files. `load_dataset(name_or_path, **options)` returns a `Dataset`; `datasets()`
lists the named ones; `file_options(path)` says which options the user's file takes;
`to_shards` and `write_shards` write sharded arrays (engine.data.shards), which stream."""
from engine.data.dataset import CLASSIFICATION, REGRESSION, Dataset, Option
from engine.data.download import cache_dir
from engine.data.readers import (FILE_KINDS, check_file_options, check_path, csv_columns, file_kind,
                      file_kinds, file_options)
from engine.data.registry import DatasetInfo, datasets, load_dataset
from engine.data.shards_write import ROWS as SHARD_ROWS, to_shards, write_shards

__all__ = ["CLASSIFICATION", "FILE_KINDS", "REGRESSION", "Dataset", "DatasetInfo", "Option",
           "cache_dir", "check_file_options", "check_path", "csv_columns", "datasets", "file_kind",
           "file_kinds", "file_options", "load_dataset", "SHARD_ROWS", "to_shards", "write_shards"]
