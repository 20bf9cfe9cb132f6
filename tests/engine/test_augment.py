"""Image augmentation of the training batches (engine.run.augment): random flips and shifts,
on the training stage's batches only, from the seed; refused on data that are not images."""
from __future__ import annotations

import pytest
import torch

import engine
import engine.run.augment as augment
from engine.data.dataset import CLASSIFICATION, make_dataset
from engine.run.augment import Augment
from engine.run.history import without_timing
from engine.run.loop import epoch_order, fit

pytestmark = pytest.mark.usefixtures("one_thread")

SHAPE = (2, 6, 5)           # channels, height, width: not square, so a transposition shows


def images(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    return make_dataset("images", torch.rand((n, *SHAPE), generator=g) + 0.5,
                        torch.randint(0, 2, (n,), generator=g), CLASSIFICATION)


def net():
    return engine.NetworkSpec.sequential(SHAPE, [
        ("Flatten", {}), ("Linear", {"out_features": 8}), ("Tanh", {}),
        ("Linear", {"out_features": 2})])


def settings(**kw):
    return engine.TrainConfig(**{"epochs": 2, "batch_size": 16, "lr": 0.05, "probe_every": 3,
                                 "val_fraction": 0.25, **kw})


def shifted(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """`img` (C, H, W) moved down dy and right dx pixels (negative: up, left), zeros entering."""
    out = torch.zeros_like(img)
    h, w = img.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        img[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def shift_of(out: torch.Tensor, img: torch.Tensor, pad: int) -> tuple[int, int] | None:
    return next(((dy, dx) for dy in range(-pad, pad + 1) for dx in range(-pad, pad + 1)
                 if torch.equal(out, shifted(img, dy, dx))), None)


class Inputs:
    """What the model's forward is given: training inputs (gradients on) and the others."""

    def __init__(self, model):
        self.training, self.other = [], []
        model.register_forward_pre_hook(self.seen)

    def seen(self, module, args):
        (self.training if torch.is_grad_enabled() else self.other).append(args[0].clone())


def spied_run(config, data=None):
    torch.manual_seed(config.seed)          # the same initial weights for the same seed
    model = engine.build(net())
    inputs = Inputs(model)
    run = engine.train(model, data or images(), config)
    return run, inputs


def test_a_flip_mirrors_about_half_of_the_images_and_leaves_the_others():
    x = torch.rand(400, *SHAPE)
    flip = Augment(flip=True)
    out = flip.apply(x, flip.draws(400, seed=5))
    mirrored = [i for i in range(len(x)) if torch.equal(out[i], x[i].flip(-1))]
    kept = [i for i in range(len(x)) if torch.equal(out[i], x[i])]
    assert sorted(mirrored + kept) == list(range(len(x)))      # each one or the other
    assert 160 < len(mirrored) < 240
    torch.manual_seed(99)                                     # torch's own generator: no part
    assert torch.equal(flip.apply(x, flip.draws(400, seed=5)), out)   # the same seed, set
    assert not torch.equal(flip.apply(x, flip.draws(400, seed=5, rank=1)), out)   # per rank


def test_a_crop_is_a_shift_by_at_most_pad_pixels_with_zeros_entering():
    x = torch.rand(300, *SHAPE) + 1.0                         # no zero of its own
    crop = Augment(crop=2)
    out = crop.apply(x, crop.draws(300, seed=3))
    assert out.shape == x.shape and out.dtype == x.dtype
    shifts = [shift_of(out[i], x[i], 2) for i in range(len(x))]
    assert None not in shifts
    assert set(shifts) == {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}


def test_augmentation_changes_the_training_batches_never_the_validation_data():
    data = images()
    _, val = data.split(0.25, 0)
    plain, seen_plain = spied_run(settings())
    run, seen = spied_run(settings(augment_flip=True, augment_crop=2))
    assert run.status == "finished"
    assert len(seen.training) == len(seen_plain.training) > 0
    assert all(a.shape == b.shape for a, b in zip(seen.training, seen_plain.training))
    assert all(not torch.equal(a, b) for a, b in zip(seen.training, seen_plain.training))
    assert seen.other and all(torch.equal(x, data.x[val][:len(x)]) for x in seen.other)
    assert without_timing(run.history) != without_timing(plain.history)


def test_the_same_seed_gives_the_same_augmented_run():
    config = settings(augment_flip=True, augment_crop=3, seed=7)
    first, seen_first = spied_run(config)
    again, seen_again = spied_run(config)
    assert without_timing(first.history) == without_timing(again.history)
    assert all(torch.equal(a, b) for a, b in zip(seen_first.training, seen_again.training))
    other, seen_other = spied_run(config.replace(seed=8))
    assert not torch.equal(seen_other.training[0], seen_first.training[0])


def test_off_by_default_the_batches_are_the_datas_own(monkeypatch):
    def refused(*args):
        raise AssertionError("augmented with augmentation off")
    monkeypatch.setattr(augment, "flip_where", refused)
    monkeypatch.setattr(augment, "crop_at", refused)
    config = settings(epochs=1, probe_every=0)
    assert (config.augment_flip, config.augment_crop) == (False, 0)
    data = images()
    train_idx, _ = data.split(0.25, 0)
    run, seen = spied_run(config, data)
    order = epoch_order(len(train_idx), 0, 0, "cpu")
    assert torch.equal(torch.cat(seen.training), data.x[train_idx][order])
    explicit, _ = spied_run(config.replace(augment_flip=False, augment_crop=0), data)
    assert without_timing(explicit.history) == without_timing(run.history)


def test_pretraining_stages_are_not_augmented(monkeypatch):
    calls = []
    real = augment.Augment.apply
    monkeypatch.setattr(augment.Augment, "apply",
                        lambda self, x, draws: calls.append(len(x)) or real(self, x, draws))
    steps = []

    class Steps(engine.Callback):
        def on_batch_start(self, run, step):
            steps.append(step)
    pre = engine.PretrainConfig(mode="supervised", epochs=1)
    run = fit(net(), images(), settings(augment_flip=True), pretrain=pre, callbacks=[Steps()])
    assert run.status == "finished" and run.history["stages"][0]["steps"] > 0
    assert len(calls) == len(steps) == 2 * 3            # training's steps only: 2 x 45/16


@pytest.mark.parametrize("setting", [{"augment_flip": True}, {"augment_crop": 2}])
def test_augmenting_data_that_are_not_images_is_refused_before_any_step(setting):
    flat = engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 2})])
    started = []

    class Started(engine.Callback):
        def on_train_start(self, run):
            started.append(run)
    with pytest.raises(engine.TrainingError, match=rf"{next(iter(setting))} .*shape \(2,\)"):
        engine.train(flat, engine.load_dataset("moons", samples=40), settings(**setting),
                     callbacks=[Started()])
    assert not started


def test_a_shift_as_large_as_the_image_is_refused():
    with pytest.raises(engine.TrainingError, match="augment_crop 5 .*at most 4 pixels"):
        engine.train(net(), images(), settings(augment_crop=5))


def test_the_settings_round_trip_and_are_checked():
    c = engine.TrainConfig(augment_flip=True, augment_crop=4)
    assert engine.TrainConfig.from_dict(c.to_dict()) == c
    recipe = engine.Recipe(train=c)
    assert engine.Recipe.from_dict(recipe.to_dict()).train == c
    assert {"augment_flip", "augment_crop"} <= {p.name for p in engine.Recipe.params()["train"]}
    for bad, words in [({"augment_crop": 17}, "augment_crop must be a whole number from 0 to 16"),
                       ({"augment_crop": -1}, "augment_crop"),
                       ({"augment_flip": "yes"}, "augment_flip must be true or false")]:
        with pytest.raises(engine.TrainingError, match=words):
            engine.TrainConfig(**bad)
