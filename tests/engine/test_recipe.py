"""The recipe: one owner of a run's settings, validated by its Params, stored in .lwnet files
(older files migrated), and run by engine.run_recipe with pre-training as stages of the loop."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

import engine
from engine.run.stages import stage_config
from recipe_params import NUMERIC, out_of_range

ROOT = Path(__file__).resolve().parents[2]
RELEASE1 = ROOT / "tests" / "data" / "release1.lwnet"   # saved by the first release's window
CHAIN = [("Linear", {"out_features": 8}), ("Tanh", {}), ("Linear", {"out_features": 6}),
         ("Tanh", {}), ("Linear", {"out_features": 2})]


pytestmark = pytest.mark.usefixtures("one_thread")


def chain():
    return engine.NetworkSpec.sequential((2,), CHAIN, name="chain")


def recipe(**pretrain):
    return engine.Recipe(engine.TrainConfig(epochs=2, batch_size=16, lr=0.05, probe_every=3,
                                            seed=2),
                         engine.PretrainConfig(**{"mode": "supervised", "epochs": 2, **pretrain}),
                         engine.DataRef("moons", {"samples": 160}))


@pytest.mark.parametrize("part, param", NUMERIC, ids=[f"{a}.{p.name}" for a, p in NUMERIC])
def test_every_setting_refuses_a_value_out_of_range_naming_the_range(part, param):
    kind = {"train": engine.TrainConfig, "pretrain": engine.PretrainConfig}.get(part)
    value = out_of_range(param)
    with pytest.raises(engine.TrainingError) as info:
        kind(**{param.name: value}) if kind else engine.Recipe(**{param.name: value})
    assert param.expected() in str(info.value) and param.name in str(info.value)


def test_nothing_silently_changes_what_was_given():
    with pytest.raises(engine.TrainingError, match="lr must be a number above 0"):
        engine.TrainConfig(lr=-1)
    with pytest.raises(engine.TrainingError, match="batch_size must be a whole number from 1"):
        engine.TrainConfig(batch_size=0)
    with pytest.raises(engine.TrainingError, match="noise must be a number from 0 to 0.95"):
        engine.PretrainConfig(noise=1.0)


def test_a_recipe_round_trips_through_its_dict_its_flat_form_and_a_file(tmp_path):
    r = recipe(mode="unsupervised", noise=0.1, tied=True, batch_size=8).replace(threads=1)
    assert engine.Recipe.from_dict(r.to_dict()) == r
    assert engine.Recipe.from_dict(r.flat()) == r
    engine.save(tmp_path / "r.lwnet", chain(), recipe=r)
    assert engine.load(tmp_path / "r.lwnet").recipe == r


def test_a_file_of_the_first_release_opens_with_its_settings_as_a_recipe(tmp_path):
    saved = engine.load(RELEASE1)
    assert saved.recipe == engine.Recipe(
        engine.TrainConfig(epochs=2, batch_size=16, optimizer="sgd+momentum", lr=0.05, seed=3,
                           probe_every=5),
        engine.PretrainConfig(mode="unsupervised", epochs=2, lr=None, noise=0.3, tied=True),
        engine.DataRef("moons", {"samples": 200, "noise": 0.1, "seed": 0}))
    run = engine.run_recipe(saved, saved.recipe.with_settings(train={"epochs": 1},
                                                               pretrain={"mode": "none"}))
    assert [e["epoch"] for e in run.history["epochs"]] == [1, 2, 3]    # it continues
    again = engine.load(run.save(tmp_path / "again.lwnet"))
    assert again.recipe.train == run.config and again.recipe.pretrain.tied


def test_pretraining_runs_on_the_loop_with_probes_and_then_training():
    run = engine.run_recipe(chain(), recipe())
    stages = run.history["stages"]
    assert [s["node"] for s in stages] == ["linear_1", "linear_2"]
    for s in stages:
        assert s["steps"] == 2 * math.ceil(144 / 16) and len(s["loss"]) == 2
        assert s["probes"]["step"] == [1, 4, 7, 10, 13, 16]     # every 3 steps of the stage
        grads = s["probes"]["layers"][s["node"]]["grad_norm"]
        assert all(g > 0 for g in grads)                       # the block being trained
    frozen = stages[1]["probes"]["layers"]["linear_1"]
    assert "grad_norm" not in frozen and frozen["weight_norm"]   # frozen in stage 2: no gradient
    assert len(frozen["weight_norm"]) == 6
    assert len(run.history["epochs"]) == 2 and run.history["steps"][0]["step"] == 1
    assert run.history["runs"][-1]["start_step"] == 0 and run.recipe.pretrain.active


def test_the_events_of_a_recipe_come_in_order_and_typed():
    seen = []
    engine.run_recipe(chain(), recipe(epochs=1).with_settings(train={"epochs": 1}),
                      callbacks=[lambda e: seen.append(e) if not isinstance(
                          e, (engine.StepEvent, engine.ProbeEvent)) else None])
    kinds = [type(e).__name__ for e in seen]
    assert kinds == ["PhaseEvent", "StageEvent", "StageEpochEvent", "StageEvent",
                     "StageEpochEvent", "PhaseEvent", "EpochEvent", "FinishedEvent"]
    assert [e.phase for e in seen if isinstance(e, engine.PhaseEvent)] == ["pretrain", "train"]


def test_a_nan_in_pretraining_stops_with_the_stage_named_and_the_weights_kept():
    data = engine.load_dataset("moons", samples=160)
    huge = replace(data, x=data.x * 1e30)
    with pytest.raises(engine.TrainingError) as info:
        engine.run_recipe(chain(), recipe(mode="unsupervised"), dataset=huge)
    assert "the pre-training loss of Linear 1 became" in str(info.value)
    assert "lower pre-training learning rate (now 0.001)" in str(info.value)
    run = info.value.run
    assert all(torch.isfinite(p).all() for p in run.model.parameters())
    assert run.history["status"] == "failed" and not run.history["epochs"]


def test_gradient_clipping_reaches_the_pretraining_stages():
    settings = engine.PretrainConfig(mode="supervised", epochs=1, optimizer="sgd", lr=0.1)
    torch.manual_seed(2)
    before = engine.build(chain()).state_dict()
    pre = engine.pretrain(chain(), "moons", settings,
                          train=engine.TrainConfig(grad_clip=1e-6, seed=2, probe_every=0))
    moved = (pre.model.state_dict()["layers.linear_1.weight"] -
             before["layers.linear_1.weight"]).abs().max().item()
    steps = pre.history["stages"][0]["steps"]
    assert 0 < moved <= steps * 0.1 * 1e-6 * 1.01         # each step at most lr x the clip


def test_stop_reaches_the_pretraining_stages():
    control = engine.Control()

    def on_event(event):
        if isinstance(event, engine.StepEvent) and event.stage == 1 and event.step == 3:
            control.stop()
    run = engine.run_recipe(chain(), recipe(), callbacks=[on_event], control=control)
    full = engine.run_recipe(chain(), recipe()).history["stages"][0]["steps"]
    # steps are read in batches (engine.run.pending): the stop lands at the step being read
    assert run.status == "stopped" and 3 <= run.history["stages"][0]["steps"] < full
    assert not run.history["epochs"]                           # training never began


def test_stage_settings_come_from_the_pretraining_part_and_the_shared_ones():
    r = recipe(optimizer="sgd", lr=0.3, batch_size=4)
    cfg = stage_config(r.train, r.pretrain, 2)
    assert (cfg.optimizer, cfg.lr, cfg.batch_size, cfg.epochs) == ("sgd", 0.3, 4, 2)
    assert (cfg.device, cfg.probe_every, cfg.val_fraction) == ("auto", 3, 0.1)
    assert stage_config(r.train, recipe().pretrain, 1).batch_size == 16    # as training's
    assert (r.pretrain.learning_rate, recipe().pretrain.learning_rate) == (0.3, 0.001)


def test_pretraining_a_network_that_already_trained_is_refused():
    run = engine.run_recipe(chain(), recipe(mode="none"))
    with pytest.raises(engine.TrainingError, match="pre-training starts from new weights"):
        engine.run_recipe(run, recipe())
