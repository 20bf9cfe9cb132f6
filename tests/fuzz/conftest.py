"""Fixtures of the fuzz suite: the fuzzed kinds of input, built once per session."""
from __future__ import annotations

import pytest

import fuzz_kinds


@pytest.fixture(scope="session")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="session")
def kinds(fuzz_dir):
    """kinds(name) -> fuzz_kinds.Kind; the seeds behind them are trained once."""
    built: dict[str, fuzz_kinds.Kind] = {}

    def get(name: str) -> fuzz_kinds.Kind:
        if name not in built:
            built[name] = fuzz_kinds.KINDS[name](fuzz_dir)
        return built[name]
    return get
