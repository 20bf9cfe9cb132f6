"""The fuzz suite's short budget: each property runs a fixed, reproducible set of generated
inputs (derandomized, no example database, no shrinking: a failure shows the input that failed;
bench/fuzz.py runs the same generators for thousands of inputs and saves reproducers).
LAYERWISE_FUZZ_SCALE multiplies the number of inputs (e.g. 10 for a longer local run)."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

import fuzz_oracles

SCALE = float(os.environ.get("LAYERWISE_FUZZ_SCALE", "1"))
SECONDS = 60.0          # one input may take this long before it counts as a hang (the first
                        # ONNX export imports onnx: seconds on a busy machine)


def budget(examples: int):
    """Hypothesis settings for one property: `examples` inputs (times the scale)."""
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=None,
                    derandomize=True, database=None, print_blob=False,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=list(HealthCheck))


def run_case(kind, case) -> str:
    """The check of one input, a hang turned into a failure."""
    with fuzz_oracles.time_limit(SECONDS):
        return kind.check(case)
