"""Analysis rules on sizes and data: a Linear takes vectors (the fix: insert a Flatten), memory
per sample (a warning when large, an error when no computer could hold it), the fit between a
data set and a network (engine.data_fit, with the same verdicts as training), and the layer
table (engine.describe.table)."""
import math

import pytest

import engine
from engine import NETWORK, NetworkSpec
from engine import describe as D
from engine.network import memory

MOONS = {"name": "moons", "input_shape": [2], "task": "classification", "classes": 2,
         "target_shape": []}
DIGITS = {"name": "mnist-5k", "input_shape": [1, 28, 28], "task": "classification",
          "classes": 10, "target_shape": []}


def mlp(shape, *widths, head=()):
    return NetworkSpec.sequential(shape, [*head, *[("Linear", {"out_features": w}) for w in widths]])


@pytest.mark.parametrize("head, receives", [
    ((), "(1, 28, 28)"),
    ((("Conv2d", {"out_channels": 4, "kernel_size": 5}),), "(4, 24, 24)"),
])
def test_a_linear_after_a_multi_dimensional_output_is_an_error_that_names_flatten(head, receives):
    spec = mlp((1, 28, 28), 100, 10, head=head)
    a = engine.analyze(spec)
    assert not a.ok and list(a.errors) == ["linear_1"]
    message = a.errors["linear_1"]
    assert f"received {receives}" in message and "insert a Flatten before it" in message
    assert a.fixes[("linear_1", message)] == engine.Fix("Insert Flatten", "linear_1",
                                                         insert="Flatten")
    with pytest.raises(engine.SpecError, match="Flatten"):     # build agrees with analysis
        engine.build(spec)
    fixed = mlp((1, 28, 28), 100, 10, head=(*head, ("Flatten", {})))
    assert engine.analyze(fixed).ok


def test_an_absurd_input_is_an_error_with_its_size_not_valid():
    spec = mlp((100000, 100000, 100000), 10, head=(("Flatten", {}),))
    a = engine.analyze(spec)
    assert not a.ok and list(a.errors) == ["input_1"]    # downstream layers not blamed again
    message = a.errors["input_1"]
    assert "1,000,000,000,000,000 values" in message and "3.6 PiB" in message
    assert "cannot be built" in message and "1.0 TiB" in message
    with pytest.raises(engine.SpecError, match="cannot be built"):
        engine.build(spec)


def test_weights_beyond_any_memory_are_an_error():
    a = engine.analyze(mlp((1_000_000,), 1_000_000, 10))
    assert not a.ok and "1,000,001,000,000 weights" in a.errors["linear_1"]
    assert "3.6 TiB" in a.errors["linear_1"]


