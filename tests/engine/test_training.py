"""engine.train: results, determinism, resume, control, failures, events — on tiny networks."""
from __future__ import annotations

import math
import threading
import time

import pytest
import torch

import engine
from engine.run.history import without_timing

DATA = ("moons", {"samples": 200})


def net(act="Tanh", hidden=16, out=2, inputs=2, depth=1):
    layers = []
    for _ in range(depth):
        layers += [("Linear", {"out_features": hidden}), (act, {})]
    return engine.NetworkSpec.sequential((inputs,), layers + [("Linear", {"out_features": out})])


def moons():
    return engine.load_dataset(DATA[0], **DATA[1])


def cfg(**kw):
    base = dict(epochs=2, batch_size=16, lr=0.05, probe_every=3)
    base.update(kw)
    return engine.TrainConfig(**base)


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_a_run_learns_and_records_its_history():
    run = engine.train(net(), moons(), cfg(epochs=5))
    h = run.history
    assert run.status == h["status"] == "finished" and not run.stopped
    assert [e["epoch"] for e in h["epochs"]] == [1, 2, 3, 4, 5]
    assert len(h["steps"]) == 5 * math.ceil(180 / 16)
    assert [s["step"] for s in h["steps"]] == list(range(1, len(h["steps"]) + 1))
    assert h["epochs"][-1]["val_acc"] > 0.8 and h["epochs"][-1]["train_loss"] < h["epochs"][0][
        "train_loss"]
    assert set(h["epochs"][0]) >= {"epoch", "train_loss", "train_acc", "val_loss", "val_acc",
                                   "seconds"}
    probes = h["probes"]
    assert probes["step"] == list(range(1, len(h["steps"]) + 1, 3))
    assert set(probes["layers"]) == {"linear_1", "tanh_1", "linear_2"}
    assert set(probes["layers"]["linear_1"]) == {"grad_norm", "delta_norm", "weight_norm",
                                                 "grad_rms", "delta_rms", "grad_ratio"}
    assert set(probes["layers"]["tanh_1"]) == {"sparsity", "dead", "saturation",
                                               "mean_activation"}
    assert all(len(v) == len(probes["step"]) for t in probes["layers"].values()
               for v in t.values())


def test_the_epoch_metrics_match_a_direct_evaluation():
    data = moons()
    run = engine.train(net(), data, cfg(epochs=1))
    _, val = data.split(0.1, seed=0)
    with torch.no_grad():
        out = run.model.eval()(data.x[val])
    record = run.history["epochs"][0]
    assert record["val_loss"] == pytest.approx(
        torch.nn.functional.cross_entropy(out, data.y[val]).item(), rel=1e-5)
    assert record["val_acc"] == pytest.approx((out.argmax(1) == data.y[val]).float().mean())


@pytest.mark.parametrize("outputs", [2, 1])             # cross-entropy, and one logit (bce)
def test_training_accuracy_counts_the_batches_as_they_were_trained(outputs):
    data = moons()
    model = engine.build(net(out=outputs))
    right, seen = [], []

    def tap(outs):
        if not model.training:
            return                                    # a validation pass
        x, y = outs[model.input_id], outs[model.output_id].detach()
        labels = data.y[torch.cdist(x, data.x).argmin(1)]
        guess = y.argmax(1) if outputs == 2 else (y.squeeze(1) > 0).long()
        right.append(int((guess == labels).sum()))
        seen.append(len(x))
    model.add_tap(tap)
    run = engine.train(model, data, cfg(epochs=1, batch_size=32))
    assert run.history["epochs"][0]["train_acc"] == pytest.approx(sum(right) / sum(seen))


def test_same_seed_same_history_other_seed_other_history():
    a = engine.train(net(), moons(), cfg(seed=7))
    b = engine.train(net(), moons(), cfg(seed=7))
    c = engine.train(net(), moons(), cfg(seed=8))
    assert without_timing(a.history) == without_timing(b.history)
    assert all(torch.equal(a.model.state_dict()[k], v) for k, v in b.model.state_dict().items())
    assert without_timing(a.history)["steps"] != without_timing(c.history)["steps"]


