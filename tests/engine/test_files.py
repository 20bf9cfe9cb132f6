"""The .lwnet file: round trips, atomic writes, and every kind of bad file."""
import io
import json
import os
import pickle
import zipfile

import pytest
import torch
from safetensors.torch import load as st_load, save as st_save

import engine
from engine import FileFormatError
from engine.io import checks as files_check
from engine.io.lwnet import network_json


@pytest.fixture
def lenet():
    return engine.load("resources/examples/lenet5.json").spec


@pytest.fixture
def saved_file(tmp_path, lenet):
    path = tmp_path / "net.lwnet"
    torch.manual_seed(1)
    engine.save(path, lenet, model=engine.build(lenet), history={"epochs": []},
                recipe={"lr": 0.1})
    return path


def members_of(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def write_zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def problems(path):
    with pytest.raises(FileFormatError) as info:
        engine.load(path)
    assert str(path) in str(info.value)
    return "\n".join(info.value.problems)


# ----------------------------------------------------------------------------- good files

def test_save_load_gives_identical_outputs(tmp_path, lenet):
    torch.manual_seed(0)
    model = engine.build(lenet).eval()
    history = {"epochs": [{"epoch": 1, "train_loss": 0.5, "val_loss": float("nan")}],
               "steps": [{"step": 1, "loss": 2.3}]}
    path = engine.save(tmp_path / "a.lwnet", lenet, model=model, history=history,
                       recipe={"epochs": 2, "lr": 0.05})
    saved = engine.load(path)
    assert saved.spec == lenet
    assert (saved.recipe.train.epochs, saved.recipe.train.lr) == (2, 0.05)
    assert saved.history["epochs"][0]["val_loss"] is None   # NaN is stored as null
    assert saved.manifest["format_version"] == engine.FORMAT_VERSION
    x = torch.randn(5, 1, 28, 28)
    assert torch.equal(model(x), saved.model.eval()(x))


def test_batch_norm_buffers_survive(tmp_path):
    spec = engine.NetworkSpec.sequential((3,), [("Linear", {"out_features": 4}),
                                               ("BatchNorm1d", {})])
    model = engine.build(spec)
    model(torch.randn(16, 3) * 5 + 2)      # updates running statistics
    saved = engine.load(engine.save(tmp_path / "bn.lwnet", spec, model=model))
    bn = saved.model.layers["batchnorm1d_1"]
    assert torch.equal(bn.running_mean, model.layers["batchnorm1d_1"].running_mean)
    assert bn.num_batches_tracked.item() == 1


def test_architecture_only_file_has_no_model(tmp_path, lenet):
    saved = engine.load(engine.save(tmp_path / "arch.lwnet", lenet))
    assert saved.model is None and saved.history is None and saved.spec == lenet


def test_bare_network_json_opens(tmp_path, lenet):
    path = tmp_path / "network.json"
    path.write_text(json.dumps(lenet.to_dict()))   # no format fields at all: still fine
    assert engine.load(path).spec == lenet


def test_invalid_network_without_weights_still_opens(tmp_path):
    spec = engine.NetworkSpec.sequential((784,), [("Conv2d", {})])   # a work in progress
    saved = engine.load(engine.save(tmp_path / "wip.lwnet", spec))
    assert saved.spec == spec and not engine.analyze(saved.spec).ok


def test_older_format_is_migrated(tmp_path, lenet, monkeypatch):
    path = engine.save(tmp_path / "older.lwnet", lenet)
    current = engine.FORMAT_VERSION
    monkeypatch.setattr(files_check, "FORMAT_VERSION", current + 1)

    def rename_to_next_version(parsed):
        parsed["network.json"]["name"] = "migrated " + parsed["network.json"]["name"]
        return parsed
    monkeypatch.setitem(files_check.MIGRATIONS, current, rename_to_next_version)
    assert engine.load(path).spec.name == "migrated LeNet-5"


# ----------------------------------------------------------------------------- atomic writes

def test_failed_save_leaves_previous_file_intact(saved_file, lenet, monkeypatch):
    before = saved_file.read_bytes()

    def broken_writestr(self, *args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken_writestr)
    with pytest.raises(engine.LayerwiseError, match="No space left.*unchanged"):
        engine.save(saved_file, lenet)
    assert saved_file.read_bytes() == before
    assert [p.name for p in saved_file.parent.iterdir()] == ["net.lwnet"]   # no temp left


def test_save_refuses_weights_that_do_not_fit(saved_file, lenet):
    before = saved_file.read_bytes()
    other = engine.NetworkSpec.sequential((4,), [("Linear", {"out_features": 2})])
    with pytest.raises(engine.SpecError, match="do not fit.*nothing was saved"):
        engine.save(saved_file, lenet, model=engine.build(other))
    assert saved_file.read_bytes() == before


def test_saved_files_get_normal_permissions(tmp_path, lenet):
    path = engine.save(tmp_path / "p.lwnet", lenet)
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o640)
    engine.save(path, lenet)                 # replacing a file keeps its mode
    assert path.stat().st_mode & 0o777 == 0o640


def test_save_into_missing_folder_is_a_clear_error(tmp_path, lenet):
    with pytest.raises(engine.LayerwiseError, match="does not exist"):
        engine.save(tmp_path / "nope" / "a.lwnet", lenet)


# ----------------------------------------------------------------------------- bad files

def test_missing_empty_and_folder(tmp_path):
    assert "does not exist" in problems(tmp_path / "missing.lwnet")
    (tmp_path / "empty.lwnet").write_bytes(b"")
    assert "empty" in problems(tmp_path / "empty.lwnet")
    assert "folder" in problems(tmp_path)


