"""Settings are checked wherever they enter: a field changed after the settings were made is
checked again when a run starts, a bound a setting declares is the bound it is held to, and a
Lab's base seed leaves room for the seeds its arms train with."""
import pytest

import engine
from engine.lab.common import SEEDS, check_seed
from engine.run.config import MAX_SEED


def toy():
    return engine.load("resources/examples/toy_2d.json").spec


def test_a_seed_takes_its_whole_declared_range():
    assert engine.TrainConfig(seed=MAX_SEED).seed == MAX_SEED
    assert engine.TrainConfig(seed=2_000_000_000).seed == 2_000_000_000
    with pytest.raises(engine.TrainingError, match=f"from 0 to {MAX_SEED}; got {MAX_SEED + 1}"):
        engine.TrainConfig(seed=MAX_SEED + 1)
    with pytest.raises(engine.TrainingError, match="from 1 to 1000000; got 1000001"):
        engine.TrainConfig(epochs=1_000_001)


@pytest.mark.parametrize("field, value, words", [
    ("epochs", -3, "epochs must be a whole number from 1"),
    ("epochs", "2", "epochs must be a whole number"),
    ("batch_size", 0, "batch_size must be"),
    ("lr", float("nan"), "lr must be a number above 0"),
    ("lr", 1000.0, "lr must be a number above 0 and at most 10"),
    ("optimizer", "lbfgs", "optimizer must be one of"),
    ("seed", -5, "seed must be"),
    ("probe_every", -1, "probe_every must be"),
])
def test_a_setting_changed_after_the_config_was_made_is_checked_when_a_run_starts(
        field, value, words):
    config = engine.TrainConfig(epochs=1)
    setattr(config, field, value)
    with pytest.raises(engine.TrainingError, match=words):
        engine.train(toy(), engine.load_dataset("moons", samples=64), config)


def test_a_recipe_changed_after_it_was_made_is_checked_when_it_runs():
    recipe = engine.Recipe(train=engine.TrainConfig(epochs=1),
                           data=engine.DataRef("moons", {"samples": 64}))
    recipe.train.epochs = 0
    with pytest.raises(engine.TrainingError, match="epochs must be"):
        engine.run_recipe(toy(), recipe)


def test_the_labs_seed_leaves_room_for_the_seeds_of_its_arms():
    top = MAX_SEED - SEEDS + 1
    assert check_seed(0) == 0 and check_seed(top) == top
    for wrong in (-1, top + 1, 1.5, True, "3"):
        with pytest.raises(engine.LayerwiseError, match=f"from 0 to {top:,}"):
            check_seed(wrong)
    with pytest.raises(engine.LayerwiseError, match="Lab's seed"):
        engine.lab.run_experiment("cnn-vs-mlp", quick=True, seed=top + 1)


@pytest.mark.parametrize("callbacks, control, words", [
    (print, None, "callbacks must be a list .* not a builtin_function_or_method"),
    ([5], None, "got a int"),
    ((), 5, "control must be an engine.Control, not int"),
])
def test_callbacks_and_control_of_the_wrong_kind_are_named(callbacks, control, words):
    with pytest.raises(engine.TrainingError, match=words):
        engine.train(toy(), engine.load_dataset("moons", samples=64),
                     engine.TrainConfig(epochs=1), callbacks=callbacks, control=control)