def test_dropout_runs_are_reproducible():
    spec = engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 32}), ("ReLU", {}),
                                                ("Dropout", {"p": 0.5}),
                                                ("Linear", {"out_features": 2})])
    a = engine.train(spec, moons(), cfg(seed=3))
    torch.manual_seed(12345)           # the caller's generator state does not matter
    b = engine.train(spec, moons(), cfg(seed=3))
    assert without_timing(a.history) == without_timing(b.history)


def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
    full = engine.train(net(), moons(), cfg(epochs=3, optimizer="adam", lr=0.01))
    first = engine.train(net(), moons(), cfg(epochs=2, optimizer="adam", lr=0.01))
    first.save(tmp_path / "half.lwnet")
    saved = engine.load(tmp_path / "half.lwnet")
    assert saved.optimizer_state is not None and saved.recipe.data.name == "moons"
    rest = engine.train(saved, moons(), cfg(epochs=1, optimizer="adam", lr=0.01))
    a, b = without_timing(full.history), without_timing(rest.history)
    for key in ("epochs", "steps", "probes"):
        assert a[key] == b[key]
    assert [r["optimizer_state"] for r in rest.history["runs"]] == ["new", "restored"]
    for k, v in full.model.state_dict().items():
        assert torch.equal(v, rest.model.state_dict()[k])


def test_a_run_can_continue_from_an_earlier_run_in_memory():
    first = engine.train(net(), moons(), cfg(epochs=1))
    more = engine.train(first, moons(), cfg(epochs=2))
    assert [e["epoch"] for e in more.history["epochs"]] == [1, 2, 3]
    assert more.history["runs"][-1]["start_step"] == first.history["steps"][-1]["step"]


class StopAt(engine.Callback):
    def __init__(self, control, step):
        self.control, self.step = control, step

    def on_batch_start(self, run, step):
        if step == self.step:
            self.control.stop()      # asked during step 5: it is the last one trained


def test_stop_ends_at_a_batch_boundary_with_the_history_so_far():
    control = engine.Control()
    model = engine.build(net())
    run = engine.train(model, moons(), cfg(epochs=50), callbacks=[StopAt(control, 5)],
                       control=control)
    last = run.history["steps"][-1]["step"]
    assert run.stopped and run.history["status"] == "stopped" and last == 5
    assert run.message == "stopped on request after step 5"
    assert len(run.history["steps"]) == 5 and run.history["epochs"] == []
    assert list(run.history["probes"]["step"]) == [1, 4]
    assert run.model is model and all(torch.isfinite(p).all() for p in model.parameters())
    assert not model._taps and not any(m._forward_hooks for m in model.modules())


def test_pause_and_resume_from_another_thread():
    control, events = engine.Control(), engine.EventQueue()
    paused = threading.Event()

    class PauseAt(engine.Callback):
        def on_step(self, run, event):
            if event.step == 3:
                control.pause()
                paused.set()

    result = {}
    worker = threading.Thread(target=lambda: result.setdefault(
        "run", engine.train(net(), moons(), cfg(), callbacks=[PauseAt(), events],
                            control=control)))
    worker.start()
    assert paused.wait(30)
    time.sleep(0.3)
    assert control.paused and worker.is_alive()
    steps = [e.step for e in events.drain() if isinstance(e, engine.StepEvent)]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) >= 3   # read in batches
    time.sleep(0.3)
    assert not [e for e in events.drain() if isinstance(e, engine.StepEvent)]  # nothing moved
    control.resume()
    worker.join(30)
    assert not worker.is_alive() and result["run"].status == "finished"
    kinds = [type(e).__name__ for e in events.drain()]
    assert kinds[-1] == "FinishedEvent" and "EpochEvent" in kinds and "ProbeEvent" in kinds


