"""`python main.py import MODEL.onnx|file.py:ClassName [-o OUT.lwnet]`."""
import importlib.util
import textwrap

import pytest

import engine
from cli.main import main

MODULE = textwrap.dedent("""
    from torch import nn
    INPUT_SHAPE = (2,)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))

        def forward(self, x):
            return self.body(x)

    class Odd(nn.Module):
        def forward(self, x):
            return x.cos()
""")


@pytest.fixture
def module_file(tmp_path):
    path = tmp_path / "nets.py"
    path.write_text(MODULE)
    return path


def test_import_a_module_and_open_the_file(tmp_path, module_file, capsys):
    out = tmp_path / "net.lwnet"
    assert main(["import", f"{module_file}:Net", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Imported nets.py:Net: 3 layers, 42 parameters" in printed
    assert "Checked: it reproduces the source's outputs" in printed
    saved = engine.load(out)
    assert [n.kind for n in saved.spec.nodes.values()] == ["Input", "Linear", "ReLU", "Linear"]
    assert saved.model is not None


def test_unsupported_operations_and_bad_shapes_fail_with_one_line(tmp_path, module_file, capsys):
    assert main(["import", f"{module_file}:Odd", "--input-shape", "3",
                 "-o", str(tmp_path / "odd.lwnet")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("layerwise: error: cannot import 1 operation: node 'cos' (.cos()): "
                   "Layerwise has no layer for it")
    assert not (tmp_path / "odd.lwnet").exists()
    with pytest.raises(SystemExit) as exit_:
        main(["import", f"{module_file}:Net", "--input-shape", "a,b"])
    assert exit_.value.code == 2


def test_help_warns_that_a_python_file_runs(capsys):
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "runs the file's code: only import files you trust" in text


@pytest.mark.skipif(not all(importlib.util.find_spec(m) for m in
                            ("onnx", "onnxscript", "onnxruntime")), reason="needs ONNX")
def test_import_an_onnx_export(tmp_path, capsys, monkeypatch):
    engine.export(engine.load("resources/examples/toy_2d.json"), tmp_path / "toy.onnx",
                  format="onnx")
    monkeypatch.chdir(tmp_path)
    assert main(["import", "toy.onnx"]) == 0         # default output: toy.lwnet, here
    assert "-> 'toy.lwnet'" in capsys.readouterr().out
    assert engine.load(tmp_path / "toy.lwnet").spec.nodes["input_1"].params["shape"] == (2,)
    (tmp_path / "bad.onnx").write_bytes(b"\x00junk")
    assert main(["import", "bad.onnx"]) == 1
    assert "not an ONNX model" in capsys.readouterr().err
