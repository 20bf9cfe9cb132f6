"""A run that diverges keeps the last weights whose outputs on validation samples are finite
(the end of the last good epoch, or the start), says which, and blames NaN data, not the
learning rate, when the inputs are at fault."""
import math

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
