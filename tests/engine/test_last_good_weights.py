"""A run that diverges keeps the last weights whose outputs on validation samples are finite
(the end of the last good epoch, or the start), says which, and blames NaN data, not the
learning rate, when the inputs are at fault."""
import math

import numpy as np
import pytest
import torch

import engine


def _spec():
    return engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 16}), ("Tanh", {}),
                                                ("Linear", {"out_features": 2})])


class Poison(engine.Callback):
    """Keeps a copy of the weights at each epoch's end; makes them infinite at step `at`."""

    def __init__(self, at):
        self.at, self.kept = at, {}

    def on_epoch_end(self, run, event):
        self.kept[event.epoch] = {k: v.clone() for k, v in run.model.state_dict().items()}

    def on_batch_start(self, run, step):
        if step == self.at:
            with torch.no_grad():
                next(run.model.parameters()).fill_(math.inf)


def _diverge(at, epochs=3):
    data = engine.load_dataset("moons", samples=400)
    poison = Poison(at)
    config = engine.TrainConfig(epochs=epochs, batch_size=50, optimizer="adam")
    with pytest.raises(engine.TrainingError) as failed:
        engine.train(_spec(), data, config, callbacks=[poison])
    return failed.value, poison, data


def test_a_diverged_run_keeps_the_last_epoch_whose_outputs_were_finite():
    error, poison, data = _diverge(at=12)      # 7 steps an epoch: in epoch 2
    assert "The weights kept are those after epoch 1, the last whose outputs" in str(error)
    run = error.run
    assert run.status == "failed" and run.optimizer is None
    for key, value in run.model.state_dict().items():
        assert torch.equal(value, poison.kept[1][key])
    assert torch.isfinite(run.model(data.x)).all()


def test_divergence_in_the_first_epoch_keeps_the_initial_weights(tmp_path):
    error, _, data = _diverge(at=3)
    assert "those at the start of this run" in str(error)
    assert torch.isfinite(error.run.model(data.x)).all()
    error.run.save(tmp_path / "failed.lwnet")           # what a failed run writes opens
    assert engine.load(tmp_path / "failed.lwnet").optimizer_state is None


def test_nan_in_the_data_is_blamed_on_the_data_not_the_learning_rate():
    data = engine.load_dataset("moons", samples=200)
    data.x[::10, 1] = float("nan")
    with pytest.raises(engine.TrainingError) as failed:
        engine.train(_spec(), data, engine.TrainConfig(epochs=1, batch_size=20))
    message = str(failed.value)
    assert "the training data has NaN or infinite input values" in message
    assert "learning rate" not in message


def test_a_cpu_allocation_failure_is_reported_as_running_out_of_memory():
    class Greedy(engine.Callback):
        def on_batch_start(self, run, step):
            torch.empty(10 ** 14)           # 400 TB: the CPU allocator refuses

    with pytest.raises(engine.TrainingError, match="ran out of memory at step 1: lower the "
                                                   "batch size"):
        engine.train(_spec(), engine.load_dataset("moons", samples=100),
                     engine.TrainConfig(epochs=1), callbacks=[Greedy()])


class OverflowState(Poison):
    """Keeps the weights as Poison does, but makes Adam's running average of squared
    gradients infinite after step `at` (as gradients too large for float32 squares do while
    the loss and weights stay finite), leaving the weights be."""

    def on_batch_start(self, run, step):
        pass

    def on_after_backward(self, run, step):
        if step == self.at:
            state = run.optimizer.state[next(run.model.parameters())]
            state["exp_avg_sq"].fill_(math.inf)


def test_an_overflowed_optimizer_state_fails_the_run_and_keeps_a_savable_one(tmp_path):
    """Before, such a run 'finished' and then could not be saved at all."""
    data = engine.load_dataset("moons", samples=400)
    spy = OverflowState(at=12)                 # epoch 2: 7 steps of 50 an epoch
    config = engine.TrainConfig(epochs=3, batch_size=50, optimizer="adam")
    with pytest.raises(engine.TrainingError, match="adam optimizer's running averages of the "
                                                   "gradients overflowed to infinity during "
                                                   "epoch 2") as failed:
        engine.train(_spec(), data, config, callbacks=[spy])
    run = failed.value.run
    assert run.status == "failed" and "after epoch 1" in run.message
    state = run.model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in spy.kept[1].items())
    run.save(tmp_path / "failed.lwnet")
    saved = engine.load(tmp_path / "failed.lwnet")
    assert saved.model is not None and saved.optimizer_state is None


def test_inputs_whose_gradients_overflow_adam_fail_clearly_without_an_error_of_their_own():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(64, 2)) * 1e11, dtype=torch.float32)
    data = engine.Dataset("huge", x, torch.tensor(rng.normal(size=(64, 1)), dtype=torch.float32),
                          "regression")
    spec = engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 1})])
    config = engine.TrainConfig(epochs=2, batch_size=64, probe_every=0, val_fraction=0.0)
    with pytest.raises(engine.TrainingError, match="overflowed to infinity during epoch 1"):
        engine.train(spec, data, config)
