"""`python main.py train FILE ...`: outputs, continuing, errors, Ctrl+C."""
from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import engine
from cli.main import main

ROOT = Path(__file__).resolve().parents[2]
TOY = str(ROOT / "resources/examples/toy_2d.json")


def test_train_writes_a_network_and_metrics(tmp_path, capsys):
    out, metrics = tmp_path / "out.lwnet", tmp_path / "m.json"
    rc = main(["train", TOY, "--dataset", "moons", "--data-option", "samples=300",
               "--epochs", "2", "--lr", "0.05", "--probe-every", "5", "-o", str(out),
               "--metrics", str(metrics)])
    text = capsys.readouterr().out
    assert rc == 0
    assert text.startswith("Training Two-moons classifier on moons (270 training / 30 "
                           "validation samples): 2 epochs, adam lr 0.05")
    assert "train loss" in text and "Finished" in text and "\r" not in text   # piped: no bar
    saved = engine.load(out)
    assert saved.model is not None and saved.optimizer_state is not None
    assert saved.recipe.data.to_dict() == {"name": "moons", "options": {
        "samples": 300, "noise": 0.1, "seed": 0}}
    layers = saved.history["probes"]["layers"]
    assert "grad_norm" in layers["linear_1"] and "saturation" in layers["tanh_1"]
    report = json.loads(metrics.read_text())
    assert report["status"] == "finished" and len(report["history"]["epochs"]) == 2
    assert report["final"]["val_acc"] == saved.history["epochs"][-1]["val_acc"]