def test_activation_memory_per_sample_and_its_warning():
    lenet = engine.load("resources/examples/lenet5.json").spec
    a = engine.analyze(lenet)
    assert a.memory["conv2d_1"] == 6 * 28 * 28 * 4 and a.memory["input_1"] == 784 * 4
    assert a.activation_bytes == sum(math.prod(s) * 4 for s in a.shapes.values())
    assert a.ok and not a.warnings
    big = NetworkSpec.sequential((3, 512, 512), [
        ("Conv2d", {"out_channels": 64, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
        ("AdaptiveAvgPool2d", {}), ("Flatten", {}), ("Linear", {"out_features": 10})])
    a = engine.analyze(big)
    assert a.activation_bytes > memory.ACTIVATION_WARNING
    assert a.ok and not a.problems                  # a warning leaves the network valid
    (where, message), = a.warnings
    assert where == NETWORK and "131.0 MiB" in message and "Conv2d 1" in message
    assert "a batch of 32 keeps 4.1 GiB" in message


def test_data_fit_offers_the_data_shape_for_the_input():
    spec = mlp((1, 28, 28), 2, head=(("Flatten", {}),))
    fit = engine.data_fit(spec, engine.analyze(spec), MOONS)
    (node, message), = fit.problems
    assert node == "input_1" and "[1, 28, 28]" in message and "'moons'" in message
    assert fit.fixes[(node, message)] == engine.Fix("Set Input 1 to 2", "input_1", "shape", [2])
    again = mlp((2,), 2, head=(("Flatten", {}),))
    assert engine.data_fit(again, engine.analyze(again), MOONS).ok
    flat = mlp((784,), 10)        # the same number of values is reshaped, as training does
    assert engine.data_fit(flat, engine.analyze(flat), DIGITS).ok


def test_data_fit_checks_the_output_once_the_network_is_valid():
    spec = NetworkSpec.sequential((2,), [("Linear", {"out_features": 8}), ("Tanh", {}),
                                         ("Linear", {"out_features": 10}), ("ReLU", {})])
    fit = engine.data_fit(spec, engine.analyze(spec), MOONS)
    (node, message), = fit.problems
    assert node == "relu_1" and "has 2 classes: give the last layer 2 outputs" in message
    assert fit.fixes[(node, message)] == engine.Fix("Set Linear 2 to 2 outputs", "linear_2",
                                                    "out_features", 2)
    binary = mlp((2,), 1)                           # one output: binary cross-entropy
    assert engine.data_fit(binary, engine.analyze(binary), MOONS).ok
    assert not engine.data_fit(binary, engine.analyze(binary), MOONS, loss="cross_entropy").ok
    image_out = NetworkSpec.sequential((1, 28, 28), [("Conv2d", {"kernel_size": 5})])
    (_, message), = engine.data_fit(image_out, engine.analyze(image_out), DIGITS).problems
    assert "end the network with a Flatten and a Linear with out_features=10" in message
    broken = mlp((1, 28, 28), 3)                    # not valid: only the input is checked
    assert engine.data_fit(broken, engine.analyze(broken), DIGITS).ok


def test_data_fit_for_regression_targets():
    sine = {"name": "sine", "input_shape": [1], "task": "regression", "classes": None,
            "target_shape": [1]}
    spec = mlp((1,), 16, 3)
    fit = engine.data_fit(spec, engine.analyze(spec), sine)
    (node, message), = fit.problems
    assert "targets of data set 'sine' have shape [1]" in message
    assert fit.fixes[(node, message)].value == 1
    assert "regression task" in engine.data_fit(spec, engine.analyze(spec), sine,
                                                loss="cross_entropy").problems[0][1]


@pytest.mark.parametrize("shape, name, options", [
    ((1, 28, 28), "moons", {}), ((2,), "moons", {}), ((1, 2, 2), "parity", {"bits": 4}),
    ((3,), "parity", {"bits": 4}),
])
def test_data_fit_agrees_with_training(shape, name, options):
    data = engine.load_dataset(name, **options)
    spec = mlp(shape, 2, head=(("Flatten", {}),) if len(shape) > 1 else ())
    verdict = engine.data_fit(spec, engine.analyze(spec), data.describe()).ok
    try:
        data.fit_input(shape)
        fits = True
    except engine.DatasetError:
        fits = False
    assert verdict == fits


def test_the_layer_table_has_the_analysis_numbers_and_totals():
    spec = mlp((1, 28, 28), 100, 10)              # Linear 1 is broken: no Flatten
    a = engine.analyze(spec)
    rows = D.table(spec, a, extra=[("linear_2", "Extra word.")])
    assert [r["layer"] for r in rows] == ["Input 1", "Linear 1", "Linear 2", "Total"]
    assert rows[0]["memory"] == 3136 and rows[1]["shape"] is None
    assert "Flatten" in rows[1]["problems"][0] and rows[2]["problems"] == ["Extra word."]
    total = rows[-1]
    assert (total["params"], total["flops"], total["memory"]) == (a.total_params, a.flops,
                                                                   a.activation_bytes)
    cells = D.table_cells(rows[0])
    assert len(cells) == len(D.TABLE_COLUMNS) and cells[3] == "1x28x28" and cells[6] == "3136"


def test_big_numbers_are_written_with_units():
    assert D.flops(3_000_000_000_000) == "3.00 T" and D.flops(833_040) == "833.0 K"
    assert D.memory(3136) == "3.1 KiB" and D.memory(2**40) == "1.0 TiB" and D.memory(12) == "12 B"


@pytest.mark.parametrize("outputs, name, loss", [
    (3, "moons", "auto"), (2, "moons", "auto"), (1, "moons", "auto"), (1, "parity", "bce"),
    (2, "sine", "auto"), (1, "sine", "cross_entropy"), (1, "sine", "mse"),
])
def test_training_refuses_an_output_by_the_rules_the_window_checks(outputs, name, loss):
    """One owner: training's refusal is data_fit's problem, word for word."""
    data = engine.load_dataset(name)
    spec = NetworkSpec.sequential(data.input_shape, [("Linear", {"out_features": outputs})])
    problems = engine.data_fit(spec, engine.analyze(spec), data.describe(), loss).problems
    config = engine.TrainConfig(epochs=1, loss=loss, probe_every=0)
    if not problems:
        engine.train(spec, data, config)
        return
    with pytest.raises(engine.TrainingError) as refused:
        engine.train(spec, data, config)
    said = problems[0][1]
    assert str(refused.value) == said[:1].lower() + said[1:].rstrip(".")
