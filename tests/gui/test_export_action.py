"""File → Export…: trained weights when they fit, a clear refusal for a broken network."""
import torch
from PySide6.QtWidgets import QFileDialog, QMessageBox

import engine
from engine.io.export import load_python_module


def test_export_writes_a_checked_python_module_of_the_trained_model(qtbot, window, tmp_path,
                                                                     monkeypatch):
    spec = engine.load("resources/examples/toy_2d.json").spec
    torch.manual_seed(1)
    model = engine.build(spec)
    window.doc.replace(spec, None, "toy", model=model)
    target = tmp_path / "toy.py"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(target), "PyTorch source, with a .safetensors "
                                                      "weights file (*.py)"))
    with qtbot.waitSignal(window.exporter.finished if getattr(window, "exporter", None)
                          else _controller(window).finished, timeout=60000) as ended:
        assert window.export_network()
    assert ended.args[0].status == "finished"
    assert model.training            # exporting did not switch the document's model to eval
    exported = load_python_module(target).load()
    x = torch.randn(5, 2)
    assert torch.equal(exported(x), model.eval()(x))
    assert "Exported toy.py, toy.safetensors" in window.statusBar().currentMessage()
    assert window.doc.model is model


def test_a_broken_network_is_not_exported(qtbot, window, monkeypatch):
    window.doc.replace(engine.NetworkSpec.sequential((784,), [("Conv2d", {})]), None, "bad")
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a: shown.append(a[2]))
    assert not window.export_network()
    assert "fix them first" in shown[0]


def _controller(window):
    from gui.export_action import ExportController
    window.exporter = ExportController(window)
    return window.exporter


def test_device_readout_describes_gpu_memory():
    from gui.device_status import describe
    text = describe({"device": "cuda:0", "name": "NVIDIA H200", "allocated": 3 * 1024 ** 3,
                     "reserved": 4 * 1024 ** 3, "total": 140 * 1024 ** 3})
    assert text == "cuda:0 · NVIDIA H200 · 3.00 GiB in use of 140"
    assert describe({"device": "cpu", "name": "x86_64", "allocated": None}) == "cpu · x86_64"


def test_the_suggested_export_name_comes_from_the_networks_name_made_safe(window,
                                                                         monkeypatch):
    """A name from a stranger's file cannot steer where the export dialog points."""
    spec = engine.load("resources/examples/toy_2d.json").spec
    spec.name = "../../etc/cron.d/x y"
    window.doc.replace(spec, None, spec.name)
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: asked.append(a[2]) or ("", ""))
    assert not window.export_network()
    assert asked == ["______etc_cron_d_x_y.py"]
