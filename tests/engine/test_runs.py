"""Kept runs: records, summaries, settings differences, CSV, and their place in .lwnet files."""
import csv
import io
import json
import zipfile

import pytest

import engine
from engine.io import runs as R


def history(n_steps=10, accs=(0.5, 0.7)):
    return {"epochs": [{"epoch": i + 1, "train_loss": 1.0 / (i + 1), "train_acc": a,
                        "val_loss": 1.1 / (i + 1), "val_acc": a, "seconds": 2.0}
                       for i, a in enumerate(accs)],
            "steps": [{"step": s + 1, "epoch": 1, "loss": 2.0 - s * 0.01} for s in range(n_steps)],
            "probes": {"step": list(range(1, n_steps + 1)),
                       "layers": {"linear_1": {"grad_norm": [0.1] * n_steps}}}}


def test_record_summary_and_thinning():
    rec = R.make_record(history(n_steps=5000), {"optimizer": "sgd", "lr": 0.1,
                                                "dataset": {"name": "xor"}}, "run A")
    assert len(rec["history"]["steps"]) == R.MAX_POINTS
    assert rec["history"]["steps"][0]["step"] == 1 and rec["history"]["steps"][-1]["step"] == 5000
    assert len(rec["history"]["probes"]["layers"]["linear_1"]["grad_norm"]) == R.MAX_POINTS
    s = R.summary(rec)
    assert s == {"epochs": 2, "train_loss": 0.5, "train_acc": 0.7, "val_loss": 0.55,
                 "val_acc": 0.7, "seconds": 4.0}
    assert R.dataset_name(rec) == "xor"


def test_config_diff_and_csv():
    a = R.make_record(history(), {"optimizer": "sgd", "lr": 0.1, "seed": 0}, "A")
    b = R.make_record(history(accs=(0.6, 0.9)), {"optimizer": "adam", "lr": 0.1, "seed": 0,
                                                  "momentum": 0.9}, "B")
    assert R.config_diff(a, b) == [("momentum", None, 0.9), ("optimizer", "sgd", "adam")]
    rows = list(csv.DictReader(io.StringIO(R.table_csv([a, b]))))
    assert [r["label"] for r in rows] == ["A", "B"] and rows[1]["val_acc"] == "0.9"
    curves = list(csv.DictReader(io.StringIO(R.curves_csv([a, b]))))
    assert {"A", "B"} == {r["run"] for r in curves}
    assert [r["value"] for r in curves if r["run"] == "B" and r["series"] == "val_acc"] == \
        ["0.6", "0.9"]


def test_runs_round_trip_in_files_and_bad_runs_are_reported(tmp_path):
    spec = engine.load("resources/examples/toy_2d.json").spec
    kept = [R.make_record(history(), {"optimizer": "sgd"}, "first", spec)]
    path = engine.save(tmp_path / "r.lwnet", spec, runs=kept)
    assert engine.load(path).runs == json.loads(json.dumps(kept))
    assert engine.load(engine.save(tmp_path / "none.lwnet", spec)).runs == []
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["runs.json"] = json.dumps([{"label": 3}])
    bad = tmp_path / "bad.lwnet"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    with pytest.raises(engine.FileFormatError, match=r"runs.json: run 1.label must be text"):
        engine.load(bad)
