"""The fp16 loss scaler's state (torch.amp.GradScaler) is saved with the optimizer state in
.lwnet files, checked on load, and restored when a run continues, so that a resumed fp16 run
matches one that never stopped.

fp16 is refused off CUDA, so the CPU tests lift that refusal (check_precision) and train with
fp16 autocast and a GradScaler on the CPU, which this torch supports; the same check runs for
real on a CUDA GPU when there is one. The first runs use a scaler whose scale grows every 2
steps, so the scale changes (and overflowing steps are skipped) within a short run."""
from __future__ import annotations

import json

import pytest
import torch

import engine
import engine.run.setup as setup
from engine.run.checkpoints import Checkpoints
from engine.io.checks import dumps
from engine.run.history import without_timing
from engine.run.optim import capture, capture_scaler, restore_scaler
from engine.run.setup import Mixed
from lwnet_archive import members, rewrite

CUDA = torch.cuda.is_available()
CPU = torch.device("cpu")
DEFAULT_SCALE = 2.0 ** 16
STATE = {"scale": 1024.0, "growth_factor": 3.0, "backoff_factor": 0.25, "growth_interval": 7,
         "_growth_tracker": 5}


def tiny():
    return engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 16}), ("Tanh", {}),
                                                ("Linear", {"out_features": 2})], name="tiny")


def moons():
    return engine.load_dataset("moons", samples=200)


def cfg(device="cpu", **kw):
    base = dict(epochs=3, batch_size=16, lr=0.05, optimizer="adam", probe_every=5,
                precision="fp16", device=device, seed=5)
    base.update(kw)
    return engine.TrainConfig(**base)


def fast_growing(monkeypatch):
    """Scalers built from now on double their scale every 2 overflow-free steps."""
    monkeypatch.setattr(setup, "new_scaler",
                        lambda device: torch.amp.GradScaler(device.type, growth_interval=2))


def scaler_with(state: dict) -> torch.amp.GradScaler:
    scaler = torch.amp.GradScaler("cpu")
    scaler.load_state_dict(state)
    return scaler


def optimizer_json(path) -> dict:
    return json.loads(members(path)["optimizer.json"])


def with_scaler_json(path, text: str) -> None:
    """Replace the value of optimizer.json's 'grad_scaler' by raw JSON `text`."""
    meta = optimizer_json(path)
    meta["grad_scaler"] = "@@"
    rewrite(path, {"optimizer.json": json.dumps(meta).replace('"@@"', text).encode()})


@pytest.fixture(scope="module")
def fp32_run():
    return engine.train(tiny(), moons(), cfg(precision="fp32", epochs=1))


def saved_with_scaler(run, tmp_path, state=STATE):
    names = [n for n, _ in run.model.named_parameters()]
    optimizer = capture(run.optimizer, names, "adam", scaler_with(state))
    return engine.save(tmp_path / "s.lwnet", run.model.spec, model=run.model,
                       history=run.history, recipe=run.recipe_record(), optimizer=optimizer)


class Watch(engine.Callback):
    """The run's scaler state when training starts."""
    def __init__(self):
        self.start = None

    def on_train_start(self, run):
        self.start = run.scaler.state_dict() if run.scaler is not None else None


class ScaleLog(engine.Callback):
    """The loss scale after every step."""
    def __init__(self):
        self.seen = []

    def on_step(self, run, event):
        self.seen.append(run.scaler.get_scale())


class StopAfter(engine.Callback):
    """Stops the run at the end of epoch `epoch` (after the checkpoint was written)."""
    def __init__(self, control, epoch):
        self.control, self.epoch = control, epoch

    def on_epoch_end(self, run, event):
        if event.epoch == self.epoch:
            self.control.stop()


def same_runs(a, b):
    ha, hb = without_timing(a.history), without_timing(b.history)
    assert [e["epoch"] for e in hb["epochs"]] == [e["epoch"] for e in ha["epochs"]]
    for key in ("epochs", "steps", "probes"):       # probes of skipped steps are not finite:
        assert dumps(ha[key]) == dumps(hb[key]), key   # compared as stored (null)
    for name, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[name]), name
    assert capture_scaler(a.scaler) == capture_scaler(b.scaler)


