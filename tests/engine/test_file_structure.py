"""Every member of a .lwnet is read once, in full: a history, kept runs, settings, optimizer
state or version field that does not validate is refused at load with the other problems, so
that nothing accepted can crash a later consumer; what saves opens; error lists are capped."""
import json
import tracemalloc
import zipfile

import pytest

import engine
from engine import runs as R

from lwnet_archive import members, rewrite


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small trained file with weights, history (probes), recipe, optimizer state and runs."""
    path = tmp_path_factory.mktemp("structure") / "net.lwnet"
    spec = engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 8}), ("Tanh", {}),
                                                ("Linear", {"out_features": 2})], name="net")
    run = engine.train(spec, "moons", engine.TrainConfig(epochs=2, batch_size=64,
                                                         probe_every=2, optimizer="adam"))
    record = R.make_record(run.history, run.recipe_record().flat(), "run 1", spec)
    engine.save(path, spec, run.model, run.history, run.recipe_record(),
                run.optimizer_state(), runs=[record])
    return path


def _copy(trained, tmp_path, change):
    """A copy of the trained file whose JSON members `change(parsed)` edited in place."""
    path = tmp_path / "edited.lwnet"
    path.write_bytes(trained.read_bytes())
    parsed = {n: json.loads(b) for n, b in members(path).items() if n.endswith(".json")}
    change(parsed)
    rewrite(path, {n: json.dumps(v).encode() for n, v in parsed.items()})
    return path


def refused(path) -> str:
    with pytest.raises(engine.FileFormatError) as err:
        engine.load(path)
    return str(err.value)


def _set(member, *keys_and_value):
    *keys, last, value = keys_and_value

    def change(parsed):
        target = parsed[member]
        for key in keys:
            target = target[key]
        target[last] = value
    return change


def _deep(n):
    value = 1
    for _ in range(n):
        value = [value]
    return value


@pytest.mark.parametrize("change, words", [
    (_set("history.json", "epochs", 0, "val_acc", "high"),
     "history.json.epochs[0].val_acc must be a number or null, not 'high'"),
    (_set("history.json", "steps", [{"step": 1, "loss": 1.0}]),
     "history.json.steps does not belong in history.json since format 2"),
    (_set("history.json", "series", "steps", ["step", "loss"]), "lists the step columns"),
    (_set("history.json", "epochs", 1, "extra", {"nested": [1, 2]}), "must be a single value"),
    (_set("history.json", "epochs", 1, "deep", _deep(900)), "history.json"),
    (_set("history.json", "runs", 0, "start_epoch", 10 ** 30), "start_epoch must be a whole"),
    (_set("history.json", "series", "probes", "extra", ["x"]),
     "history.safetensors: it lacks 'probes/16', which history.json lists"),
    (_set("runs.json", 0, "config", "lr", "fast"), "runs.json: run 1.config: its settings: invalid training settings: lr"),
    (_set("runs.json", 0, "history", "epochs", 0, "epoch", None), "run 1.history.epochs[0]"),
    (_set("optimizer.json", "format", 2), "optimizer.json: 'format' must be 1"),
    (_set("optimizer.json", "optimizer", "lbfgs"), "'optimizer' must be one of"),
    (_set("training.json", "recipe", "train", "lr", "fast"), "training.json"),
    (_set("network.json", "format_version", engine.FORMAT_VERSION + 1),
     "network.json was written by a newer"),
    (_set("network.json", "format", "keras"), "network.json is a 'keras' file"),
    (_set("manifest.json", "app", {"x": 1}), "manifest.json.app must be a single value"),
])
def test_members_that_do_not_validate_are_refused_at_load(trained, tmp_path, change, words):
    assert words in refused(_copy(trained, tmp_path, change))


def test_every_bad_run_is_counted_and_the_message_stays_short(trained, tmp_path):
    def bad_runs(parsed):
        parsed["runs.json"] = [{"label": i} for i in range(1000)]
    assert "and 997 more runs that are not valid" in refused(_copy(trained, tmp_path, bad_runs))

    def bad_epochs(parsed):
        parsed["history.json"]["epochs"] = [{"epoch": "x"}] * 1000
    message = refused(_copy(trained, tmp_path, bad_epochs))
    assert "history.json: checking stopped after 10 problems; there may be more" in message
    assert message.count("\n") <= 22 and len(message) < 8000


def test_a_member_of_millions_of_values_is_refused_before_parsing(trained, tmp_path):
    path = tmp_path / "bomb.lwnet"
    path.write_bytes(trained.read_bytes())
    data = members(path)
    data["history.json"] = b"[" + b"0," * 20_000_000 + b"0]"      # 40 MB, 40 KB zipped
    _deflated(path, data)
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        assert "history.json holds about 20,000,00" in refused(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2 ** 20      # the bytes, read once; never 20 million Python objects


def test_what_is_accepted_every_consumer_can_use_and_save_again(trained, tmp_path):
    def odd_but_valid(parsed):
        parsed["history.json"]["epochs"][0]["note"] = "from a newer writer"
        parsed["history.json"]["epochs"][1]["val_loss"] = None      # a diverged value
        parsed["runs.json"][0]["config"] = {}
    saved = engine.load(_copy(trained, tmp_path, odd_but_valid))
    assert R.table_csv(saved.runs).count("\n") == 2 and R.curves_csv(saved.runs)
    assert R.summary(saved.runs[0])["epochs"] == 2
    assert engine.epochs_left(saved.history) == 0 and engine.network_edits(saved.history) == []
    again = tmp_path / "again.lwnet"
    engine.save(again, saved.spec, saved.model, saved.history, saved.recipe,
                saved.optimizer_state, runs=saved.runs)
    assert engine.load(again).history["epochs"][0]["note"] == "from a newer writer"


def test_what_would_not_open_is_not_saved(tmp_path):
    spec = engine.NetworkSpec.sequential((4,), [("ReLU", {})] * 10_001, name="long")
    path = tmp_path / "long.lwnet"
    with pytest.raises(engine.LayerwiseError, match="could not be opened again.*at most 10,?000"):
        engine.save(path, spec)
    assert not path.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(engine.LayerwiseError, match="history.json"):
        engine.save(path, engine.NetworkSpec.sequential((4,), [("ReLU", {})]),
                    history={"epochs": [{"epoch": 1, "train_loss": "low"}]})
    assert not path.exists()


def test_the_problem_list_of_a_file_is_capped_and_counted(tmp_path):
    path = tmp_path / "many.json"
    nodes = [{"id": f"n{i}", "kind": f"Bogus{i}"} for i in range(500)]
    path.write_text(json.dumps({"nodes": nodes, "edges": []}))
    message = refused(path)
    assert message.count("\n  - ") == 11 and "only the first 10 problems are listed" in message


def test_a_zip_whose_json_members_together_are_too_many_values_is_refused(trained, tmp_path):
    path = tmp_path / "two.lwnet"
    path.write_bytes(trained.read_bytes())
    half = b"[" + b"0," * 13_000_000 + b"0]"
    data = members(path)
    data["runs.json"] = data["history.json"] = half
    _deflated(path, data)
    assert "values together" in refused(path)


def _deflated(path, data):
    with zipfile.ZipFile(path, "w") as zf:
        for name, blob in data.items():
            zf.writestr(name, blob, compress_type=zipfile.ZIP_DEFLATED)
