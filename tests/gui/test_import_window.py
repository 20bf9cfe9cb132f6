"""File → Import…: an ONNX model or a PyTorch module opens as a new unsaved network with its
weights; a file that cannot be imported leaves the open document as it was."""
from __future__ import annotations

import textwrap

import pytest
import torch

import engine
from gui import dialogs
from gui.import_action import import_dialog

NET = textwrap.dedent('''
    import torch
    from torch import nn

    INPUT_SHAPE = (1, 8, 8)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.fc = nn.Linear(4 * 8 * 8, 3)

        def forward(self, x):
            return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))
''')


@pytest.fixture
def shown(monkeypatch):
    problems = []
    monkeypatch.setattr(dialogs, "show_problems", lambda w, path, p: problems.append(p))
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")
    return problems


def test_a_pytorch_module_opens_as_a_new_unsaved_network_with_its_weights(
        window, tmp_path, monkeypatch, shown):
    (tmp_path / "net.py").write_text(NET)
    monkeypatch.setattr(dialogs, "import_file_name", lambda *a: str(tmp_path / "net.py"))
    monkeypatch.setattr(dialogs, "ask_module_class", lambda *a: ("Net", None))
    assert import_dialog(window) and shown == []
    doc = window.doc
    kinds = sorted(n.kind for n in doc.spec.nodes.values())
    assert kinds == ["Conv2d", "Flatten", "Input", "Linear", "ReLU"]
    assert doc.model is not None and doc.path is None and doc.is_modified()
    assert window.isWindowModified()                    # the title says so too
    assert doc.analysis.ok and doc.analysis.output_shape == (3,)


@pytest.mark.filterwarnings("ignore")
def test_an_onnx_model_opens_and_a_bad_file_changes_nothing(window, tmp_path, monkeypatch,
                                                            shown):
    spec = engine.NetworkSpec.sequential((4,), [("Linear", {"out_features": 5}), ("Tanh", {}),
                                                ("Linear", {"out_features": 2})], name="small")
    torch.manual_seed(0)
    engine.export(engine.build(spec), tmp_path / "small.onnx", format="onnx")
    monkeypatch.setattr(dialogs, "import_file_name", lambda *a: str(tmp_path / "small.onnx"))
    assert import_dialog(window)
    imported = window.doc.spec
    assert [n.kind for n in imported.nodes.values()].count("Linear") == 2
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    monkeypatch.setattr(dialogs, "import_file_name", lambda *a: str(tmp_path / "bad.onnx"))
    assert not import_dialog(window)
    assert window.doc.spec is imported and len(shown) == 1 and shown[0]


def test_the_module_dialog_reads_a_shape_or_none():
    assert dialogs._shape("1, 28, 28") == (1, 28, 28) and dialogs._shape("3x32x32") == (3, 32, 32)
    assert dialogs._shape("") is None and dialogs._shape("1, -2") is False