# ----------------------------------------------------------------------------- the file format

def test_the_scaler_state_round_trips_through_a_file(fp32_run, tmp_path):
    path = saved_with_scaler(fp32_run, tmp_path)
    assert optimizer_json(path)["grad_scaler"] == STATE
    saved = engine.load(path)
    assert saved.optimizer_state.grad_scaler == STATE
    fresh = torch.amp.GradScaler("cpu")
    assert restore_scaler(fresh, saved.optimizer_state.grad_scaler)
    assert fresh.state_dict() == STATE
    assert fresh.scale(torch.tensor(2.0)).item() == 2048.0


def test_runs_without_a_scaler_store_none(fp32_run, tmp_path, cpu_fp16):
    path = fp32_run.save(tmp_path / "r.lwnet")
    assert "grad_scaler" not in optimizer_json(path)
    assert engine.load(path).optimizer_state.grad_scaler is None
    assert Mixed("fp32", CPU).state() is None and Mixed("bf16", CPU).state() is None
    assert Mixed("fp16", CPU).state()["scale"] == DEFAULT_SCALE
    assert capture_scaler(torch.amp.GradScaler("cpu", enabled=False)) is None


@pytest.mark.parametrize("text, words", [
    ("-4.0", "'scale' must be a finite positive number, not -4.0"),
    ("0", "'scale' must be a finite positive number, not 0"),
    ("NaN", "'scale' must be a finite positive number, not nan"),
    ("Infinity", "'scale' must be a finite positive number, not inf"),
    ("1e39", "'scale' must be a finite positive number"),
    ('"65536"', "'scale' must be a finite positive number, not '65536'"),
    ("true", "'scale' must be a finite positive number, not True"),
    ("[1.0]", "'scale' must be a finite positive number"),
])
def test_a_tampered_scale_is_refused_naming_the_member(fp32_run, tmp_path, text, words):
    path = saved_with_scaler(fp32_run, tmp_path)
    meta = json.dumps({**STATE, "scale": "@@"}).replace('"@@"', text)
    with_scaler_json(path, meta)
    with pytest.raises(engine.FileFormatError, match="optimizer.json: 'grad_scaler' ") as err:
        engine.load(path)
    assert words in str(err.value)


@pytest.mark.parametrize("change, words", [
    ({"growth_factor": 1.0}, "'growth_factor' must be a finite number above 1"),
    ({"backoff_factor": 1.5}, "'backoff_factor' must be a number between 0 and 1"),
    ({"growth_interval": 0}, "'growth_interval' must be a whole number of steps of at least 1"),
    ({"growth_interval": 2.5}, "'growth_interval' must be a whole number"),
    ({"_growth_tracker": -1}, "'_growth_tracker' must be a whole number of steps, at least 0"),
    ({"_growth_tracker": 7}, "'_growth_tracker' (7) must be below 'growth_interval' (7)"),
    ({"_growth_tracker": 2 ** 40}, "'_growth_tracker' must be a whole number"),
    ({"extra": 1}, "has an unexpected key 'extra'"),
])
def test_tampered_settings_are_refused(fp32_run, tmp_path, change, words):
    path = saved_with_scaler(fp32_run, tmp_path)
    with_scaler_json(path, json.dumps({**STATE, **change}))
    with pytest.raises(engine.FileFormatError) as err:
        engine.load(path)
    assert f"optimizer.json: 'grad_scaler' {words}" in str(err.value)


@pytest.mark.parametrize("text, words", [
    ("[]", "'grad_scaler' must be an object"),
    ("{}", "'grad_scaler' lacks 'scale'"),
    ("null", "'grad_scaler' must be an object"),
])
def test_a_scaler_state_that_is_not_one_is_refused(fp32_run, tmp_path, text, words):
    path = saved_with_scaler(fp32_run, tmp_path)
    with_scaler_json(path, text)
    with pytest.raises(engine.FileFormatError, match=words):
        engine.load(path)


