"""A history's long series are compact typed columns (engine.run.history) that read like the
plain lists of DESIGN.md "History": steps as rows, probe columns as numbers; the public
accessors give them as numpy arrays without a copy, and read plain lists too."""
import copy
import json
import math

import numpy as np
import pytest

import engine
from engine.run.history import (Column, ProbeLog, StepRows, add_probe, append_steps,
                                continue_history, new_history)


def rows(n, start=1):
    return [{"step": s, "epoch": 1 + (s - 1) // 10, "loss": 1.0 / s} for s in range(start, n + 1)]


def test_steps_read_as_a_list_of_rows():
    history = new_history()
    for row in rows(25):
        history["steps"].append(row)
    steps = history["steps"]
    assert len(steps) == 25 and steps and not StepRows()
    assert steps[-1] == {"step": 25, "epoch": 3, "loss": pytest.approx(1 / 25)}
    assert steps[0] == {"step": 1, "epoch": 1, "loss": 1.0}
    assert [r["step"] for r in steps[2:5]] == [3, 4, 5] and steps[[0, 24]][1]["step"] == 25
    assert [r["step"] for r in steps] == list(range(1, 26))
    assert all(isinstance(r["loss"], float) and type(r["step"]) is int for r in steps)
    assert steps == rows(25) and steps != rows(24) and steps != rows(25)[::-1]
    assert steps == [{"step": s, "epoch": 1 + (s - 1) // 10, "loss": np.float32(1 / s)}
                     for s in range(1, 26)]
    with pytest.raises(IndexError):
        steps[25]


def test_a_bad_row_changes_nothing():
    steps = StepRows(rows(3))
    for bad in ({"epoch": 1, "loss": 1.0}, {"step": 4, "epoch": 1, "loss": "low"},
                {"step": "four", "loss": 1.0}):
        with pytest.raises((KeyError, ValueError)):
            steps.append(bad)
    assert steps == rows(3) and {len(c) for c in steps.columns.values()} == {3}
    steps.append({"step": 4, "loss": None})          # no epoch: 0; no loss: NaN
    assert steps[-1]["epoch"] == 0 and math.isnan(steps[-1]["loss"])


def test_copies_are_independent_and_equal():
    history = new_history()
    history["steps"].extend(rows(5))
    add_probe(history, 1, {"linear_1": {"grad_norm": 0.5}})
    for other in (copy.deepcopy(history), continue_history(history)):
        assert other["steps"] == history["steps"] and other["probes"] == history["probes"]
        other["steps"].append({"step": 6, "epoch": 1, "loss": 0.1})
        other["probes"]["layers"]["linear_1"]["grad_norm"].append(0.25)
        assert len(history["steps"]) == 5
        assert history["probes"]["layers"]["linear_1"]["grad_norm"] == [0.5]


def test_probe_columns_append_and_pad_missing_values_with_nan():
    history = new_history()
    add_probe(history, 1, {"linear_1": {"grad_norm": 0.5}})
    add_probe(history, 3, {"linear_1": {"grad_norm": 0.25, "weight_norm": 2.0}})
    add_probe(history, 5, {"linear_1": {"weight_norm": 3.0}})
    probes = history["probes"]
    assert probes["step"] == [1, 3, 5] and isinstance(probes["step"][0], int)
    grad = probes["layers"]["linear_1"]["grad_norm"]
    assert isinstance(grad, Column) and grad[-1] != grad[-1]          # NaN
    assert grad == [0.5, 0.25, None] and grad[:2] == [0.5, 0.25]
    assert probes["layers"]["linear_1"]["weight_norm"] == [float("nan"), 2.0, 3.0]


def test_probe_log_appends_through_the_same_columns():
    history = new_history()
    keys = (("linear_1", "grad_norm"), ("relu_1", "sparsity"))

    def nest(keys, values):
        out = {}
        for (node, stat), value in zip(keys, values):
            out.setdefault(node, {})[stat] = value
        return out
    log = ProbeLog(history, nest)
    for step in range(1, 101, 10):
        log.add(step, keys, [step / 100, 0.5])
    steps, layers = engine.probe_columns(history)
    assert steps.tolist() == list(range(1, 101, 10)) and steps.dtype == np.int64
    assert layers["linear_1"]["grad_norm"].dtype == np.float32
    np.testing.assert_allclose(layers["linear_1"]["grad_norm"], np.arange(1, 101, 10) / 100,
                               rtol=1e-6)


def test_the_accessors_give_the_columns_themselves_not_copies():
    history = new_history()
    append_steps(history, np.arange(1, 10_001), np.ones(10_000, int), np.linspace(2, 1, 10_000))
    add_probe(history, 1, {"linear_1": {"grad_norm": 0.5}})
    columns = engine.step_columns(history)
    assert {k: v.dtype for k, v in columns.items()} == {
        "step": np.int64, "epoch": np.int64, "loss": np.float32}
    assert columns["loss"].nbytes == 4 * 10_000          # 4 bytes a loss, no Python objects
    assert np.shares_memory(columns["loss"], engine.step_columns(history)["loss"])
    assert not columns["loss"].flags.writeable
    steps, layers = engine.probe_columns(history)
    assert np.shares_memory(layers["linear_1"]["grad_norm"],
                            engine.probe_columns(history)[1]["linear_1"]["grad_norm"])


def test_the_accessors_read_plain_lists_too():
    plain = {"steps": [{"step": 1, "loss": 2.0}, {"step": 2, "epoch": 1, "loss": None}],
             "probes": {"step": [1, 2], "layers": {"tanh_1": {"saturation": [None, 0.5]}}}}
    columns = engine.step_columns(plain)
    assert columns["step"].tolist() == [1, 2] and columns["epoch"].tolist() == [0, 1]
    assert columns["loss"][0] == 2.0 and np.isnan(columns["loss"][1])
    steps, layers = engine.probe_columns(plain)
    assert steps.tolist() == [1, 2] and np.isnan(layers["tanh_1"]["saturation"][0])
    empty = engine.step_columns(None)
    assert all(len(v) == 0 for v in empty.values()) and len(engine.probe_columns({})[0]) == 0


def test_append_steps_adds_many_rows_at_once():
    history, plain = new_history(), {"steps": []}
    for h in (history, plain):
        append_steps(h, [1, 2, 3], [1, 1, 1], [0.5, 0.25, float("inf")])
    assert history["steps"] == plain["steps"] and history["steps"][-1]["loss"] == math.inf
    with pytest.raises(ValueError, match="differ in length"):
        append_steps(history, [4, 5], [1], [0.1, 0.2])
    assert len(history["steps"]) == 3


def test_a_compact_history_is_json_ready_through_jsonable():
    history = new_history()
    history["steps"].extend(rows(3))
    add_probe(history, 1, {"linear_1": {"grad_norm": float("nan")}})
    data = json.loads(json.dumps(engine.jsonable(history), allow_nan=False))
    assert data["steps"] == [{"step": 1, "epoch": 1, "loss": 1.0},
                             {"step": 2, "epoch": 1, "loss": 0.5},
                             {"step": 3, "epoch": 1, "loss": float(np.float32(1 / 3))}]
    assert data["probes"] == {"step": [1], "layers": {"linear_1": {"grad_norm": [None]}}}
