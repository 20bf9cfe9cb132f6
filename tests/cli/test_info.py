"""`python main.py info FILE [--json]`."""
import json
import subprocess
import sys
from pathlib import Path

import engine
from cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args):
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True,
                          text=True)


def test_info_lenet_shows_the_table_and_totals():
    r = run_cli("info", "resources/examples/lenet5.json")
    assert r.returncode == 0, r.stderr
    assert "61,706 parameters" in r.stdout and "output shape (10,)" in r.stdout
    assert "Conv2d 1" in r.stdout and "6@5x5 pad 2" in r.stdout and "(6, 28, 28)" in r.stdout
    assert "LeCun" in r.stdout   # the description
    assert r.stderr == ""


def test_info_json_for_scripts(capsys):
    assert main(["info", "resources/examples/mlp.json", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total_params"] == 266610 and report["output_shape"] == [10]
    assert report["valid"] and report["problems"] == []
    linear = [n for n in report["nodes"] if n["kind"] == "Linear"]
    assert [n["parameters"] for n in linear] == [235500, 30100, 1010]
    assert [n["memory"] for n in linear] == [4 * 300, 4 * 100, 4 * 10]     # float32 outputs
    assert report["warnings"] == [] and report["activation_bytes"] > 0


def test_info_names_memory_and_warnings(tmp_path, capsys):
    spec = engine.NetworkSpec.sequential((3, 2048, 2048), [
        ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1})])
    path = engine.save(tmp_path / "big.json", spec)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "128.0 MiB" in out and "activations 176.0 MiB per sample" in out
    assert "Warnings (1):" in out


def test_info_on_a_trained_file(tmp_path, capsys):
    spec = engine.load("resources/examples/toy_2d.json").spec
    path = engine.save(tmp_path / "t.lwnet", spec, model=engine.build(spec),
                       history={"epochs": [{"epoch": 1}, {"epoch": 2}]})
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "trained weights, 2 epochs of history" in out


def test_info_on_an_invalid_network_lists_problems_and_exits_1(tmp_path):
    spec = engine.NetworkSpec.sequential((784,), [("Conv2d", {}), ("ReLU", {})])
    path = engine.save(tmp_path / "bad.lwnet", spec)
    r = run_cli("info", str(path))
    assert r.returncode == 1
    assert "Conv2d 1 received (784,)" in r.stdout
    assert r.stderr.strip().count("\n") == 0 and "1 problem" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_file_is_one_clean_error(tmp_path):
    path = tmp_path / "x.lwnet"
    path.write_bytes(b"garbage")
    r = run_cli("info", str(path))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("layerwise: error: Cannot open") and "Traceback" not in r.stderr
    r = run_cli("info", str(tmp_path / "missing.lwnet"))
    assert r.returncode == 1 and "does not exist" in r.stderr


def test_usage_errors_exit_2():
    r = run_cli("info")
    assert r.returncode == 2 and "usage:" in r.stderr
    r = run_cli("frobnicate")
    assert r.returncode == 2 and "invalid choice" in r.stderr