def test_a_number_too_long_to_read_is_a_file_format_error(fp32_run, tmp_path):
    path = saved_with_scaler(fp32_run, tmp_path)
    with_scaler_json(path, json.dumps({**STATE, "scale": "@@"}).replace('"@@"', "9" * 5000))
    with pytest.raises(engine.FileFormatError, match="optimizer.json holds a number too long"):
        engine.load(path)


def test_an_invalid_scaler_state_is_not_saved(fp32_run, tmp_path):
    names = [n for n, _ in fp32_run.model.named_parameters()]
    state = capture(fp32_run.optimizer, names, "adam")
    state.meta["grad_scaler"] = {**STATE, "scale": 0.0}
    with pytest.raises(engine.SpecError, match="nothing was saved.*'scale' must be a finite"):
        engine.save(tmp_path / "x.lwnet", fp32_run.model.spec, model=fp32_run.model,
                    optimizer=state)
    assert not (tmp_path / "x.lwnet").exists()


def test_restoring_an_invalid_state_in_memory_is_a_training_error():
    with pytest.raises(engine.TrainingError, match="loss-scaler state is not valid"):
        restore_scaler(torch.amp.GradScaler("cpu"), {**STATE, "backoff_factor": 0})
    assert not restore_scaler(None, STATE)
    assert not restore_scaler(torch.amp.GradScaler("cpu"), None)


# ----------------------------------------------------------------------------- training

def test_mixed_loads_a_saved_state(fp32_run, tmp_path, cpu_fp16):
    saved = engine.load(saved_with_scaler(fp32_run, tmp_path))
    mixed = Mixed("fp16", CPU)
    assert mixed.load_state(saved.optimizer_state) and mixed.state() == STATE
    assert not Mixed("fp16", CPU).load_state(None)
    bf16 = Mixed("bf16", CPU)
    assert not bf16.load_state(saved.optimizer_state) and bf16.state() is None


def test_a_resumed_fp16_run_continues_with_the_saved_scaler(tmp_path, cpu_fp16, monkeypatch):
    fast_growing(monkeypatch)
    first = engine.train(tiny(), moons(), cfg(epochs=2))
    reached = capture_scaler(first.scaler)
    assert reached["growth_interval"] == 2 and reached["scale"] != DEFAULT_SCALE
    saved = engine.load(first.save(tmp_path / "half.lwnet"))
    assert saved.optimizer_state.grad_scaler == reached
    monkeypatch.setattr(setup, "new_scaler", lambda device: torch.amp.GradScaler(device.type))
    watch = Watch()
    rest = engine.train(saved, moons(), cfg(epochs=1), callbacks=[watch])
    assert watch.start == reached          # the settings travel too: growth_interval 2
    last = rest.history["runs"][-1]
    assert last["optimizer_state"] == "restored" and last["grad_scaler"] == "restored"


def test_resume_from_a_checkpoint_matches_an_uninterrupted_fp16_run(tmp_path, cpu_fp16,
                                                                     monkeypatch):
    fast_growing(monkeypatch)
    scales = ScaleLog()
    full = engine.train(tiny(), moons(), cfg(epochs=4), callbacks=[scales])
    assert any(b < a for a, b in zip(scales.seen, scales.seen[1:])), "no step overflowed"
    ckpt, control = tmp_path / "ckpt.lwnet", engine.Control()
    engine.train(tiny(), moons(), cfg(epochs=4), callbacks=[Checkpoints(ckpt, 2),
                                                            StopAfter(control, 2)],
                 control=control)
    saved = engine.load(ckpt)
    assert saved.optimizer_state.grad_scaler["growth_interval"] == 2
    assert saved.optimizer_state.grad_scaler["scale"] != DEFAULT_SCALE
    rest = engine.train(saved, moons(), cfg(epochs=2))
    same_runs(full, rest)


