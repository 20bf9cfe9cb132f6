"""Every benchmark script still matches the engine it measures: each one's module loads (its
imports of engine names resolve) without running its measurement. A renamed or removed engine
function breaks the benchmark that uses it here, not months later when someone runs it."""
import importlib.util
import os
from pathlib import Path
from unittest import mock

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_a_benchmark_loads_against_todays_engine(script):
    spec = importlib.util.spec_from_file_location(f"bench_{script[:-3]}", BENCH / script)
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ):         # what a script sets for itself stays its own
        spec.loader.exec_module(module)      # top level only: main() runs under __main__
    assert callable(getattr(module, "main", None)), f"{script} has no main()"
