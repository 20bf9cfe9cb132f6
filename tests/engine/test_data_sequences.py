"""The sequence tasks generated from a seed: parity of a bit stream and the adding problem."""
from __future__ import annotations

import pytest
import torch

import engine
from engine.data import REGRESSION, load_dataset
from engine.data import limits


def test_sequence_parity_labels_the_parity_of_each_stream():
    ds = load_dataset("sequence-parity", samples=300, steps=9)
    assert ds.x.shape == (300, 9, 1) and ds.input_shape == (9, 1)
    assert set(ds.x.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(ds.y, ds.x.sum(dim=(1, 2)).long() % 2)
    assert ds.classes == ["even", "odd"] and ds.n_classes == 2


def test_sequence_parity_as_token_ids_is_the_same_data():
    values = load_dataset("sequence-parity", samples=50, steps=7, seed=3)
    ids = load_dataset("sequence-parity", samples=50, steps=7, seed=3, form="ids")
    assert ids.input_shape == (7,) and torch.equal(ids.x, values.x[:, :, 0])
    assert torch.equal(ids.y, values.y)
    assert ids.reference() == {"name": "sequence-parity", "options": {
        "samples": 50, "steps": 7, "form": "ids", "seed": 3}}


def test_adding_marks_one_number_in_each_half_and_sums_them():
    ds = load_dataset("adding", samples=200, steps=10)
    assert ds.task == REGRESSION and ds.input_shape == (10, 2) and ds.target_shape == (1,)
    values, marks = ds.x[:, :, 0], ds.x[:, :, 1]
    assert values.min() >= 0 and values.max() <= 1
    assert torch.equal(marks[:, :5].sum(1), torch.ones(200))
    assert torch.equal(marks[:, 5:].sum(1), torch.ones(200))
    assert torch.allclose(ds.y[:, 0], (values * marks).sum(1), atol=1e-6)
    shortest = load_dataset("adding", samples=20, steps=2)
    assert torch.equal(shortest.x[:, :, 1], torch.ones(20, 2))


def test_registry_shapes_match_the_default_data():
    infos = {i.name: i for i in engine.datasets()}
    for name in ("sequence-parity", "adding"):
        ds = load_dataset(name)
        assert ds.input_shape == infos[name].input_shape
        assert len(ds) == 2000 and infos[name].samples == "2,000"


@pytest.mark.parametrize("name, options, words", [
    ("sequence-parity", {"steps": 1}, "steps must be between 2 and 1000"),
    ("sequence-parity", {"form": "bits"}, "form must be one of values, ids"),
    ("adding", {"steps": 3.5}, "whole number"),
    ("adding", {"noise": 0.1}, "no option 'noise'"),
])
def test_bad_sequence_options_say_what_is_wrong(name, options, words):
    with pytest.raises(engine.DatasetError, match=words):
        load_dataset(name, **options)


def test_sequences_beyond_the_memory_budget_are_refused_before_generating(monkeypatch):
    monkeypatch.setattr(limits, "MEMORY_BUDGET", 1000 * 50 * 2 * limits.BYTES_PER_VALUE - 1)
    with pytest.raises(engine.DatasetError, match="1,000 samples of 50 steps.*fewer samples"):
        load_dataset("adding", samples=1000)
    assert len(load_dataset("adding", samples=999)) == 999