def test_callbacks_see_the_loop_in_order():
    calls = []
    hooks = [h for h in vars(engine.Callback) if h.startswith("on_") and h != "on_event"]
    Recorder = type("Recorder", (engine.Callback,), {
        h: (lambda h: lambda self, run, *args: calls.append(h))(h) for h in hooks})

    seen = []
    engine.train(net(), moons(), cfg(epochs=1, batch_size=90, val_fraction=0.1,
                                     probe_every=1), callbacks=[Recorder(), seen.append])
    assert calls == ["on_train_start", "on_epoch_start",
                     "on_batch_start", "on_after_backward", "on_probe", "on_step",
                     "on_batch_start", "on_after_backward", "on_probe", "on_step",
                     "on_epoch_end", "on_finished", "on_train_end"]
    assert [type(e).__name__ for e in seen] == ["ProbeEvent", "StepEvent", "ProbeEvent",
                                                "StepEvent", "EpochEvent", "FinishedEvent"]


def test_probing_does_not_change_what_is_learned():
    runs = [engine.train(net("ReLU", depth=2), moons(), cfg(probe_every=every, seed=4))
            for every in (0, 1)]
    assert len(runs[1].history["probes"]["step"]) == len(runs[1].history["steps"])
    assert [s["loss"] for s in runs[0].history["steps"]] == \
        [s["loss"] for s in runs[1].history["steps"]]
    a, b = weights(runs[0].model), weights(runs[1].model)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_hooks_nobody_implements_are_not_called_and_events_not_built(monkeypatch):
    from engine.run import events as events
    built = []
    init = events.StepEvent.__init__

    def counted(self, *args):
        built.append("step")
        init(self, *args)
    monkeypatch.setattr(events.StepEvent, "__init__", counted)

    class Epochs(engine.Callback):
        def on_epoch_end(self, run, event):
            built.append(event.epoch)

    engine.train(net(), moons(), cfg(epochs=2, probe_every=1), callbacks=[Epochs()])
    assert built == [1, 2]                    # no step events built: nobody receives them
    seen = []
    engine.train(net(), moons(), cfg(epochs=1, batch_size=90), callbacks=[seen.append])
    assert [type(e).__name__ for e in seen].count("StepEvent") == 2 == built.count("step")


def test_a_hook_set_on_the_instance_is_called():
    calls = []
    callback = engine.Callback()
    callback.on_epoch_start = lambda run, epoch: calls.append(epoch)
    engine.train(net(), moons(), cfg(epochs=2), callbacks=[callback])
    assert calls == [1, 2]


def test_nan_loss_stops_with_advice_and_keeps_the_last_finite_weights():
    model = engine.build(net(act="ReLU", hidden=64, depth=3))
    kept = {}           # epoch -> weights at its end (0: the start)

    class Keep(engine.Callback):
        def on_train_start(self, run):
            kept[0] = weights(run.model)

        def on_epoch_end(self, run, event):
            kept[event.epoch] = weights(run.model)

    failed = []
    with pytest.raises(engine.TrainingError) as info:
        engine.train(model, moons(), cfg(epochs=30, optimizer="sgd", lr=8.0),
                     callbacks=[Keep(), lambda e: failed.append(e)
                                if isinstance(e, engine.FailedEvent) else None])
    message = str(info.value)
    assert "at step" in message and "lower learning rate" in message and "clipping" in message
    run = info.value.run
    assert run.status == run.history["status"] == "failed" and failed
    good = max(kept)
    assert (f"after epoch {good}," if good else "at the start of this run") in message
    assert all(torch.equal(v, kept[good][k]) for k, v in run.model.state_dict().items())
    assert all(torch.isfinite(p).all() for p in run.model.parameters())
    assert all(math.isfinite(s["loss"]) for s in run.history["steps"])
    assert not model._taps and not any(m._forward_hooks for m in model.modules())


def test_taps_are_removed_when_a_callback_raises():
    model = engine.build(net(act="ReLU"))

    class Boom(engine.Callback):
        def on_step(self, run, event):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        engine.train(model, moons(), cfg(probe_every=1, l1_activation=0.1), callbacks=[Boom()])
    assert not model._taps and not any(m._forward_hooks for m in model.modules())
    engine.train(model, moons(), cfg(epochs=1))     # the model can be trained again


