"""Greedy layer-wise pre-training: frozen blocks, falling stage losses, the original spec kept."""
import numpy as np
import pytest
import torch

import engine
from engine.data.dataset import CLASSIFICATION, make_dataset
from engine.run.pretrain import pretrain
from engine.run.events import StageEvent


pytestmark = pytest.mark.usefixtures("one_thread")


def blobs(n=400, shape=(8,), classes=3, seed=0, unit=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centres = rng.normal(0, 1, (classes, int(np.prod(shape))))
    x = centres[y] + rng.normal(0, 0.5, (n, int(np.prod(shape))))
    if unit:
        x = 1 / (1 + np.exp(-x))
    return make_dataset("blobs", x.reshape(n, *shape), y, CLASSIFICATION)


def deep_sigmoid(width=16, depth=3, inputs=8, classes=3):
    layers = []
    for _ in range(depth):
        layers += [("Linear", {"out_features": width, "init": "uniform"}), ("Sigmoid", {})]
    return engine.NetworkSpec.sequential((inputs,), layers + [("Linear", {"out_features":
                                                                          classes})])


def snapshots_per_stage(spec, data, **kwargs):
    snaps = {}

    def on_event(event):
        if isinstance(event, StageEvent):
            snaps[event.stage] = {k: v.clone() for k, v in
                                  result_holder["model"].state_dict().items()}
    torch.manual_seed(0)
    model = engine.build(spec)
    result_holder = {"model": model}
    result = pretrain(model, data, callbacks=[on_event], **kwargs)
    return result, snaps


@pytest.mark.parametrize("mode", ["supervised", "unsupervised"])
def test_frozen_blocks_do_not_change_and_each_stage_learns(mode):
    spec = deep_sigmoid()
    result, snaps = snapshots_per_stage(spec, blobs(), mode=mode, epochs=3, lr=0.01)
    final = result.model.state_dict()
    stages = result.history["stages"]
    assert [s["node"] for s in stages] == ["linear_1", "linear_2", "linear_3"]
    for k, stage in enumerate(stages, start=1):
        for earlier in stages[:k - 1]:
            for key in (f"layers.{earlier['node']}.weight", f"layers.{earlier['node']}.bias"):
                assert torch.equal(snaps[k][key], final[key]), f"{key} moved in stage {k}"
        key = f"layers.{stage['node']}.weight"
        assert not torch.equal(snaps[k][key], final[key]), f"stage {k} did not train"
        assert stage["val_loss"][-1] < stage["initial_val_loss"]
        assert stage["loss"][-1] < stage["loss"][0]
        assert stage["mode"] == mode
    out_key = "layers.linear_4.weight"      # the output block is left to fine-tuning
    assert torch.equal(snaps[1][out_key], final[out_key])
    assert result.status == "finished"


def test_unsupervised_loss_is_bce_for_unit_inputs_and_mse_otherwise():
    result = pretrain(deep_sigmoid(), blobs(unit=False), mode="unsupervised", epochs=1)
    assert [s["loss_name"] for s in result.history["stages"]] == ["mse", "bce", "bce"]
    result = pretrain(deep_sigmoid(), blobs(unit=True), mode="unsupervised", epochs=1)
    assert result.history["stages"][0]["loss_name"] == "bce"


def test_result_keeps_the_original_spec_and_fine_tunes_with_stages_in_history():
    spec = deep_sigmoid()
    data = blobs()
    result = pretrain(spec, data, mode="unsupervised", epochs=1, tied=True, noise=0.3)
    assert result.model.spec == spec
    assert set(result.model.state_dict()) == set(engine.build(spec).state_dict())
    assert all(p.requires_grad for p in result.model.parameters())
    run = engine.train(result, data, engine.TrainConfig(epochs=1, probe_every=0))
    assert len(run.history["stages"]) == 3 and len(run.history["epochs"]) == 1


def test_convolutional_chains_work():
    spec = engine.NetworkSpec.sequential((1, 12, 12), [
        ("Conv2d", {"out_channels": 4, "kernel_size": 5, "padding": 2}), ("ReLU", {}),
        ("MaxPool2d", {"kernel_size": 2}),
        ("Conv2d", {"out_channels": 6, "kernel_size": 3, "stride": 2}), ("Tanh", {}),
        ("Flatten", {}), ("Linear", {"out_features": 10}), ("Sigmoid", {}),
        ("Linear", {"out_features": 3})])
    data = blobs(n=120, shape=(1, 12, 12))
    for mode in ("unsupervised", "supervised"):
        for tied in (False, True):
            result = pretrain(spec, data, mode=mode, epochs=2, tied=tied, lr=0.01)
            stages = result.history["stages"]
            assert [s["node"] for s in stages] == ["conv2d_1", "conv2d_2", "linear_1"]
            assert all(s["val_loss"][-1] < s["initial_val_loss"] for s in stages), stages


def test_branching_networks_are_refused_naming_the_node():
    spec = engine.load("resources/examples/residual.json").spec
    with pytest.raises(engine.SpecError) as info:
        pretrain(spec, blobs(shape=(1, 28, 28), n=20), epochs=1)
    assert info.value.node_id is not None and "simple chain" in str(info.value)
    assert spec.label(info.value.node_id) in str(info.value)


def test_one_weighted_layer_is_nothing_to_pretrain():
    spec = engine.NetworkSpec.sequential((8,), [("Linear", {"out_features": 3})])
    with pytest.raises(engine.SpecError, match="at least two weighted layers"):
        pretrain(spec, blobs(), epochs=1)


def test_bad_settings_are_refused():
    with pytest.raises(engine.TrainingError, match="mode must be one of 'none', 'supervised', 'unsupervised'"):
        pretrain(deep_sigmoid(), blobs(), mode="greedy")
    with pytest.raises(engine.TrainingError, match="noise"):
        pretrain(deep_sigmoid(), blobs(), noise=1.5)


def test_stop_ends_at_a_batch_boundary_with_a_usable_model():
    control = engine.Control()

    def stop_in_stage_two(event):
        if isinstance(event, StageEvent) and event.stage == 2:
            control.stop()
    result = pretrain(deep_sigmoid(), blobs(), epochs=2, callbacks=[stop_in_stage_two],
                      control=control)
    assert result.status == "stopped" and len(result.history["stages"]) == 2
    assert result.history["stages"][1]["loss"] == []
    assert result.model(torch.zeros(2, 8)).shape == (2, 3)


def test_comparison_shares_initial_weights_seed_and_data_order():
    from engine.run.compare import compare_pretraining
    spec = deep_sigmoid()
    data = blobs()
    cfg = engine.TrainConfig(epochs=2, optimizer="sgd", lr=0.5, probe_every=0, seed=4)
    starts = []

    class AtStart(engine.Callback):            # where training (fine-tuning) starts
        def on_epoch_start(self, run, epoch):
            if epoch == 1:
                starts.append({k: v.clone() for k, v in run.model.state_dict().items()})
    recipe = engine.Recipe(cfg, engine.PretrainConfig(epochs=2))
    cmp = compare_pretraining(spec, recipe, modes=("supervised",), dataset=data,
                              callbacks=[AtStart()])
    assert list(cmp.runs) == ["random", "supervised"]
    torch.manual_seed(4)
    initial = engine.build(spec).state_dict()
    random_start, pretrained_start = starts
    assert all(torch.equal(random_start[k], initial[k]) for k in initial)
    # pre-training changed the hidden layers but not the output layer, which fine-tuning owns
    assert not torch.equal(pretrained_start["layers.linear_1.weight"],
                           initial["layers.linear_1.weight"])
    assert torch.equal(pretrained_start["layers.linear_4.weight"],
                       initial["layers.linear_4.weight"])
    again = engine.train(spec, data, cfg)          # same seed: the same data order and losses
    assert [e["train_loss"] for e in again.history["epochs"]] == \
        [e["train_loss"] for e in cmp.runs["random"].history["epochs"]]
    rows = {r["run"]: r for r in cmp.table()}
    assert set(rows) == {"random", "supervised"} and rows["supervised"]["pretrain_seconds"] > 0
    assert len(cmp.runs["supervised"].history["stages"]) == 3


def test_unsupervised_pretraining_refuses_a_layer_it_has_no_decoder_for_before_training():
    """A Conv1d block has no mirror in the decoders (made for Linear and Conv2d): the run is
    refused by name before any step; supervised pre-training, which needs no mirror, runs."""
    spec = engine.load("resources/examples/cnn1d_adding.json").spec
    data = engine.DataRef("adding", {"samples": 120})
    recipe = engine.Recipe(train=engine.TrainConfig(epochs=1),
                           pretrain=engine.PretrainConfig(mode="unsupervised", epochs=1),
                           data=data)
    steps = []
    with pytest.raises(engine.TrainingError, match="Conv1d 1 is a Conv1d: use supervised"):
        engine.run_recipe(spec, recipe, callbacks=[lambda e: steps.append(e)
                                                   if isinstance(e, engine.StepEvent) else None])
    assert steps == []
    supervised = recipe.replace(pretrain=engine.PretrainConfig(mode="supervised", epochs=1))
    assert engine.run_recipe(spec, supervised).status == "finished"
