"""Mixed precision settings, device transfers and device_info. Mixed precision itself needs a
CUDA GPU: those tests skip without one (bench/gpu_check.py measures it there)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import engine
from cli.main import main
from engine.run.history import new_history
from engine.run.setup import Mixed, check_precision, to_device

ROOT = Path(__file__).resolve().parents[2]
TOY = str(ROOT / "resources/examples/toy_2d.json")
CUDA = torch.cuda.is_available()


def test_precision_is_a_validated_setting_saved_with_the_config(tmp_path):
    assert engine.TrainConfig().precision == "fp32"
    with pytest.raises(engine.TrainingError, match="precision must be one of 'fp32', 'bf16', 'fp16'"):
        engine.TrainConfig(precision="fp8")
    run = engine.train(engine.load(TOY).spec, engine.load_dataset("moons", samples=100),
                       engine.TrainConfig(epochs=1, device="cpu", probe_every=0))
    saved = engine.load(run.save(tmp_path / "r.lwnet"))
    assert saved.recipe.train.precision == "fp32"
    assert saved.recipe.train.replace(precision="bf16").precision == "bf16"
    assert run.history["runs"][-1]["precision"] == "fp32"


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_on_the_cpu_is_refused(precision):
    with pytest.raises(engine.TrainingError, match=f"precision {precision} .* needs a CUDA GPU"):
        engine.train(engine.load(TOY).spec, "moons",
                     engine.TrainConfig(epochs=1, device="cpu", precision=precision))


def test_the_command_line_refuses_fp16_on_the_cpu(capsys):
    rc = main(["train", TOY, "--dataset", "moons", "--device", "cpu", "--precision", "fp16"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "needs a CUDA GPU" in err and "--precision fp32" in err


def test_fp32_uses_no_autocast_and_no_scaler():
    mixed = Mixed("fp32", torch.device("cpu"))
    assert mixed.dtype is None and mixed.scaler is None and not mixed.skips_bad_steps
    with mixed.autocast():
        assert not torch.is_autocast_enabled("cpu")


def test_cpu_tensors_stay_where_they_are_on_the_cpu():
    x = torch.arange(6.0)
    assert to_device(x, "cpu") is x


def test_device_info_on_the_cpu_has_no_memory_counts():
    info = engine.device_info("cpu")
    assert info["device"] == "cpu" and info["name"]
    assert info["allocated"] is None and info["reserved"] is None


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_device_info_on_cuda_counts_memory():
    before = engine.device_info("cuda")["allocated"]
    x = torch.ones(1 << 20, device="cuda")
    info = engine.device_info("cuda")
    assert info["allocated"] >= before + x.numel() * 4 and info["reserved"] >= info["allocated"]
    assert info["name"] == torch.cuda.get_device_name(0)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_pinned_copies_reach_the_gpu_intact():
    x = torch.randn(1000, 3)
    y = to_device(x, "cuda")
    assert y.device.type == "cuda" and torch.equal(y.cpu(), x)


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_trains_on_cuda(precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    assert check_precision(precision, torch.device("cuda")) is not None
    run = engine.train(engine.load(TOY).spec, engine.load_dataset("moons", samples=400),
                       engine.TrainConfig(epochs=4, device="cuda", precision=precision,
                                          lr=0.05, batch_size=50, grad_clip=5.0))
    losses = [e["train_loss"] for e in run.history["epochs"]]
    assert run.status == "finished" and losses[-1] < losses[0]
    assert all(p.dtype == torch.float32 for p in run.model.parameters())


@pytest.mark.parametrize("capture", [False, True])
def test_probes_divide_layer_output_gradients_by_the_loss_scale(capture):
    """fp16 scales the loss before backward; the delta_norm probe reports true gradients,
    whether they were retained by autograd or captured by the probe's own backward pass."""
    from engine.run.probe_callback import ProbeCallback
    spec = engine.load(TOY).spec
    data = engine.load_dataset("moons", samples=64)
    stats = []
    for factor in (1.0, 1024.0):
        torch.manual_seed(0)
        model = engine.build(spec)
        seen = []
        probes = ProbeCallback(model, 1, seen.append,
                               (lambda f=factor: f) if factor != 1.0 else None,
                               params=list(model.parameters()) if capture else None)
        run = type("R", (), {"history": new_history()})()
        probes.on_batch_start(run, 1)
        loss = torch.nn.functional.cross_entropy(model(data.x), data.y) * factor
        (probes.backward_for(1) or torch.Tensor.backward)(loss)
        assert all(p.grad is not None for p in model.parameters())
        probes.on_after_backward(run, 1)
        probes.fetch(run)
        probes.on_train_end(run)
        stats.append(seen[0].layers)
    for node, values in stats[0].items():
        if "delta_norm" in values:
            assert stats[1][node]["delta_norm"] == pytest.approx(values["delta_norm"], rel=1e-5)
            assert stats[1][node]["grad_norm"] == pytest.approx(values["grad_norm"] * 1024,
                                                               rel=1e-5)
