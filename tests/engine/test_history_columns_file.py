"""A history's step and probe series are stored as typed columns in history.safetensors
(format 2; history.json keeps the rest and the columns' names): what is saved is what is
loaded; format-1 files (series inside history.json) still open; a damaged or hostile member is
refused with every problem named, from its header before its data is read."""
import json
import math
import struct
import zipfile

import numpy as np
import pytest
from safetensors.numpy import load as st_load, save as st_save

import engine
from engine.io.series import MAX_VALUES
from engine.run.history import StepRows, add_probe, new_history

from lwnet_archive import members, rewrite

SPEC = engine.NetworkSpec.sequential((4,), [("Linear", {"out_features": 3}), ("Tanh", {})],
                                     name="small")


def history() -> dict:
    h = new_history()
    for step in range(1, 41):
        h["steps"].append({"step": step, "epoch": 1 + (step - 1) // 20, "loss": 1.0 / step})
        if step % 10 == 1:
            add_probe(h, step, {"linear_1": {"grad_norm": step / 7, "weight_norm": 1.5},
                                "tanh_1": {"saturation": 0.1} if step > 1 else {}})
    h["epochs"] = [{"epoch": e, "train_loss": 0.5, "val_loss": None, "seconds": 0.1}
                   for e in (1, 2)]
    h["stages"] = [{"stage": 1, "of": 1, "mode": "unsupervised", "loss": [0.5, None],
                    "probes": {"step": [1], "layers": {"linear_1": {"grad_norm": [0.1]}}}}]
    h["runs"] = [{"start_step": 0, "start_epoch": 0, "epochs": 2, "status": "finished"}]
    h["status"], h["message"] = "finished", "done"
    return h


@pytest.fixture
def saved(tmp_path):
    return engine.save(tmp_path / "net.lwnet", SPEC, history=history())


def refused(path) -> str:
    with pytest.raises(engine.FileFormatError) as err:
        engine.load(path)
    return str(err.value)


def test_what_is_saved_is_what_is_loaded(saved):
    loaded = engine.load(saved).history
    assert loaded == history() and isinstance(loaded["steps"], StepRows)
    assert math.isnan(loaded["probes"]["layers"]["tanh_1"]["saturation"][0])
    assert loaded["probes"]["layers"]["linear_1"]["grad_norm"][1] == np.float32(11 / 7)
    data = members(saved)
    meta = json.loads(data["history.json"])
    assert "steps" not in meta and "probes" not in meta and meta["series"] == {
        "member": "history.safetensors", "steps": ["step", "epoch", "loss"],
        "probes": {"linear_1": ["grad_norm", "weight_norm"], "tanh_1": ["saturation"]}}
    tensors = st_load(data["history.safetensors"])
    assert {k: v.dtype.name for k, v in tensors.items()} == {
        "steps/step": "int32", "steps/epoch": "int32", "steps/loss": "float32",
        "probes/step": "int32", "probes/0": "float32", "probes/1": "float32",
        "probes/2": "float32"}
    again = engine.save(saved.parent / "again.lwnet", SPEC, history=loaded)
    assert engine.load(again).history == loaded


def test_a_loaded_history_grows_like_a_new_one(saved):
    loaded = engine.load(saved).history      # its columns are over the file's bytes
    loaded["steps"].extend([])
    loaded["steps"].append({"step": 41, "epoch": 2, "loss": 0.5})
    add_probe(loaded, 41, {"linear_1": {"grad_norm": 1.0, "weight_norm": 2.0}})
    assert loaded["steps"][-1] == {"step": 41, "epoch": 2, "loss": 0.5}
    assert loaded["probes"]["layers"]["tanh_1"]["saturation"][-1] != \
        loaded["probes"]["layers"]["tanh_1"]["saturation"][-1]     # NaN: not in that probe
    assert engine.load(saved).history == history()       # the file's copy is untouched


def test_a_history_without_series_has_no_series_member(tmp_path):
    path = engine.save(tmp_path / "a.lwnet", SPEC, history={"epochs": [], "status": "new"})
    assert "history.safetensors" not in members(path)
    assert engine.load(path).history == {"epochs": [], "status": "new"}


def test_a_series_that_cannot_be_stored_is_not_saved(tmp_path):
    bad = {"steps": [{"step": 1, "loss": "low"}]}
    with pytest.raises(engine.LayerwiseError, match="cannot be stored as numbers"):
        engine.save(tmp_path / "bad.lwnet", SPEC, history=bad)
    negative = {"steps": [{"step": -1, "loss": 1.0}]}
    with pytest.raises(engine.LayerwiseError, match="below 0"):
        engine.save(tmp_path / "bad.lwnet", SPEC, history=negative)
    assert list(tmp_path.iterdir()) == []


def _format_1(path, history_json: dict):
    """A file as format 1 wrote it: steps and probes inside history.json."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "layerwise-network",
                                                 "format_version": 1}))
        zf.writestr("network.json", json.dumps({"format": "layerwise-network",
                                                "format_version": 1, **SPEC.to_dict()}))
        zf.writestr("history.json", json.dumps(history_json))
    return path


def test_a_format_1_file_opens_with_the_same_history(tmp_path):
    old = engine.jsonable(history())            # what format 1 wrote: lists, NaN as null
    loaded = engine.load(_format_1(tmp_path / "v1.lwnet", old)).history
    assert loaded == history() and isinstance(loaded["steps"], StepRows)
    assert engine.step_columns(loaded)["loss"].dtype == np.float32


@pytest.mark.parametrize("change, words", [
    (lambda h: h["steps"].__setitem__(0, {"step": -3, "loss": 1.0}),
     "history.json.steps[0].step must be a whole"),
    (lambda h: h.__setitem__("steps", {"a": 1}), "history.json.steps must be a list"),
    (lambda h: h["probes"].__setitem__("step", [1]), "values for 1 probed steps"),
])
def test_a_format_1_history_is_checked_as_before(tmp_path, change, words):
    old = engine.jsonable(history())
    change(old)
    assert words in refused(_format_1(tmp_path / "v1.lwnet", old))


def _tensors(path) -> dict:
    return st_load(members(path)["history.safetensors"])


def _with_tensors(edit):
    def change(path):
        tensors = _tensors(path)
        edit(tensors)
        rewrite(path, {"history.safetensors": st_save(tensors)})
    return change


def _raw(header: dict, data: bytes = b""):
    def change(path):
        text = json.dumps(header).encode()
        rewrite(path, {"history.safetensors": struct.pack("<Q", len(text)) + text + data})
    return change


def _json(edit):
    def change(path):
        meta = json.loads(members(path)["history.json"])
        edit(meta)
        rewrite(path, {"history.json": json.dumps(meta).encode()})
    return change


HUGE = 10 ** 12


@pytest.mark.parametrize("change, words", [
    (_with_tensors(lambda t: t.update({"steps/loss": t["steps/loss"].astype(np.float64)})),
     "'steps/loss' holds F64 values; it must hold F32"),
    (_with_tensors(lambda t: t.update({"probes/1": t["probes/1"][:-1]})),
     "the probes columns differ in length"),
    (_with_tensors(lambda t: t.update({"steps/epoch": t["steps/epoch"][:5]})),
     "the steps columns differ in length"),
    (_with_tensors(lambda t: t["steps/loss"].__setitem__(3, np.inf)),
     "'steps/loss' holds infinite values"),
    (_with_tensors(lambda t: t.update({"probes/step": np.full(4, np.nan, np.float32)})),
     "'probes/step' holds F32 values; it must hold I32 or I64"),
    (_with_tensors(lambda t: t["steps/step"].__setitem__(0, -1)), "below 0 or above 2**53"),
    (_with_tensors(lambda t: t.update({"probes/3": t["probes/0"]})),
     "it has 'probes/3', which history.json does not list"),
    (_with_tensors(lambda t: t.pop("steps/epoch")),
     "it lacks 'steps/epoch', which history.json lists"),
    (_with_tensors(lambda t: t.update({"steps/step": t["steps/step"].reshape(2, 20)})),
     "'steps/step' has shape [2, 20]; a column has one dimension"),
    (_raw({"steps/step": {"dtype": "I64", "shape": [HUGE], "data_offsets": [0, 8 * HUGE]},
           "steps/epoch": {"dtype": "I64", "shape": [HUGE], "data_offsets": [0, 8 * HUGE]},
           "steps/loss": {"dtype": "F32", "shape": [HUGE], "data_offsets": [0, 4 * HUGE]}}),
     f"values; at most {MAX_VALUES:,} are allowed"),
    (lambda p: rewrite(p, {"history.safetensors": struct.pack("<Q", 2 ** 60) + b"{}"}),
     "its header says it is 1,152,921,504,606,846,976 bytes long"),
    (lambda p: rewrite(p, {"history.safetensors": b"not a safetensors file at all"}),
     "history.safetensors: its header says it is"),
    (lambda p: rewrite(p, {"history.safetensors": None}),
     "history.json names history.safetensors, which the file does not have"),
    (_json(lambda m: m.pop("series")), "history.json lists no series"),
    (_json(lambda m: m["series"]["probes"]["tanh_1"].append("saturation")),
     "lists a statistic of 'tanh_1' twice"),
    (_json(lambda m: m["series"].update({"member": "weights.safetensors"})),
     "history.json.series.member must be 'history.safetensors'"),
])
def test_a_damaged_or_hostile_series_member_is_refused(saved, change, words):
    change(saved)
    assert words in refused(saved)


def test_offsets_that_do_not_tile_the_data_are_refused(saved):
    tensors = _tensors(saved)
    header, data, at = {}, b"", 0
    for name, values in tensors.items():
        raw = values.tobytes()
        header[name] = {"dtype": {"int32": "I32", "float32": "F32"}[values.dtype.name],
                        "shape": list(values.shape), "data_offsets": [at, at + len(raw)]}
        data, at = data + raw, at + len(raw)
    header["probes/0"]["data_offsets"] = header["probes/1"]["data_offsets"]     # overlap
    _raw(header, data)(saved)
    assert "offsets do not cover its data exactly" in refused(saved)


def test_every_problem_of_the_member_is_reported_at_once(saved):
    def two_problems(t):
        t["steps/loss"] = t["steps/loss"].astype(np.float16)
        t["probes/2"] = t["probes/2"][:2]
    _with_tensors(two_problems)(saved)
    message = refused(saved)
    assert "'steps/loss' holds F16 values" in message and "probes columns differ" in message