@pytest.mark.parametrize("optimizer", ["sgd", "sgd+momentum", "nesterov", "adam", "adamw",
                                       "rmsprop", "adagrad"])
def test_every_optimizer_trains(optimizer):
    model = engine.build(net())
    start = weights(model)
    run = engine.train(model, moons(), engine.TrainConfig(epochs=3, optimizer=optimizer,
                                                          probe_every=0))
    assert run.history["epochs"][-1]["train_loss"] < run.history["epochs"][0]["train_loss"]
    assert any(not torch.equal(start[k], v) for k, v in model.state_dict().items())
    assert run.history["probes"]["step"] == []


@pytest.mark.parametrize("schedule, rates", [
    ("none", [0.1, 0.1, 0.1, 0.1]),
    ("step", [0.1, 0.1, 0.05, 0.05]),
    ("cosine", [0.1, 0.1 * (1 + math.cos(math.pi / 4)) / 2, 0.05,
                0.1 * (1 + math.cos(3 * math.pi / 4)) / 2]),
])
def test_learning_rate_schedules(schedule, rates):
    run = engine.train(net(), moons(), cfg(epochs=4, lr=0.1, lr_schedule=schedule,
                                           step_size=2, gamma=0.5, probe_every=0))
    assert [e["lr"] for e in run.history["epochs"]] == pytest.approx(rates)


def test_weight_decay_and_l1_activation_change_the_objective():
    data = moons()
    plain = engine.train(net(act="ReLU"), data, cfg(epochs=1))
    l1 = engine.train(net(act="ReLU"), data, cfg(epochs=1, l1_activation=0.5))
    # the first step's loss differs by exactly the penalty on the first batch
    torch.manual_seed(0)
    fresh = engine.build(net(act="ReLU"))
    train_idx, _ = data.split(0.1, 0)
    first = train_idx[engine.run.loop.epoch_order(len(train_idx), 0, 0, "cpu")[:16]]
    hidden = fresh.layers["relu_1"](fresh.layers["linear_1"](data.x[first]))
    penalty = 0.5 * hidden.abs().mean().item()
    assert l1.history["steps"][0]["loss"] - plain.history["steps"][0]["loss"] == \
        pytest.approx(penalty, rel=1e-4)
    decayed = engine.train(net(), data, cfg(epochs=3, optimizer="sgd", weight_decay=0.5))
    free = engine.train(net(), data, cfg(epochs=3, optimizer="sgd"))
    norm = lambda r: sum(p.norm() ** 2 for p in r.model.parameters())   # noqa: E731
    assert norm(decayed) < norm(free)


def test_gradient_clipping_bounds_the_update():
    model = engine.build(net())
    start = weights(model)
    engine.train(model, moons(), cfg(epochs=1, optimizer="sgd", lr=1.0, grad_clip=1e-3,
                                     batch_size=180, probe_every=0))
    moved = torch.sqrt(sum(((model.state_dict()[k] - v) ** 2).sum() for k, v in start.items()))
    assert moved.item() == pytest.approx(1e-3, rel=1e-3)     # one step of norm lr x clip


def test_regression_and_binary_outputs():
    sine = engine.load_dataset("sine", samples=100)
    run = engine.train(net(inputs=1, out=1, hidden=32), sine, cfg(epochs=3, lr=0.01))
    assert run.history["epochs"][-1]["train_acc"] is None
    assert run.history["epochs"][-1]["val_acc"] is None
    assert run.history["epochs"][-1]["train_loss"] < run.history["epochs"][0]["train_loss"]
    binary = engine.train(net(out=1), moons(), cfg(epochs=3, lr=0.05))
    assert binary.history["epochs"][-1]["val_acc"] > 0.7


