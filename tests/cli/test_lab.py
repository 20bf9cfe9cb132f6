"""The Lab from the command line and Python: listing, errors, stopping, `lab all` and its
summary, and full-budget experiments that fit the test budget."""
import functools
import json

import pytest
import torch

import engine
from cli.main import main
from engine import lab
from engine.lab import ORDER, run_experiment
from engine.run.events import StageEvent


@pytest.fixture(autouse=True)
def figures_and_one_thread():
    from gui.report_figures import install
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    assert install()                     # as main.py does
    yield
    lab.set_figure_renderer(None)
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", ["init-schemes", "weight-vs-backprop"])
def test_full_budget_reproduces(name, tmp_path):
    result = run_experiment(name, out_dir=tmp_path)        # the full budget: seconds
    data = json.loads((tmp_path / "results.json").read_text())
    assert not result.quick and data["budget"] == "full" and not data["indicative"]
    assert data["verdict"]["status"] == lab.REPRODUCED, data["verdict"]["headline"]
    assert "## Verdict: reproduced" in (tmp_path / "report.md").read_text()
    assert len(data["verdict"]["checks"]) >= 2


def test_stop_gives_a_partial_report(tmp_path):
    control = engine.Control()

    def stop_at_third_stage(event):
        if isinstance(event, StageEvent) and event.stage == 3:
            control.stop()
    result = run_experiment("depth-sweep", quick=True, callbacks=[stop_at_third_stage],
                            control=control, out_dir=tmp_path)
    assert result.stopped and 1 <= len(result.rows) < 12
    report = (tmp_path / "report.md").read_text()
    assert "stopped before the end" in report and "## Verdict (indicative" in report
    assert result.verdict.status == lab.NOT_REPRODUCED        # depth 7 never ran
    assert "did not both run" in result.verdict.headline()


def test_cli_list_and_errors(capsys, tmp_path):
    assert main(["lab", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ORDER)
    assert main(["lab", "vanishing-gradient"]) == 1
    assert "did you mean vanishing-gradients" in capsys.readouterr().err
    assert main(["lab", "weight-vs-backprop", "--quick", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "Verdict (indicative, quick budget): " in out and "Report:" in out
    assert (tmp_path / "r" / "gradients_per_layer.png").exists()


def test_lab_all_writes_every_report_and_a_summary(capsys, tmp_path, monkeypatch):
    names = ("init-schemes", "weight-vs-backprop")
    monkeypatch.setattr(lab, "run_all", functools.partial(lab.run_all, names=names))
    assert main(["lab", "all", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("Verdict: Reproduced") == 2 and f"{tmp_path / 'summary.md'}" in out
    summary = (tmp_path / "summary.md").read_text()
    for name in names:
        verdict = json.loads((tmp_path / name / "results.json").read_text())["verdict"]
        assert f"| {name} | full | {verdict['status']} | {verdict['headline']} |" in summary
    stopped = engine.Control()
    stopped.stop()
    assert lab.run_all(tmp_path / "none", control=stopped) == []
    assert "| experiment |" in (tmp_path / "none" / "summary.md").read_text()
