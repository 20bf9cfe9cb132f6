"""Layerwise engine: everything a script can do, without Qt.

Importing `engine` is cheap: the network document, the catalogue and analysis are plain Python.
The parts that need torch (build, Model, save, load) are imported on first use.
"""
from __future__ import annotations

import importlib

from .errors import DatasetError, FileFormatError, LayerwiseError, SpecError, TrainingError
from .graph import NETWORK, Analysis, analyze
from .layers import CATEGORIES, LAYERS, LayerKind
from .schema import Param
from .spec import Node, NetworkSpec

__version__ = "0.1.0"

_LAZY = {
    "build": "model", "Model": "model",
    "save": "files", "load": "files", "Saved": "files", "FORMAT_VERSION": "files",
    "load_dataset": "data", "datasets": "data", "Dataset": "data", "DatasetInfo": "data",
    "train": "training", "Run": "training", "TrainConfig": "train_config",
    "device_info": "train_setup", "Checkpoints": "checkpoints",
    "Control": "events", "Callback": "events", "EventQueue": "events",
    "StepEvent": "events", "EpochEvent": "events", "ProbeEvent": "events",
    "StageEvent": "events", "FinishedEvent": "events", "FailedEvent": "events",
    "probe": "probes",
    "pretrain": "pretraining", "Pretrained": "pretraining", "export": "exporting",
    "compare_pretraining": "compare", "Comparison": "compare",
}

__all__ = [
    "Analysis", "CATEGORIES", "DatasetError", "FileFormatError", "LAYERS", "LayerKind",
    "LayerwiseError", "NETWORK", "NetworkSpec", "Node", "Param", "SpecError", "TrainingError",
    "analyze", "__version__", *_LAZY,
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
