"""Data sets: built-in generators, the bundled digits, the user's files, splits and shapes."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

import engine
from engine.data import CLASSIFICATION, REGRESSION, load_dataset
from engine.data.idx import find_labels, read_idx, write_idx

BUILT_IN = ["moons", "circles", "spiral", "xor", "gaussians", "parity", "sine", "sequence-parity",
            "adding"]


@pytest.mark.parametrize("name", BUILT_IN)
def test_built_in_sets_are_seeded_and_described(name):
    a, b = load_dataset(name), load_dataset(name)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    info = {i.name: i for i in engine.datasets()}[name]
    assert a.input_shape == info.input_shape and a.task == info.task
    assert a.x.dtype == torch.float32 and torch.isfinite(a.x).all()
    if "seed" in {o.name for o in info.options}:
        assert not torch.equal(a.x, load_dataset(name, seed=1).x)
    if a.task == CLASSIFICATION:
        assert a.y.dtype == torch.int64 and int(a.y.max()) == a.n_classes - 1
        assert torch.bincount(a.y).min() > 0.25 * len(a) / a.n_classes   # roughly balanced


def test_options_change_the_data():
    assert len(load_dataset("moons", samples=123)) == 123
    spiral = load_dataset("spiral", classes=5)
    assert spiral.n_classes == 5
    quiet, noisy = load_dataset("circles", noise=0.0), load_dataset("circles", noise=0.3)
    radii = quiet.x.norm(dim=1)
    assert torch.allclose(radii[quiet.y == 0], torch.ones(1), atol=1e-5)
    assert torch.allclose(radii[quiet.y == 1], torch.tensor(0.5), atol=1e-5)
    assert noisy.x.norm(dim=1)[noisy.y == 0].std() > 0.1


def test_parity_holds_every_pattern_once_with_its_parity():
    ds = load_dataset("parity", bits=5)
    assert len(ds) == 32 and ds.input_shape == (5,)
    assert len({tuple(r) for r in ds.x.tolist()}) == 32
    assert torch.equal(ds.y, ds.x.sum(1).long() % 2)


def test_sine_is_regression_of_the_chosen_function():
    ds = load_dataset("sine", function="abs", samples=50)
    assert ds.task == REGRESSION and ds.target_shape == (1,) and ds.n_classes is None
    assert torch.allclose(ds.y, ds.x.abs() - 1.5, atol=1e-6)


@pytest.mark.parametrize("options, words", [
    ({"colour": 1}, "no option 'colour'"),
    ({"samples": 2}, "between 4"),
    ({"samples": 10.5}, "whole number"),
    ({"noise": "lots"}, "a number"),
])
def test_bad_options_say_what_is_wrong(options, words):
    with pytest.raises(engine.DatasetError, match=words):
        load_dataset("moons", **options)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(engine.DatasetError, match="did you mean 'moons'"):
        load_dataset("moon")
    with pytest.raises(engine.DatasetError, match="bits must be between 2 and 16"):
        load_dataset("parity", bits=17)
    with pytest.raises(engine.DatasetError, match="not as int"):
        load_dataset(3)


def test_bundled_digits():
    ds = load_dataset("mnist-5k")
    assert len(ds) == 5000 and ds.input_shape == (1, 28, 28) and ds.n_classes == 10
    assert torch.bincount(ds.y).tolist() == [500] * 10
    assert abs(float(ds.x.mean())) < 1e-3 and abs(float(ds.x.std()) - 1) < 1e-3
    norm = ds.normalisation
    assert norm["kind"] == "standardise" and abs(norm["scale"] - 1 / 255) < 1e-12
    raw = np.load(Path(engine.__file__).parents[1] / "resources/data/mnist-5k.npz")
    assert raw["images"].dtype == np.uint8
    expected = (raw["images"][:3] / 255.0 - norm["mean"]) / norm["std"]
    assert np.allclose(ds.x[:3, 0].numpy(), expected, atol=1e-5)
    assert (Path(engine.__file__).parents[1] / "resources/data/mnist-5k.npz").stat().st_size \
        < 1_100_000


def test_split_is_seeded_disjoint_and_complete():
    ds = load_dataset("moons", samples=100)
    train, val = ds.split(0.2, seed=3)
    assert len(val) == 20 and len(train) == 80
    assert sorted(torch.cat([train, val]).tolist()) == list(range(100))
    assert torch.equal(val, ds.split(0.2, seed=3)[1])
    assert not torch.equal(val, ds.split(0.2, seed=4)[1])
    with pytest.raises(engine.DatasetError, match="validation fraction"):
        ds.split(1.0)


def test_input_shape_is_checked_against_the_network():
    ds = load_dataset("moons")
    with pytest.raises(engine.DatasetError, match=r"Input has shape \[1, 28, 28\].*\[2\]"):
        ds.fit_input((1, 28, 28))
    flat = load_dataset("parity", bits=4).fit_input((1, 2, 2))   # same size: reshaped
    assert flat.input_shape == (1, 2, 2)


# ----------------------------------------------------------------------------- CSV

def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_with_header_and_named_classes(tmp_path):
    path = _write(tmp_path, "iris.csv", "a,b,species\n1,2,cat\n3,4,dog\n5,6,cat\n")
    ds = load_dataset(path)
    assert ds.task == CLASSIFICATION and ds.classes == ["cat", "dog"]
    assert ds.y.tolist() == [0, 1, 0] and ds.input_shape == (2,)
    col = np.array([1.0, 3.0, 5.0])
    assert np.allclose(ds.x[:, 0].numpy(), (col - col.mean()) / col.std(), atol=1e-6)


def test_csv_label_column_by_name_or_index_and_regression(tmp_path):
    path = _write(tmp_path, "t.csv", "y,x1,x2\n0.5,1,2\n1.5,3,4\n2.25,5,7\n")
    ds = load_dataset(path, label="y", normalise="none")
    assert ds.task == REGRESSION and ds.y[:, 0].tolist() == [0.5, 1.5, 2.25]
    assert ds.x.tolist() == [[1, 2], [3, 4], [5, 7]]
    ds0 = load_dataset(path, label=0, normalise="none")
    assert torch.equal(ds0.x, ds.x)
    no_header = _write(tmp_path, "n.csv", "1,2,0\n3,4,1\n5,6,2\n")
    assert load_dataset(no_header).n_classes == 3 and len(load_dataset(no_header)) == 3


@pytest.mark.parametrize("text, words", [
    ("1,2,0\n3,4\n", r"line 2: 2 values"),
    ("1,2,0\n3,x,1\n", r"line 2, column 2: 'x' is not a number"),
    ("1,2,0\n\n3,4,-1\n", r"line 3: label '-1' is out of range"),
    ("", "empty"),
])
def test_bad_csv_names_the_file_and_line(tmp_path, text, words):
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(engine.DatasetError, match=words) as info:
        load_dataset(path)
    assert "bad.csv" in str(info.value)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(engine.DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nope.csv")
    with pytest.raises(engine.DatasetError, match="not a data file"):
        load_dataset(_write(tmp_path, "x.json", "{}"))


# ----------------------------------------------------------------------------- NPZ

def test_npz_inputs_and_labels(tmp_path):
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    np.savez(tmp_path / "d.npz", X=x, y=np.array([0, 1, 2, 0, 1, 2]))
    ds = load_dataset(tmp_path / "d.npz", normalise="none")
    assert ds.n_classes == 3 and torch.equal(ds.x, torch.from_numpy(x))
    np.savez(tmp_path / "r.npz", X=x, y=np.linspace(0, 1, 6))
    assert load_dataset(tmp_path / "r.npz").task == REGRESSION


@pytest.mark.parametrize("arrays, words", [
    ({"X": np.zeros((3, 2))}, "no array y"),
    ({"X": np.zeros((3, 2)), "y": np.zeros(4, dtype=int)}, "3 inputs but 4 labels"),
    ({"X": np.zeros((0, 2)), "y": np.zeros(0, dtype=int)}, "empty"),
    ({"X": np.zeros((2, 2)), "y": np.array([0, 12000])}, "regression task"),
])
def test_bad_npz(tmp_path, arrays, words):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(engine.DatasetError, match=words):
        load_dataset(tmp_path / "bad.npz")


# ----------------------------------------------------------------------------- IDX

@pytest.mark.parametrize("compress", [False, True])
def test_idx_pair(tmp_path, compress):
    images = np.random.default_rng(0).integers(0, 256, (7, 5, 6), dtype=np.uint8)
    labels = np.array([0, 1, 2, 3, 1, 0, 2], dtype=np.uint8)
    suffix = ".gz" if compress else ""
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, compress)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, compress)
    image_path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    assert find_labels(image_path) == tmp_path / f"train-labels-idx1-ubyte{suffix}"
    assert np.array_equal(read_idx(image_path), images)
    for source in (image_path, tmp_path):      # the file, or the folder holding the pair
        ds = load_dataset(source)
        assert ds.input_shape == (1, 5, 6) and ds.y.tolist() == labels.tolist()


def test_damaged_idx(tmp_path):
    path = tmp_path / "x-images-idx3-ubyte"
    write_idx(path, np.zeros((2, 3, 3), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(engine.DatasetError, match="damaged IDX"):
        read_idx(path)
    (tmp_path / "junk-idx3").write_bytes(b"hello")
    with pytest.raises(engine.DatasetError, match="not an IDX file"):
        read_idx(tmp_path / "junk-idx3")
    with gzip.open(tmp_path / "lonely-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(b"\0\0\x08\x03")
    with pytest.raises(engine.DatasetError, match="no label file"):
        load_dataset(tmp_path / "lonely-images-idx3-ubyte.gz")


# ----------------------------------------------------------------------------- images

def test_image_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(1)
    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (4, 5), dtype=np.uint8)).save(
                tmp_path / cls / f"{i}.png")
    ds = load_dataset(tmp_path)
    assert ds.classes == ["cats", "dogs"] and ds.input_shape == (1, 4, 5)
    assert ds.y.tolist() == [0, 0, 0, 1, 1, 1]
    Image.fromarray(np.zeros((6, 6), dtype=np.uint8)).save(tmp_path / "dogs" / "big.png")
    with pytest.raises(engine.DatasetError, match="big.png' is 6x6"):
        load_dataset(tmp_path)
    assert load_dataset(tmp_path, size=[3, 3]).input_shape == (1, 3, 3)


def test_image_folder_without_pillow_says_what_to_install(tmp_path, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        (tmp_path / cls / "0.png").write_bytes(b"not really")
    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(engine.DatasetError, match="Pillow"):
        load_dataset(tmp_path)


@pytest.mark.parametrize("scale", [1e160, 1e300, 1e-300])
@pytest.mark.parametrize("normalise", ["features", "global"])
def test_values_near_the_limits_of_float64_are_standardised_not_zeroed(tmp_path, scale,
                                                                       normalise):
    """Their squares overflow (or vanish): the standard deviation was infinite (or 0) and
    every input became 0 without a word."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    np.savez(tmp_path / "d.npz", X=x * scale, y=(x[:, 0] > 0).astype(int))
    got = engine.load_dataset(tmp_path / "d.npz", normalise=normalise).x.numpy()
    axis = None if normalise == "global" else 0
    expected = (x - x.mean(axis)) / x.std(axis)
    assert np.allclose(got, expected, atol=1e-5)


def test_inputs_too_small_for_32_bit_floats_are_refused_not_zeroed(tmp_path):
    x = np.random.default_rng(0).normal(size=(50, 2)) * 1e-300
    np.savez(tmp_path / "d.npz", X=x, y=(x[:, 0] > 0).astype(int))
    with pytest.raises(engine.DatasetError, match="too close to 0 for 32-bit floats"):
        engine.load_dataset(tmp_path / "d.npz", normalise="none")


def test_a_data_file_is_recorded_by_its_absolute_path(tmp_path, monkeypatch):
    """A run continued from another folder reads the same file, not one of the same name."""
    x = np.random.default_rng(0).normal(size=(50, 2))
    np.savez(tmp_path / "d.npz", X=x, y=(x[:, 0] > 0).astype(int))
    monkeypatch.chdir(tmp_path)
    data = engine.load_dataset("d.npz")
    assert data.reference()["name"] == str(tmp_path / "d.npz")
    assert data.name == "d.npz"