def test_not_a_zip(tmp_path):
    path = tmp_path / "x.lwnet"
    path.write_bytes(b"GIF89a not a network")
    assert "not a Layerwise network" in problems(path)


def test_truncated(tmp_path, saved_file):
    data = saved_file.read_bytes()
    path = tmp_path / "cut.lwnet"
    path.write_bytes(data[: len(data) // 2])
    assert "damaged or truncated" in problems(path)


def test_bare_pickle_is_refused(tmp_path):
    path = tmp_path / "model.lwnet"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    assert "pickle" in problems(path)


def test_newer_version_is_refused(tmp_path, saved_file):
    members = members_of(saved_file)
    manifest = json.loads(members["manifest.json"])
    manifest["format_version"] = engine.FORMAT_VERSION + 1
    members["manifest.json"] = json.dumps(manifest)
    text = problems(write_zip(tmp_path / "new.lwnet", members))
    assert "newer Layerwise" in text and "update Layerwise" in text


def test_newer_bare_json_is_refused(tmp_path, lenet):
    data = network_json(lenet)
    data["format_version"] = 99
    path = tmp_path / "n.json"
    path.write_text(json.dumps(data))
    assert "file format 99" in problems(path)


def test_every_problem_is_reported_together(tmp_path, saved_file):
    members = members_of(saved_file)
    network = json.loads(members["network.json"])
    network["nodes"][1]["kind"] = "Convolution"                 # unknown kind
    network["nodes"][-1]["params"]["out_features"] = "ten"      # bad parameter
    members["network.json"] = json.dumps(network)
    members["history.json"] = b"{not json"
    members["../../etc/evil"] = b"x"                            # path traversal
    members["weights.pkl"] = pickle.dumps([1])                   # a pickle inside
    with pytest.raises(FileFormatError) as info:
        engine.load(write_zip(tmp_path / "bad.lwnet", members))
    text = "\n".join(info.value.problems)
    for words in ("unknown layer kind 'Convolution'", "out_features must be",
                  "history.json is not valid JSON", "unsafe path", "pickle"):
        assert words in text, words
    assert len(info.value.problems) == 5
    assert "5 problems" in str(info.value)


def test_wrong_weight_shape(tmp_path, saved_file):
    members = members_of(saved_file)
    state = st_load(members["weights.safetensors"])
    state["layers.linear_3.weight"] = torch.zeros(10, 7)
    del state["layers.linear_3.bias"]
    state["layers.extra.weight"] = torch.zeros(1)
    members["weights.safetensors"] = st_save(state)
    text = problems(write_zip(tmp_path / "w.lwnet", members))
    assert "layers.linear_3.weight has shape (10, 7) but the network needs (10, 84)" in text
    assert "no weights for layers.linear_3.bias" in text
    assert "layers.extra.weight, which the network does not have" in text


def test_pickled_weights_member_is_refused(tmp_path, saved_file):
    members = members_of(saved_file)
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, buffer)           # a torch.save file is a zip of pickles
    members["weights.safetensors"] = pickle.dumps({"w": [0.0, 0.0]})
    assert "pickle" in problems(write_zip(tmp_path / "p.lwnet", members))
    members["weights.safetensors"] = buffer.getvalue()
    assert "not a valid safetensors file" in problems(write_zip(tmp_path / "t.lwnet", members))


def test_oversized_member_is_refused_before_reading(tmp_path, saved_file, monkeypatch):
    monkeypatch.setitem(files_check.MEMBER_LIMITS, "history.json", 1000)
    members = members_of(saved_file)
    members["history.json"] = json.dumps({"steps": [{"step": i, "loss": 1.0}
                                                     for i in range(200)]})
    assert "larger than the 1000 bytes allowed" in problems(
        write_zip(tmp_path / "big.lwnet", members))


def test_lying_zip_header_is_refused(tmp_path, saved_file):
    """A zip bomb can claim a small size in its directory; the member is refused, not inflated."""
    members = members_of(saved_file)
    members["history.json"] = b" " * 5000 + b"{}"
    path = write_zip(tmp_path / "bomb.lwnet", members)
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02", data.index(b"history.json") + 1)   # its directory record
    while data[entry + 46: entry + 46 + 12] != b"history.json":
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 20: entry + 28] = (10).to_bytes(4, "little") * 2   # sizes claim 10 bytes
    path.write_bytes(bytes(data))
    assert "member 'history.json' cannot be read" in problems(path)


def test_too_many_members(tmp_path):
    members = {f"m{i}.json": b"{}" for i in range(files_check.MAX_MEMBERS + 1)}
    assert "members" in problems(write_zip(tmp_path / "many.lwnet", members))


def test_missing_network_and_unexpected_member(tmp_path, saved_file):
    members = members_of(saved_file)
    del members["network.json"]
    members["notes.txt"] = b"hello"
    text = problems(write_zip(tmp_path / "m.lwnet", members))
    assert "network.json is missing" in text and "unexpected member 'notes.txt'" in text


def test_weights_with_an_invalid_network(tmp_path, saved_file):
    members = members_of(saved_file)
    network = json.loads(members["network.json"])
    network["edges"] = network["edges"][:-1]      # the output layer is cut off
    members["network.json"] = json.dumps(network)
    assert "has weights but its network is invalid" in problems(
        write_zip(tmp_path / "cut.lwnet", members))


def test_not_a_layerwise_json(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"format": "keras", "nodes": []}))
    assert "'keras'" in problems(path)
    path.write_text("{\"nodes\": [1,")
    assert "not valid JSON (line 1" in problems(path)
