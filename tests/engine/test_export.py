"""Export to PyTorch source, TorchScript and ONNX reproduces the network's outputs."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import engine
from cli.main import main
from engine.io.export import export

EXAMPLES = sorted(p.stem for p in Path("resources/examples").glob("*.json"))
HAVE_ONNX = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript", "onnxruntime"))


def trained(name):
    """An example network with non-default weights (as if trained), in eval mode."""
    spec = engine.load(f"resources/examples/{name}.json").spec
    torch.manual_seed(3)
    model = engine.build(spec)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
        model(torch.randn(8, *model.input_shape))   # move any batch-norm running statistics
    return model.eval()


def batch(model, n=4):
    return torch.randn(n, *model.input_shape, generator=torch.Generator().manual_seed(9))


PLAIN_TORCH = """
import importlib, sys, torch
for folder in sys.argv[1:]:
    sys.path.insert(0, folder)
    try:
        m = importlib.import_module("exported").load()
        x, y = torch.load(folder + "/x.pt"), torch.load(folder + "/y.pt")
        same = torch.equal(m(x), y)
        print(folder, "same" if same else f"differs by {(m(x) - y).abs().max()}")
    except Exception as exc:
        print(folder, f"failed: {type(exc).__name__}: {exc}")
    sys.path.pop(0)
    sys.modules.pop("exported", None)
"""


@pytest.fixture(scope="module")
def plain_torch(tmp_path_factory):
    """Every example exported as Python source, then run in one fresh interpreter with plain
    torch only (no Layerwise on the path): {name: (source, "same" or what went wrong)}."""
    folders, sources = {}, {}
    for name in EXAMPLES:
        folder = tmp_path_factory.mktemp(name)
        model = trained(name)
        result = export(model, folder / "exported.py", format="python")
        assert result.max_difference == 0.0, name
        sources[name] = (folder / "exported.py").read_text()
        x = batch(model)
        torch.save(x, folder / "x.pt")
        torch.save(model(x).detach(), folder / "y.pt")
        folders[str(folder)] = name
    r = subprocess.run([sys.executable, "-c", PLAIN_TORCH, *folders], capture_output=True,
                       text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ""})
    said = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    return {name: (sources[name], said.get(folder, r.stderr[-500:]))
            for folder, name in folders.items()}


@pytest.mark.parametrize("name", EXAMPLES)
def test_python_source_reproduces_exactly_without_layerwise(plain_torch, name):
    source, outcome = plain_torch[name]
    assert "engine" not in source and "layerwise" not in source.lower().replace(
        "exported from layerwise", "")
    assert outcome == "same", outcome


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")
@pytest.mark.parametrize("name", EXAMPLES)
def test_torchscript_loads_with_plain_torch(tmp_path, name):
    model = trained(name)
    export(model, tmp_path / "m.pt", format="torchscript")
    loaded = torch.jit.load(str(tmp_path / "m.pt"))
    x = batch(model, 7)            # another batch size than the one traced
    assert torch.allclose(loaded(x), model(x), atol=1e-6)


@pytest.mark.skipif(not HAVE_ONNX, reason="the 'onnx' extra is not installed "
                                          "(pip install -e '.[onnx]')")
@pytest.mark.parametrize("name", EXAMPLES)
def test_onnx_passes_the_checker_and_matches_in_onnx_runtime(tmp_path, name):
    import onnx
    import onnxruntime
    model = trained(name)
    export(model, tmp_path / "m.onnx", format="onnx")
    onnx.checker.check_model(onnx.load(str(tmp_path / "m.onnx")))
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"),
                                           providers=["CPUExecutionProvider"])
    for n in (1, 6):               # dynamic batch size
        x = batch(model, n)
        got = torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
        assert torch.allclose(got, model(x), atol=1e-5)


def test_export_leaves_the_callers_model_alone(tmp_path):
    model = trained("toy_2d").train()
    export(model, tmp_path / "m.pt", format="torchscript")
    assert model.training


def test_onnx_without_the_extra_says_what_to_install(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxscript" else real(name, *a))
    with pytest.raises(engine.LayerwiseError, match=r"onnxscript.*pip install onnxscript"):
        export(trained("toy_2d"), tmp_path / "m.onnx", format="onnx")


def test_export_of_a_trained_file_uses_its_weights(tmp_path, capsys):
    model = trained("toy_2d")
    path = engine.save(tmp_path / "t.lwnet", model.spec, model=model)
    assert main(["export", str(path), "--format", "python", "-o", str(tmp_path / "t.py")]) == 0
    out = capsys.readouterr().out
    assert "largest difference 0" in out and "freshly initialised" not in out
    from engine.io.export import load_python_module
    exported = load_python_module(tmp_path / "t.py").load()
    x = batch(model)
    assert torch.equal(exported(x), model(x))


def test_export_errors_are_clear(tmp_path, capsys):
    assert main(["export", "resources/examples/mlp.json", "--format", "python",
                 "-o", str(tmp_path / "missing" / "m.py")]) == 1
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["export", "resources/examples/mlp.json", "--format", "keras", "-o", "x"])
    assert info.value.code == 2


@pytest.mark.parametrize("fmt, target, words", [
    ("torchscript", "input.lwnet", "a torchscript export is written to a .pt file"),
    ("python", "w.safetensors", "a python export is written to a .py file"),
    ("python", "noext", "ending in .py"),
    ("onnx", "folder.onnx", "is a folder"),
    ("python", "clash.py", "clash.safetensors': it is a folder"),
    ("python", "x" * 300 + ".py", "longer than the 255 bytes"),
])
def test_export_never_replaces_something_else(tmp_path, capsys, fmt, target, words):
    source = tmp_path / "input.lwnet"
    engine.save(source, engine.load("resources/examples/mlp.json").spec)
    (tmp_path / "folder.onnx").mkdir()
    (tmp_path / "clash.safetensors").mkdir()
    before = source.read_bytes()
    assert main(["export", str(source), "--format", fmt, "-o", str(tmp_path / target)]) == 1
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert source.read_bytes() == before
