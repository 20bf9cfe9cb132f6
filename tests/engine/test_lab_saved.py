"""Saved Lab results read back: the same verdict, table and figures; strangers' files refused
with a message naming the file and what is wrong."""
import json

import pytest
import torch

from engine import LayerwiseError
from engine.lab import read_folder, read_result, run_experiment
from engine.lab.report import markdown


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("lab")
    result = run_experiment("weight-vs-backprop", quick=True, out_dir=out / "weight-vs-backprop")
    torch.set_num_threads(threads)
    return out, result


def test_a_saved_result_reads_back_as_it_was(saved):
    out, result = saved
    back = read_result(out / "weight-vs-backprop" / "results.json")
    assert back.verdict.status == result.verdict.status
    assert back.verdict.headline() == result.verdict.headline()
    assert [c.figure for c in back.verdict.checks] == [c.figure for c in result.verdict.checks]
    assert back.findings == result.findings and back.setup == result.setup
    assert [f.curves for f in back.figures] == [f.curves for f in result.figures]
    assert markdown(back, []).split("## Results")[1] == markdown(result, []).split(
        "## Results")[1]                       # the table prints the same from the saved file
    assert read_folder(out, ["weight-vs-backprop"]).keys() == {"weight-vs-backprop"}
    assert read_folder(out / "weight-vs-backprop", ["weight-vs-backprop"])


@pytest.mark.parametrize("change, message", [
    (lambda d: "not json {", "JSONDecodeError"),
    (lambda d: [1, 2], "does not hold an object"),
    (lambda d: {**d, "verdict": {**d["verdict"], "status": "proven"}}, "none of reproduced"),
    (lambda d: {**d, "rows": "x"}, "rows is missing or not a list"),
    (lambda d: {**d, "seconds": True}, "seconds"),
    (lambda d: {**d, "findings": [1]}, "findings must be a list of texts"),
    (lambda d: {**d, "figures": [{**d["figures"][0], "curves": [{"label": "a", "x": [1],
                                                                  "y": [1, 2]}]}]},
     "as many numbers"),
    (lambda d: "[" * 100_000 + "]" * 100_000, "RecursionError"),
])
def test_bad_files_are_refused_by_name(saved, tmp_path, change, message):
    out, _ = saved
    data = json.loads((out / "weight-vs-backprop" / "results.json").read_text())
    bad = tmp_path / "results.json"
    changed = change(data)
    bad.write_text(changed if isinstance(changed, str) else json.dumps(changed))
    with pytest.raises(LayerwiseError) as err:
        read_result(bad)
    assert str(bad) in str(err.value) and message in str(err.value)


def test_folders_without_results_and_huge_files_are_refused(tmp_path, monkeypatch):
    with pytest.raises(LayerwiseError, match="There is no Lab result"):
        read_folder(tmp_path, ["saturation"])
    with pytest.raises(LayerwiseError, match="is not a file"):
        read_result(tmp_path)
    import engine.lab.saved as saved_module
    monkeypatch.setattr(saved_module, "MAX_BYTES", 10)
    (tmp_path / "results.json").write_text("{}" * 10)
    with pytest.raises(LayerwiseError, match="larger than"):
        read_result(tmp_path / "results.json")
