"""Import from PyTorch through torch.fx: a torchvision-style module in a .py file comes back
with the same outputs; the engine's own Python export comes back as the same network; ops
without a kind are refused together; an imported network saves, loads, trains and exports."""
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

import engine

SMALL_NET = textwrap.dedent("""
    import torch
    import torch.nn.functional as F
    from torch import nn

    INPUT_SHAPE = (3, 16, 16)

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(out)) + x)

    class SmallNet(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
            self.block = Block(8)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(8 * 8 * 8, 10)
            for name, b in self.named_buffers():     # statistics as if trained
                if "running" in name:
                    b.add_(torch.rand(b.shape) * 0.5)

        def forward(self, x):
            x = self.block(self.pool(self.stem(x)))
            x = x.view(x.size(0), -1)
            return F.dropout(self.fc(x), 0.1, self.training)

    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            y = torch.sin(self.fc(x))
            return torch.einsum("bi,bj->bij", y, y).flatten(1)
""")


@pytest.fixture
def small_net(tmp_path):
    path = tmp_path / "small_net.py"
    path.write_text(SMALL_NET)
    return path


def test_a_module_in_a_file_is_imported_with_its_weights(small_net):
    result = engine.import_network(f"{small_net}:SmallNet")     # INPUT_SHAPE from the file
    assert [n.kind for n in result.spec.nodes.values()] == [
        "Input", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Conv2d", "BatchNorm2d", "ReLU",
        "Conv2d", "BatchNorm2d", "Add", "ReLU", "Flatten", "Linear", "Dropout"]
    add = next(n for n in result.spec.nodes if n.startswith("add"))
    assert result.spec.inputs_of(add) == ["batchnorm2d_3", "maxpool2d_1"]
    assert result.max_difference is not None and result.max_difference <= 1e-5
    assert result.model.input_shape == (3, 16, 16)


def test_a_module_instance_needs_an_input_shape_and_keeps_its_weights():
    torch.manual_seed(2)
    module = nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.Tanh(), nn.BatchNorm1d(6),
                           nn.Linear(6, 3), nn.Softmax(dim=1))
    module[3].running_mean.add_(0.4)
    with pytest.raises(engine.LayerwiseError, match="--input-shape"):
        engine.import_network(module)
    result = engine.import_network(module, input_shape=(3, 4))
    x = torch.randn(5, 3, 4)
    with torch.no_grad():
        assert torch.allclose(result.model(x), module.eval()(x), atol=1e-6)


@pytest.mark.parametrize("name", ["residual", "lstm_adding", "transformer_adding"])
def test_the_python_export_comes_back_as_the_same_network(tmp_path, name):
    saved = engine.load(f"resources/examples/{name}.json")
    model = engine.build(saved.spec)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    engine.export(model, tmp_path / "net.py", format="python")
    result = engine.import_network(f"{tmp_path / 'net.py'}:Network",
                                   weights=tmp_path / "net.safetensors")
    assert [(n.kind, n.params) for n in result.spec.nodes.values()] == \
        [(n.kind, n.params) for n in saved.spec.nodes.values()]
    x = model.example_input(4)
    with torch.no_grad():
        assert torch.equal(result.model(x), model.eval()(x))


class Recurrent(torch.nn.Module):
    """Written as PyTorch users write them: tuples unpacked, the state unused, x[:, -1]."""

    def __init__(self, use_state=False):
        super().__init__()
        self.use_state = use_state
        self.embed = torch.nn.Linear(2, 16)
        self.attn = torch.nn.MultiheadAttention(16, 4, batch_first=True)
        self.norm = torch.nn.LayerNorm(16)
        self.lstm = torch.nn.LSTM(16, 8, batch_first=True)
        self.fc = torch.nn.Linear(8, 1)

    def forward(self, x):
        h = self.embed(x)
        a, _ = self.attn(h, h, h)
        out, (state, cell) = self.lstm(self.norm(h + a))
        return self.fc(state[-1] if self.use_state else out[:, -1])


def test_recurrent_layers_and_self_attention_written_by_hand_come_back():
    torch.manual_seed(0)
    module = Recurrent().eval()
    result = engine.import_network(module, input_shape=(12, 2))
    kinds = [(n.kind, n.params.get("output")) for n in result.spec.nodes.values()]
    assert ("MultiheadAttention", None) in kinds and ("LSTM", "last") in kinds
    x = torch.randn(5, 12, 2)
    with torch.no_grad():
        assert torch.allclose(result.model(x), module(x), atol=1e-6)
    with pytest.raises(engine.UnsupportedOperations, match="fc"):   # the state is not a layer's
        engine.import_network(Recurrent(use_state=True).eval(), input_shape=(12, 2))


def test_operations_without_a_kind_are_refused_together(small_net):
    with pytest.raises(engine.UnsupportedOperations) as err:
        engine.import_network(f"{small_net}:Odd", input_shape=(4,))
    assert err.value.operations == [("sin", "sin"), ("einsum", "einsum")]
    assert "node 'sin' (sin), node 'einsum' (einsum): Layerwise has no layer" in str(err.value)


def test_a_bad_source_gives_one_clear_error(tmp_path, small_net):
    with pytest.raises(engine.LayerwiseError, match="no torch.nn.Module class called 'Nope'"):
        engine.import_network(f"{small_net}:Nope")
    broken = tmp_path / "broken.py"
    broken.write_text("raise ValueError('boom')\n")
    with pytest.raises(engine.LayerwiseError, match="ValueError: boom"):
        engine.import_network(f"{broken}:Net")
    with pytest.raises(engine.FileFormatError, match="safetensors"):
        engine.import_network(f"{small_net}:SmallNet", weights=tmp_path / "w.pt")


def test_an_imported_network_saves_loads_trains_and_exports(tmp_path, small_net):
    result = engine.import_network(f"{small_net}:SmallNet")
    engine.save(tmp_path / "net.lwnet", result.spec, model=result.model)
    saved = engine.load(tmp_path / "net.lwnet")
    assert saved.spec == result.spec
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(saved.model.eval()(x), result.model(x))
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(16, 3, 16, 16)).astype(np.float32),
             y=np.arange(16) % 10)
    data = engine.load_dataset(str(tmp_path / "d.npz"))
    before = [p.detach().clone() for p in saved.model.parameters()]
    run = engine.train(saved.model, data, engine.TrainConfig(epochs=1, batch_size=8))
    assert len(run.history["epochs"]) == 1
    assert any(not torch.equal(a, b) for a, b in zip(before, run.model.parameters()))
    exported = engine.export(run.model, tmp_path / "net.py", format="python")
    assert exported.max_difference == 0.0
