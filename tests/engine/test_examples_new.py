"""The examples added for the next steps (autoencoder, ResNet-8, small VGG, sequence models) are
valid, get the settings they need when opened without any, and learn: a short run on their
suggested data (CIFAR-10 is a download: a CIFAR-shaped stand-in checks those run) lowers the
validation loss."""
from pathlib import Path

import pytest
import torch

import engine

EXAMPLES = Path("resources/examples")


def test_the_autoencoder_is_suggested_its_inputs_as_target():
    spec = engine.load(EXAMPLES / "conv_autoencoder.json").spec
    a = engine.analyze(spec)
    recipe = engine.Recipe.suggested(a.shapes[a.input_id], a.output_shape)
    assert recipe.train.target == "inputs" and recipe.data.name == "mnist-5k"
    lenet = engine.analyze(engine.load(EXAMPLES / "lenet5.json").spec)
    assert engine.Recipe.suggested((1, 28, 28), lenet.output_shape).train.target == "labels"


@pytest.mark.parametrize("file,data,options,epochs", [
    ("conv_autoencoder.json", "mnist-5k", {"samples": 600}, 2),
    ("cnn1d_adding.json", "adding", {"samples": 600}, 4),
    ("transformer_adding.json", "adding", {"samples": 600}, 4),
    ("lstm_adding.json", "adding", {"samples": 600}, 2),
])
def test_each_sequence_and_autoencoder_example_learns_on_its_data(file, data, options, epochs):
    spec = engine.load(EXAMPLES / file).spec
    a = engine.analyze(spec)
    recipe = engine.Recipe.suggested(a.shapes[a.input_id], a.output_shape)
    assert recipe.data.name == data
    config = recipe.train.replace(epochs=epochs, probe_every=5, seed=1)
    run = engine.train(spec, engine.load_dataset(data, **options), config)
    losses = [e["val_loss"] for e in run.history["epochs"]]
    assert run.status == "finished" and losses[-1] < losses[0], losses
    assert run.history["probes"]["step"], "no probes recorded"


@pytest.mark.parametrize("file", ["resnet8.json", "vgg_small.json"])
def test_the_cifar_examples_train_on_cifar_shaped_images(file):
    spec = engine.load(EXAMPLES / file).spec
    a = engine.analyze(spec)
    assert engine.Recipe.suggested(a.shapes[a.input_id], a.output_shape).data.name == "cifar-10"
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(96, 3, 32, 32, generator=g), torch.arange(96) % 10
    data = engine.data.dataset.make_dataset("cifar-shaped", x.numpy(), y.numpy(),
                                            "classification")
    run = engine.train(spec, data, engine.TrainConfig(epochs=1, probe_every=1,
                                                      augment_flip=True, augment_crop=2))
    assert run.status == "finished" and len(run.history["probes"]["step"]) == 3


def test_inputs_as_target_make_a_regression_on_the_inputs_everywhere():
    """The loop's data (Dataset.with_target) and the window's fit check (data_fit with the
    target) agree: a network that gives back its input fits with target "inputs", and a
    classifier's output does not."""
    data = engine.load_dataset("mnist-5k", samples=50)
    echo = data.with_target("inputs")
    assert echo.task == "regression" and echo.y is echo.x and echo.n_classes is None
    assert data.with_target("labels") is data
    ae = engine.load(EXAMPLES / "conv_autoencoder.json").spec
    lenet = engine.load(EXAMPLES / "lenet5.json").spec
    info = data.describe()
    assert engine.data_fit(ae, engine.analyze(ae), info, target="inputs").problems == []
    assert engine.data_fit(ae, engine.analyze(ae), info).problems            # 10 classes
    assert engine.data_fit(lenet, engine.analyze(lenet), info, target="inputs").problems
    with pytest.raises(engine.TrainingError):
        engine.train(lenet, data, engine.TrainConfig(epochs=1, target="inputs"))
