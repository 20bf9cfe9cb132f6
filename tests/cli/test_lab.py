"""The Lab: every experiment runs with --quick and writes a consistent report."""
import json
import re

import pytest
import torch

import engine
from cli.main import main
from engine.lab import ORDER, run_experiment
from engine.lab.report import cell, set_figure_renderer
from engine.run.events import StageEvent


@pytest.fixture(autouse=True)
def figures_and_one_thread():
    from gui.report_figures import install
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    assert install()
    yield
    set_figure_renderer(None)
    torch.set_num_threads(threads)


def markdown_table(text: str) -> list[list[str]]:
    lines = [l for l in text.splitlines() if l.startswith("| ")]
    return [[c.strip() for c in l.strip("|").split(" | ")] for l in lines[1:]]


@pytest.mark.parametrize("name", ORDER)
def test_experiment_quick_report(tmp_path, name):
    result = run_experiment(name, quick=True, seed=0, out_dir=tmp_path)
    report = (tmp_path / "report.md").read_text()
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["name"] == name and data["quick"] and not data["stopped"]
    assert data["rows"] and result.findings
    # the numbers in the JSON are the ones in the report's table
    assert markdown_table(report) == [[cell(v) for v in row] for row in data["rows"]]
    for fig in data["figures"]:
        png = tmp_path / f"{fig['name']}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
        assert f"]({fig['name']}.png)" in report
        assert f"- {fig['name']}:" not in report            # named by title for readers
        assert fig["curves"] and all(len(c["x"]) == len(c["y"]) for c in fig["curves"])
    # the runs of one comparison share seed and data order
    orders = {r["data_order"] for r in data["data"].get("runs", {}).values()
              if "data_order" in r}
    assert len(orders) <= 1
    for line in result.findings:
        assert not re.search(r"\bnan\b", line)


def test_vanishing_gradients_shows_the_claim(tmp_path):
    result = run_experiment("vanishing-gradients", quick=True)
    rows = {(r[0], r[1]): r for r in result.rows}
    sigmoid, relu = rows[("Sigmoid", "uniform ±1/√n")], rows[("ReLU", "He")]
    assert sigmoid[2] < 0.01          # Linear 1 gets < 1% of Linear 5's back-propagated gradient
    assert 0.3 < relu[2] < 3.0        # about the same with ReLU and He init


def test_stop_gives_a_partial_report(tmp_path):
    control = engine.Control()

    def stop_at_third_stage(event):
        if isinstance(event, StageEvent) and event.stage == 3:
            control.stop()
    result = run_experiment("depth-sweep", quick=True, callbacks=[stop_at_third_stage],
                            control=control, out_dir=tmp_path)
    assert result.stopped and 1 <= len(result.rows) < 12
    assert "stopped before the end" in (tmp_path / "report.md").read_text()


def test_cli_list_and_errors(capsys, tmp_path):
    assert main(["lab", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ORDER)
    assert main(["lab", "vanishing-gradient"]) == 1
    assert "did you mean vanishing-gradients" in capsys.readouterr().err
    assert main(["lab", "saturation", "--quick", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "Report:" in out and (tmp_path / "r" / "mean_activation.png").exists()