def test_a_run_continued_in_memory_keeps_its_scaler(cpu_fp16, monkeypatch):
    fast_growing(monkeypatch)
    full = engine.train(tiny(), moons(), cfg(epochs=3))
    first = engine.train(tiny(), moons(), cfg(epochs=2))
    monkeypatch.setattr(setup, "new_scaler", lambda device: torch.amp.GradScaler(device.type))
    rest = engine.train(first, moons(), cfg(epochs=1))
    same_runs(full, rest)


def test_without_the_saved_scaler_a_resumed_run_differs(tmp_path, cpu_fp16, monkeypatch):
    """The control for the two tests above: they can fail."""
    fast_growing(monkeypatch)
    full = engine.train(tiny(), moons(), cfg(epochs=3))
    first = engine.train(tiny(), moons(), cfg(epochs=2))
    saved = engine.load(first.save(tmp_path / "half.lwnet"))
    monkeypatch.setattr(Mixed, "load_state", lambda self, saved: False)
    rest = engine.train(saved, moons(), cfg(epochs=1))
    assert rest.history["runs"][-1]["grad_scaler"] == "new"
    with pytest.raises(AssertionError):
        same_runs(full, rest)


def test_an_older_file_without_scaler_state_resumes_with_a_fresh_scaler(tmp_path, cpu_fp16,
                                                                       monkeypatch):
    fast_growing(monkeypatch)
    first = engine.train(tiny(), moons(), cfg(epochs=2))
    path = first.save(tmp_path / "old.lwnet")
    meta = optimizer_json(path)
    del meta["grad_scaler"]                        # as written before the scaler was stored
    rewrite(path, {"optimizer.json": json.dumps(meta).encode()})
    saved = engine.load(path)
    assert saved.optimizer_state.grad_scaler is None
    monkeypatch.setattr(setup, "new_scaler", lambda device: torch.amp.GradScaler(device.type))
    watch = Watch()
    rest = engine.train(saved, moons(), cfg(epochs=1), callbacks=[watch])
    assert watch.start["scale"] == DEFAULT_SCALE and watch.start["_growth_tracker"] == 0
    last = rest.history["runs"][-1]
    assert rest.status == "finished" and last["optimizer_state"] == "restored"
    assert last["grad_scaler"] == "new"


def test_an_fp32_file_continued_in_fp16_starts_a_fresh_scaler(fp32_run, cpu_fp16):
    more = engine.train(fp32_run, moons(), cfg(epochs=1))
    assert more.history["runs"][-1]["grad_scaler"] == "new"
    assert "grad_scaler" not in fp32_run.history["runs"][-1]
    assert more.optimizer_state().grad_scaler["scale"] == DEFAULT_SCALE


# ----------------------------------------------------------------------------- on a CUDA GPU

@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_fp16_on_cuda_checkpoint_and_resume_matches_an_uninterrupted_run(tmp_path,
                                                                        monkeypatch):
    fast_growing(monkeypatch)
    full = engine.train(tiny(), moons(), cfg("cuda", epochs=4))
    reached = capture_scaler(full.scaler)
    assert reached["scale"] != DEFAULT_SCALE
    first = engine.train(tiny(), moons(), cfg("cuda", epochs=2))
    saved = engine.load(first.save(tmp_path / "half.lwnet"))
    assert saved.optimizer_state.grad_scaler == capture_scaler(first.scaler)
    monkeypatch.setattr(setup, "new_scaler", lambda device: torch.amp.GradScaler(device.type))
    rest = engine.train(saved, moons(), cfg("cuda", epochs=2))
    assert rest.history["runs"][-1]["grad_scaler"] == "restored"
    assert capture_scaler(rest.scaler) == reached
    a, b = without_timing(full.history), without_timing(rest.history)
    assert [s["loss"] for s in b["steps"]] == pytest.approx([s["loss"] for s in a["steps"]],
                                                            rel=1e-4, abs=1e-6)
    for name, value in full.model.state_dict().items():
        torch.testing.assert_close(rest.model.state_dict()[name], value, rtol=1e-4, atol=1e-6)
