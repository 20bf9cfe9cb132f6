"""Generated CSV, NPZ, IDX, image-folder and shards data sets are refused with the project's own error
(DatasetError) or accepted as data ready to train on: finite float32 inputs, one label per
sample, classes from 0, finite targets."""
import pytest
from hypothesis import given, strategies as st

from fuzz_budget import budget, run_case


@pytest.mark.parametrize("name", ["csv", "npz", "idx", "images", "shards"])
@budget(50)
@given(data=st.data())
def test_data_files_are_refused_or_ready_to_train(kinds, name, data):
    kind = kinds(name)
    run_case(kind, data.draw(kind.strategy, label=f"{name} case"))