def test_a_trained_file_continues_with_its_data_and_settings(tmp_path, capsys):
    out = tmp_path / "out.lwnet"
    assert main(["train", TOY, "--dataset", "xor", "--epochs", "1", "--batch-size", "50",
                 "-o", str(out)]) == 0
    assert main(["train", str(out), "--epochs", "2", "-o", str(out),
                 "--metrics", str(tmp_path / "m.csv")]) == 0
    assert "continuing after epoch 1" in capsys.readouterr().out
    saved = engine.load(out)
    assert [e["epoch"] for e in saved.history["epochs"]] == [1, 2, 3]
    assert saved.recipe.train.batch_size == 50 and saved.recipe.data.name == "xor"
    assert saved.history["runs"][-1]["optimizer_state"] == "restored"
    rows = list(csv.DictReader((tmp_path / "m.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"] and float(rows[0]["train_loss"]) > 0
    assert main(["train", str(out), "--fresh", "--epochs", "1", "-o", str(out)]) == 0
    assert len(engine.load(out).history["epochs"]) == 1


@pytest.mark.parametrize("args, words", [
    ([], "no data set given"),
    (["--dataset", "moon"], "did you mean 'moons'"),
    (["--dataset", "mnist-5k"], r"Input has shape \[2\]"),
    (["--dataset", "moons", "--metrics", "m.txt"], ".json or .csv"),
    (["--dataset", "moons", "-o", "/no/such/dir/x.lwnet"], "does not exist"),
    (["--dataset", "moons", "-o", "."], "it is a folder"),
    (["--dataset", "moons", "-o", "/dev/null"], "not a regular file"),
    (["--dataset", "moons", "-o", "x.json", "--metrics", "x.json"], "given for two outputs"),
])
def test_errors_are_one_line(capsys, args, words):
    assert main(["train", TOY, *args]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("layerwise: error:") and err.count("\n") == 1
    assert "Training" not in out               # refused before anything is announced
    assert __import__("re").search(words, err)


@pytest.mark.parametrize("args, words", [
    (["train", TOY, "--optimizer", "adamm"], "optimizer must be one of"),
    (["train", TOY, "--data-option", "noise"], "'noise' must look like KEY=VALUE"),
    (["train", TOY, "--checkpoint-every", "0", "-o", "x.lwnet"], "epochs of at least 1"),
    (["lab", "cnn-vs-mlp", "--seed", "-1"], "from 0 to 2,147,483,645"),
    (["lab", "cnn-vs-mlp", "--seed", "2147483646"], "and the next 2"),
])
def test_usage_errors_exit_2_before_any_work(capsys, args, words):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize("args, words", [
    (["--epochs", "0"], "--epochs: epochs must be a whole number from 1 to 1000000; got 0"),
    (["--lr", "-1"], "--lr: lr must be a number above 0 and at most 10; got -1"),
    (["--batch-size", "0"], "batch_size must be a whole number from 1 to"),
    (["--threads", "0"], "--threads: threads must be a whole number from 1 to 1024; got 0"),
    (["--noise", "1.5"], "noise must be a number from 0 to 0.95"),
    (["--pretrain-epochs", "two"], "epochs must be a whole number from 1 to 100000; got 'two'"),
    (["--device", "gpu"], "device must be auto, cpu, cuda, cuda:N or mps"),
])
def test_a_setting_out_of_range_is_a_usage_error_naming_the_range(capsys, args, words):
    with pytest.raises(SystemExit) as info:
        main(["train", TOY, "--dataset", "moons", *args])
    assert info.value.code == 2
    assert words in capsys.readouterr().err


def test_help_lists_every_setting_of_the_recipe(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for part, params in engine.Recipe.params().items():
        for param in params:
            if part != "data":
                assert param.help.split(" (")[0][:30] in " ".join(text.split()), param.name


def test_a_diverged_run_is_saved_beside_and_never_over_the_output(tmp_path, capsys):
    out = tmp_path / "nan.lwnet"
    assert main(["train", TOY, "--dataset", "moons", "--epochs", "1", "-o", str(out),
                 "--metrics", str(tmp_path / "m.json")]) == 0
    good, good_metrics = out.read_bytes(), (tmp_path / "m.json").read_bytes()
    capsys.readouterr()
    rc = main(["train", str(out), "--optimizer", "sgd", "--lr", "9", "--loss", "mse",
               "--epochs", "40", "-o", str(out), "--metrics", str(tmp_path / "m.json")])
    printed, err = capsys.readouterr()
    if rc == 0:
        pytest.fail("lr 9 with plain SGD was expected to diverge")
    assert rc == 1 and "at step" in err and "lower learning rate" in err
    assert out.read_bytes() == good and (tmp_path / "m.json").read_bytes() == good_metrics
    assert f"The run failed, so '{out}' is left as it was." in printed
    saved = engine.load(tmp_path / "nan.failed.lwnet")
    assert saved.history["status"] == "failed"
    assert all(bool(p.isfinite().all()) for p in saved.model.parameters())
    assert json.loads((tmp_path / "m.failed.json").read_text())["status"] == "failed"


def test_ctrl_c_stops_cleanly_and_still_writes(tmp_path):
    out = tmp_path / "stopped.lwnet"
    proc = subprocess.Popen([sys.executable, "main.py", "train", TOY, "--dataset", "moons",
                             "--epochs", "100000", "-o", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("Training")   # Ctrl+C is handled from here
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "Stopped (Ctrl+C)" in stdout and "Traceback" not in stderr
    saved = engine.load(out)
    assert saved.history["status"] == "stopped" and saved.history["message"].startswith(
        "stopped on request after step")


def test_pretraining_before_training(tmp_path, capsys):
    out = tmp_path / "pre.lwnet"
    assert main(["train", TOY, "--dataset", "moons", "--data-option", "samples=200",
                 "--pretrain", "supervised", "--pretrain-epochs", "1", "--epochs", "1",
                 "-o", str(out)]) == 0
    assert "pre-training Linear 1" in capsys.readouterr().out
    saved = engine.load(out)
    assert len(saved.history["stages"]) == 1 and len(saved.history["epochs"]) == 1
    assert main(["train", str(out), "--pretrain", "unsupervised"]) == 1
    assert "add --fresh" in capsys.readouterr().err


def test_unsupervised_pretraining_flags_reach_the_stages(tmp_path, capsys):
    out = tmp_path / "auto.lwnet"
    assert main(["train", TOY, "--dataset", "moons", "--data-option", "samples=200",
                 "--pretrain", "unsupervised", "--pretrain-epochs", "2", "--pretrain-lr", "0.02",
                 "--noise", "0.1", "--tied", "--epochs", "1", "-o", str(out)]) == 0
    assert "(1 of 1, autoencoder)" in capsys.readouterr().out
    stage = engine.load(out).history["stages"][0]
    assert stage["mode"] == "unsupervised" and len(stage["loss"]) == 2
    assert stage["val_loss"][-1] < stage["initial_val_loss"]
    assert stage["settings"]["noise"] == 0.1 and stage["settings"]["tied"]
    assert stage["settings"]["lr"] == 0.02


@pytest.mark.parametrize("record, shown", [
    ({"val_acc": 0.91, "train_acc": 0.95}, "val acc 91.0%"),
    ({"val_acc": None, "train_acc": 0.95}, "train acc 95.0%"),
    ({"val_acc": None, "train_acc": None}, "loss 0.5000  "),
])
def test_the_progress_bar_says_which_accuracy_it_shows(record, shown):
    import io
    from cli.progress import ProgressBar
    from engine.run.events import EpochEvent, StepEvent
    stream = io.StringIO()
    bar = ProgressBar(2, stream=stream)
    bar.on_epoch_end(None, EpochEvent(1, record))
    bar.on_step(None, StepEvent(2, 2, 1, 1, 0.5, 0.01, 32))
    line = stream.getvalue().rsplit("\r", 1)[-1]
    assert shown in line and " acc " not in line.replace("val acc", "").replace("train acc", "")


def test_a_switch_saved_on_in_a_file_can_be_turned_off_on_the_command_line():
    """Bool settings have --x and --no-x: a file's augment_flip=True is overridden off."""
    import argparse
    from cli.settings import add_flags, given, merged
    parser = argparse.ArgumentParser()
    add_flags(parser)
    base = engine.Recipe(train=engine.TrainConfig(augment_flip=True))
    data = engine.DataRef("mnist-5k", {})
    off = merged(base, given(parser.parse_args(["--no-augment-flip"])), data)
    kept = merged(base, given(parser.parse_args([])), data)
    assert off.train.augment_flip is False and kept.train.augment_flip is True
