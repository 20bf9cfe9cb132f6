"""`python main.py datasets [--json]`."""
from __future__ import annotations

import json

from cli.main import main


def test_datasets_lists_every_named_set(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERWISE_DATA_DIR", str(tmp_path))
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("moons", "circles", "spiral", "xor", "gaussians", "parity", "sine", "mnist-5k",
                 "mnist", "fashion-mnist"):
        assert f"\n  {name} " in out
    assert "downloads on first use" in out and str(tmp_path) in out


def test_datasets_json(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERWISE_DATA_DIR", str(tmp_path))
    assert main(["datasets", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    by_name = {d["name"]: d for d in report["datasets"]}
    assert by_name["mnist-5k"]["available"] and not by_name["mnist"]["available"]
    assert by_name["parity"]["options"]["bits"]["default"] == 8
    assert by_name["sine"]["options"]["function"]["choices"][0] == "sin"
    assert report["cache"] == str(tmp_path)


def test_datasets_lists_the_options_of_each_kind_of_file(capsys, tmp_path, monkeypatch):
    from engine.data.readers import READER_OPTIONS
    monkeypatch.setenv("LAYERWISE_DATA_DIR", str(tmp_path))
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "a CSV table (csv): label=-1 header=auto task=auto delimiter=auto" in out
    assert "a folder of images (images): size= color=auto" in out
    assert "a folder of sharded arrays (shards): task=auto normalise=auto stream=auto" in out
    for options in READER_OPTIONS.values():
        for o in options:
            assert f"      {o.name}: " in out
    assert main(["datasets", "--json"]) == 0
    files = {f["kind"]: f for f in json.loads(capsys.readouterr().out)["files"]}
    assert set(files) == {"csv", "npz", "idx", "images", "shards"}
    assert files["csv"]["options"]["delimiter"]["choices"][0] == "auto"
    assert files["idx"]["options"]["labels"]["default"] is None
