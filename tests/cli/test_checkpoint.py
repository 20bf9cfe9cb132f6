"""train --checkpoint-every N and --resume CHECKPOINT: periodic atomic checkpoints, and a run
resumed from one ends exactly where an uninterrupted run with the same seed ends."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import engine
from engine.run.checkpoints import Checkpoints
from cli.main import main
from engine.run.history import without_timing

ROOT = Path(__file__).resolve().parents[2]
TOY = str(ROOT / "resources/examples/toy_2d.json")
COMMON = ["--seed", "3", "--batch-size", "50", "--probe-every", "7", "--schedule", "cosine",
          "--threads", "1"]


class Crash(Exception):
    pass


class CrashAfter(engine.Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, run, event):
        if event.epoch == self.epoch:
            raise Crash(f"simulated crash after epoch {event.epoch}")


def crashed_checkpoint(tmp_path) -> Path:
    """A 4-epoch cosine run on xor that writes a checkpoint every 2 epochs and dies after 3."""
    ckpt = tmp_path / "ckpt.lwnet"
    spec = engine.load(TOY).spec
    config = engine.TrainConfig(epochs=4, seed=3, batch_size=50, probe_every=7,
                                lr_schedule="cosine")
    with pytest.raises(Crash):
        engine.train(spec, "xor", config, callbacks=[Checkpoints(ckpt, 2), CrashAfter(3)])
    return ckpt


def comparable(history):
    h = without_timing(history)
    return h["epochs"], h["steps"], h["probes"]


def test_resume_matches_an_uninterrupted_run(tmp_path, capsys):
    full = tmp_path / "full.lwnet"
    assert main(["train", TOY, "--dataset", "xor", "--epochs", "4", "-o", str(full),
                 *COMMON]) == 0
    ckpt = crashed_checkpoint(tmp_path)
    saved = engine.load(ckpt)
    assert saved.history["status"] == "running" and len(saved.history["epochs"]) == 2
    resumed = tmp_path / "resumed.lwnet"
    capsys.readouterr()
    assert main(["train", "--resume", str(ckpt), "-o", str(resumed), "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "2 epochs" in out and "continuing after epoch 2" in out
    a, b = engine.load(full), engine.load(resumed)
    assert [e["epoch"] for e in b.history["epochs"]] == [1, 2, 3, 4]
    assert comparable(a.history) == comparable(b.history)
    for (name, p), (_, q) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(p, q), name
    assert b.history["runs"][-1]["optimizer_state"] == "restored"


def test_checkpoints_are_written_every_n_epochs(tmp_path, capsys):
    out = tmp_path / "net.lwnet"
    assert main(["train", TOY, "--dataset", "xor", "--data-option", "samples=200",
                 "--epochs", "3", "--checkpoint-every", "2", "-o", str(out), *COMMON]) == 0
    text = capsys.readouterr().out
    ckpt = tmp_path / "net.checkpoint.lwnet"
    assert f"Checkpoint {ckpt} written after epoch 2 (1 this run)." in text
    saved = engine.load(ckpt)
    assert len(saved.history["epochs"]) == 2 and saved.optimizer_state is not None
    assert saved.history["runs"][-1]["epochs"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.checkpoint.lwnet", "net.lwnet"]
    # the checkpoint's run had one epoch left: --resume trains just that one
    assert main(["train", "--resume", str(ckpt), "--checkpoint", str(ckpt),
                 "--checkpoint-every", "1", "--threads", "1"]) == 0
    assert "1 epochs" in capsys.readouterr().out
    assert len(engine.load(ckpt).history["epochs"]) == 3


def test_epochs_with_resume_count_more_epochs(tmp_path, capsys):
    ckpt = crashed_checkpoint(tmp_path)
    assert main(["train", "--resume", str(ckpt), "--epochs", "1", "-o", str(ckpt),
                 "--threads", "1"]) == 0
    history = engine.load(ckpt).history
    assert len(history["epochs"]) == 3 and history["runs"][-1]["start_epoch"] == 2


@pytest.mark.parametrize("extra, words", [
    (["--checkpoint-every", "2"], "needs somewhere to write"),
    (["--checkpoint", "{d}/c.lwnet"], "needs --checkpoint-every"),
    (["--checkpoint-every", "1", "--checkpoint", "{d}/missing/c.lwnet"], "does not exist"),
])
def test_bad_checkpoint_options(tmp_path, capsys, extra, words):
    extra = [e.format(d=tmp_path) for e in extra]
    assert main(["train", TOY, "--dataset", "xor", *extra]) != 0
    assert words in capsys.readouterr().err


def test_resume_refuses_what_it_cannot_continue(tmp_path, capsys):
    bare = tmp_path / "bare.lwnet"
    engine.save(bare, engine.load(TOY).spec)
    assert main(["train", "--resume", str(bare)]) == 1
    assert "it has no weights" in capsys.readouterr().err
    ckpt = crashed_checkpoint(tmp_path)
    saved = engine.load(ckpt)
    no_state = tmp_path / "no_state.lwnet"
    engine.save(no_state, saved.spec, model=saved.model, history=saved.history,
                recipe=saved.recipe)
    assert main(["train", "--resume", str(no_state)]) == 1
    assert "no optimizer state" in capsys.readouterr().err
    assert main(["train", "--resume", str(ckpt), "--fresh"]) != 0
    assert "pass one of them" in capsys.readouterr().err
    other = ROOT / "resources/examples/mlp.json"
    assert main(["train", str(other), "--resume", str(ckpt)]) != 0
    assert "different networks" in capsys.readouterr().err
    assert main(["train"]) != 0
    assert "needs FILE" in capsys.readouterr().err


def test_a_finished_checkpoint_is_not_resumed(tmp_path, capsys):
    out = tmp_path / "done.lwnet"
    assert main(["train", TOY, "--dataset", "xor", "--data-option", "samples=100",
                 "--epochs", "1", "-o", str(out), "--threads", "1"]) == 0
    assert main(["train", "--resume", str(out)]) == 1
    assert "already finished its run (1 epochs)" in capsys.readouterr().err
