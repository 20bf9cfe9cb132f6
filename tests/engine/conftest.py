"""Engine test fixtures."""
from __future__ import annotations

import pytest
import torch

import engine.run.setup as setup

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@pytest.fixture
def cpu_fp16(monkeypatch):
    """Mixed precision allowed on the CPU (fp16 autocast + a CPU GradScaler), which this torch
    supports: fp16 is refused off CUDA, so the CPU tests lift that refusal (check_precision)."""
    monkeypatch.setattr(setup, "check_precision", lambda precision, device: DTYPES[precision])
