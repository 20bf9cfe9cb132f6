"""Mutated .lwnet files and generated network.json documents are refused with the project's
own error or accepted as valid documents that every later reader can use, save and reopen."""
from hypothesis import given, strategies as st

from fuzz_budget import budget, run_case


@budget(80)
@given(data=st.data())
def test_mutated_lwnet_files_are_refused_or_fully_usable(kinds, data):
    kind = kinds("lwnet")
    run_case(kind, data.draw(kind.strategy, label="file"))


@budget(50)
@given(data=st.data())
def test_generated_network_json_is_refused_or_builds_what_analysis_says(kinds, data):
    kind = kinds("network")
    run_case(kind, data.draw(kind.strategy, label="network.json"))


@budget(40)
@given(data=st.data())
def test_damaged_onnx_models_are_refused_or_import_as_working_networks(kinds, data):
    kind = kinds("onnx")
    run_case(kind, data.draw(kind.strategy, label="model.onnx"))
