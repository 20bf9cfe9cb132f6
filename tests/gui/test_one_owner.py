"""One recipe, one run: the same settings give the same history (pre-training included, fixed
seed, one thread) from Python, the command line (flags, or the recipe stored in the file), the
window's Train button, the window's job, a comparison and the Lab."""
from __future__ import annotations

import pytest
import torch

import engine
from cli.main import main
from engine.lab.common import Context, recipe_of, train_run
from engine.run.history import without_timing
from gui.training import files as tfiles
from gui.training.jobs import Request, train_job

CHAIN = [("Linear", {"out_features": 8}), ("Tanh", {}), ("Linear", {"out_features": 6}),
         ("Tanh", {}), ("Linear", {"out_features": 2})]
RECIPE = engine.Recipe(
    engine.TrainConfig(epochs=2, batch_size=16, optimizer="sgd+momentum", lr=0.05,
                       probe_every=3, seed=2, device="cpu"),
    engine.PretrainConfig(mode="unsupervised", epochs=1, lr=0.01, noise=0.2),
    engine.DataRef("moons", {"samples": 160, "noise": 0.1, "seed": 0}), threads=1)
FLAGS = ["--dataset", "moons", "--data-option", "samples=160", "--data-option", "noise=0.1",
         "--data-option", "seed=0", "--epochs", "2", "--batch-size", "16",
         "--optimizer", "sgd+momentum", "--lr", "0.05", "--probe-every", "3", "--seed", "2",
         "--device", "cpu", "--pretrain", "unsupervised", "--pretrain-epochs", "1",
         "--pretrain-lr", "0.01", "--noise", "0.2", "--threads", "1"]


@pytest.fixture(autouse=True)
def _threads(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(tfiles, "confirm", lambda *a: True)
    from gui import dialogs
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")
    yield
    torch.set_num_threads(before)


def spec():
    return engine.NetworkSpec.sequential((2,), CHAIN, name="chain")


def same(history: dict) -> dict:
    """What must agree between two runs of one recipe: everything but timings."""
    return without_timing(history)


@pytest.fixture(scope="module")
def python_run():
    return engine.run_recipe(spec(), RECIPE)


def test_the_command_line_with_flags_and_with_the_stored_recipe(python_run, tmp_path, capsys):
    net = tmp_path / "net.json"
    net.write_text(__import__("json").dumps(engine.network_json(spec())))
    assert main(["train", str(net), *FLAGS, "-o", str(tmp_path / "a.lwnet")]) == 0
    by_flags = engine.load(tmp_path / "a.lwnet")
    assert by_flags.recipe == RECIPE
    assert same(by_flags.history) == same(python_run.history)
    engine.save(tmp_path / "doc.lwnet", spec(), recipe=RECIPE)    # as the window saves one
    assert main(["train", str(tmp_path / "doc.lwnet"), "-o", str(tmp_path / "b.lwnet")]) == 0
    assert same(engine.load(tmp_path / "b.lwnet").history) == same(python_run.history)


def test_the_windows_job_a_comparison_and_the_lab(python_run):
    job = train_job(Request(spec(), None, RECIPE), engine.EventQueue(), engine.Control())
    assert job.status == "finished" and same(job.run.history) == same(python_run.history)
    compared = engine.compare_pretraining(spec(), RECIPE, modes=("unsupervised",))
    assert same(compared.runs["unsupervised"].history) == same(python_run.history)
    plain = RECIPE.with_settings(pretrain={"mode": "none"})
    data = engine.load_dataset("moons", samples=160, noise=0.1, seed=0)
    lab_run = train_run(spec(), data, plain.train, Context())
    lab_recipe = recipe_of(plain.train, data)
    assert (lab_recipe.train, lab_recipe.data) == (plain.train, plain.data)
    assert same(lab_run.history) == same(compared.runs["random"].history)


def test_the_settings_entered_in_the_window_give_the_same_run(python_run, qtbot, window):
    window.ensure_training()
    window.doc.replace(spec(), None, "chain", recipe=RECIPE)
    with qtbot.waitSignal(window.training_finished, timeout=60000) as blocker:
        assert window.start_training()
    assert blocker.args == ["finished"]
    assert same(window.doc.history) == same(python_run.history)
