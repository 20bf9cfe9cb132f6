"""Layerwise engine: everything a script can do, without Qt.

Importing `engine` is cheap: the network document, the catalogue and analysis are plain Python.
The parts that need torch are imported on first use (`_LAZY` below); the `TYPE_CHECKING` block
names the same things for IDEs and type checkers, and a test keeps the two lists equal.

The tree: `engine.network` (the network document), `engine.run` (a training run and its recipe),
`engine.io` (files and exports), `engine.data` (data sets), `engine.lab` (the experiments).
Front ends (`cli/`, `gui/`) use only the names exported here.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from engine.errors import (DatasetError, FileFormatError, LayerwiseError, SpecError, TrainingError,
                           UnsupportedOperations)
from engine.network.analysis import NETWORK, Analysis, Fix, analyze
from engine.network.catalogue import CATEGORIES, LAYERS, LayerKind, by_category
from engine.network.fit import Fit, data_fit
from engine.network.layout import DY as LAYOUT_DY, layered_positions
from engine.network.schema import Param
from engine.network.spec import Node, NetworkSpec

__version__ = "0.1.0"

# public name -> the module that defines it (imported on first use)
_LAZY = {
    "build": "network.model", "Model": "network.model",
    "same_network": "network.transfer", "transfer": "network.transfer",
    "network_signature": "network.transfer", "lost_in_edit": "network.transfer",
    "save": "io.lwnet", "load": "io.lwnet", "Saved": "io.lwnet", "network_json": "io.lwnet",
    "FORMAT_VERSION": "io.checks", "jsonable": "io.checks",
    "export": "io.export",
    "import_network": "io.import_common", "Imported": "io.import_common",
    "write_atomically": "io.atomic", "check_output": "io.atomic", "write_with": "io.atomic",
    "load_dataset": "data", "datasets": "data", "Dataset": "data", "DatasetInfo": "data",
    "write_shards": "io.shards_write", "to_shards": "io.shards_write",
    "SHARD_ROWS": "io.shards_write",
    "Recipe": "run.recipe", "PretrainConfig": "run.recipe", "DataRef": "run.recipe",
    "run_recipe": "run.recipe", "TrainConfig": "run.config", "DEFAULT_LR": "run.config",
    "train": "run.loop", "Run": "run.loop",
    "pretrain": "run.pretrain", "Pretrained": "run.pretrain",
    "compare_pretraining": "run.compare", "Comparison": "run.compare",
    "device_info": "run.setup", "resolve_device": "run.setup",
    "launch": "run.distributed", "Checkpoints": "run.checkpoints",
    "remaining_epochs": "run.checkpoints", "finished_epochs": "run.history",
    "epochs_left": "run.history", "network_edits": "run.history",
    "step_columns": "run.history", "probe_columns": "run.history",
    "Control": "run.events", "Callback": "run.events", "EventQueue": "run.events",
    "StepEvent": "run.events", "EpochEvent": "run.events", "ProbeEvent": "run.events",
    "StageEvent": "run.events", "StageEpochEvent": "run.events", "PhaseEvent": "run.events",
    "CompareEvent": "run.events", "FinishedEvent": "run.events", "FailedEvent": "run.events",
    "probe": "run.probe_once",
    "LiveViews": "run.live", "BoundaryEvent": "run.live", "ConfusionEvent": "run.live",
    "FiltersEvent": "run.live", "filter_tiles": "run.live", "devices": "run.live",
    "suggest_dataset": "run.live", "preview": "run.live", "trained_views": "run.live",
}
# public modules used as namespaces: engine.describe.count(...), engine.lab.run_experiment(...)
_MODULES = {"describe": "network.describe", "diagnostics": "run.diagnostics",
            "runs": "io.runs", "lab": "lab", "data": "data"}

if TYPE_CHECKING:   # what _LAZY and _MODULES resolve to, for IDEs and type checkers
    from engine import data, lab
    from engine.data import Dataset, DatasetInfo, datasets, load_dataset
    from engine.io import runs
    from engine.io.checks import FORMAT_VERSION, jsonable
    from engine.io.atomic import check_output, write_atomically, write_with
    from engine.io.export import export
    from engine.io.import_common import Imported, import_network
    from engine.io.lwnet import Saved, load, network_json, save
    from engine.io.shards_write import SHARD_ROWS, to_shards, write_shards
    from engine.network import describe
    from engine.network.model import Model, build
    from engine.network.transfer import (lost_in_edit, network_signature, same_network,
                                         transfer)
    from engine.run import diagnostics
    from engine.run.checkpoints import Checkpoints, remaining_epochs
    from engine.run.compare import Comparison, compare_pretraining
    from engine.run.config import DEFAULT_LR, TrainConfig
    from engine.run.distributed import launch
    from engine.run.events import (Callback, CompareEvent, Control, EpochEvent, EventQueue,
                                   FailedEvent, FinishedEvent, PhaseEvent, ProbeEvent,
                                   StageEpochEvent, StageEvent, StepEvent)
    from engine.run.history import (epochs_left, finished_epochs, network_edits,
                                    probe_columns, step_columns)
    from engine.run.live import (BoundaryEvent, ConfusionEvent, FiltersEvent, LiveViews,
                                 devices, filter_tiles, preview, suggest_dataset,
                                 trained_views)
    from engine.run.loop import Run, train
    from engine.run.pretrain import Pretrained, pretrain
    from engine.run.probe_once import probe
    from engine.run.recipe import DataRef, PretrainConfig, Recipe, run_recipe
    from engine.run.setup import device_info, resolve_device

__all__ = [
    "Analysis", "CATEGORIES", "DatasetError", "FileFormatError", "Fit", "Fix", "LAYERS",
    "LAYOUT_DY", "LayerKind", "LayerwiseError", "NETWORK", "NetworkSpec", "Node", "Param",
    "SpecError", "TrainingError", "analyze", "by_category", "data_fit", "layered_positions",
    "__version__",
    *_LAZY, *_MODULES,
]


def __getattr__(name: str):
    if name in _MODULES:
        value = importlib.import_module(f"engine.{_MODULES[name]}")
    elif name in _LAZY:
        value = getattr(importlib.import_module(f"engine.{_LAZY[name]}"), name)
    else:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
