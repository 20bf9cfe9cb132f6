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


@pytest.fixture
def one_thread():
    """PyTorch on one CPU thread for the test (exactly reproducible numbers), then as before."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