@pytest.mark.parametrize("spec, data, config, words", [
    (net(out=3), DATA, {}, r"output \(Linear 2\) has shape \[3\].*2 classes.*out_features=2"),
    (net(inputs=4), DATA, {}, r"Input has shape \[4\]"),
    (net(), ("sine", {}), {}, r"Input has shape \[2\]"),
    (net(inputs=1, out=1), ("sine", {}), {"loss": "cross_entropy"}, "regression task"),
    (net(), DATA, {"device": "cuda:7"}, "not available"),
])
def test_mismatches_are_clear_errors(spec, data, config, words):
    with pytest.raises(engine.LayerwiseError, match=words):
        engine.train(spec, engine.load_dataset(data[0], **data[1]), cfg(**config))


@pytest.mark.parametrize("settings, words", [
    ({"epochs": 0}, "epochs must be a whole number from 1 to"),
    ({"optimizer": "adamm"}, "did you mean adam"),
    ({"lr": -1}, "lr must be a number above 0"),
    ({"val_fraction": 0.95}, "val_fraction"),
    ({"device": "gpu"}, "device must be"),
])
def test_bad_settings(settings, words):
    with pytest.raises(engine.TrainingError, match=words):
        engine.TrainConfig(**settings)


def test_config_round_trip():
    c = engine.TrainConfig(epochs=3, optimizer="nesterov", lr_schedule="cosine")
    assert engine.TrainConfig.from_dict(c.to_dict()) == c
    assert engine.TrainConfig.from_dict(c.to_dict(), epochs=9).epochs == 9
    with pytest.raises(engine.TrainingError, match="unknown training setting 'epoch'"):
        engine.TrainConfig.from_dict({"epoch": 3})


def test_event_queue_thins_steps_but_keeps_the_rest():
    events = engine.EventQueue(step_every=4)
    run = engine.train(net(), moons(), cfg(epochs=1), callbacks=[events])
    got = events.drain()
    steps = [e.step for e in got if isinstance(e, engine.StepEvent)]
    assert steps == list(range(4, len(run.history["steps"]) + 1, 4))
    probes = [e.step for e in got if isinstance(e, engine.ProbeEvent)]
    assert probes == run.history["probes"]["step"]
    assert isinstance(got[-1], engine.FinishedEvent) and events.drain() == []


def test_probe_history_stays_aligned_when_a_stat_appears_late():
    from engine.run.history import add_probe, new_history
    h = new_history()
    add_probe(h, 1, {"a": {"x": 1.0}})
    add_probe(h, 5, {"a": {"x": 2.0, "y": 3.0}, "b": {"z": 4.0}})
    add_probe(h, 9, {"a": {"x": 5.0}})
    assert h["probes"] == {"step": [1, 5, 9], "layers": {
        "a": {"x": [1.0, 2.0, 5.0], "y": [None, 3.0, None]}, "b": {"z": [None, 4.0, None]}}}


def test_probe_log_appends_in_place_and_stays_aligned_when_the_stats_change():
    from engine.run.history import ProbeLog, new_history

    def nest(keys, values):
        out = {}
        for (node, stat), v in zip(keys, values):
            out.setdefault(node, {})[stat] = v
        return out
    h = new_history()
    log = ProbeLog(h, nest)
    ax, ay, bz = ("a", "x"), ("a", "y"), ("b", "z")
    log.add(1, (ax,), [1.0])
    column = h["probes"]["layers"]["a"]["x"]
    log.add(2, (ax,), [2.0])
    assert h["probes"]["layers"]["a"]["x"] is column         # the same column, appended to
    log.add(5, (ax, ay, bz), [3.0, 4.0, 5.0])
    log.add(6, (ax, ay, bz), [6.0, 7.0, 8.0])
    log.add(9, (ax,), [9.0])
    log.add(10, (ax,), [10.0])
    assert h["probes"] == {"step": [1, 2, 5, 6, 9, 10], "layers": {
        "a": {"x": [1.0, 2.0, 3.0, 6.0, 9.0, 10.0], "y": [None, None, 4.0, 7.0, None, None]},
        "b": {"z": [None, None, 5.0, 8.0, None, None]}}}
