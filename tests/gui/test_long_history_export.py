"""A plot's CSV export: the rows as they always were (series, x, y; y empty where not finite),
formatted and written a few thousand rows at a time through an atomic write, never as one
string; a failed export leaves the previous file as it was."""
from __future__ import annotations

import numpy as np
import pytest

import engine

from gui.training import files, series
from gui.training.plots import LivePlot


@pytest.fixture
def plot(qtbot) -> LivePlot:
    p = LivePlot("Loss", "step", "loss")
    qtbot.addWidget(p)
    return p


def test_the_rows_are_those_of_every_point_of_every_curve(plot, tmp_path):
    plot.set_curve("loss", np.array([1, 2, 3, 4]), np.array([0.5, np.nan, 0.25, np.inf]),
                   "#2563eb")
    plot.set_curve("smoothed", np.array([1.0, 2.0]), np.array([1 / 3, 2e-12]), "#1d4ed8")
    plot.set_curve("run, 50%", np.array([3]), np.array([0.1], dtype=np.float32), "#dc2626")
    path = tmp_path / "loss.csv"
    plot.export_csv(str(path))
    assert path.read_bytes().decode() == (
        "series,step,loss\r\n"
        "loss,1,0.5\r\nloss,2,\r\nloss,3,0.25\r\nloss,4,\r\n"
        "smoothed,1,0.3333333333\r\nsmoothed,2,2e-12\r\n"
        '"run, 50%",3,0.1\r\n')       # float32: its shortest form, not 0.1000000015


def test_the_rows_are_formatted_and_written_a_few_at_a_time(plot, tmp_path, monkeypatch):
    monkeypatch.setattr(series, "CSV_ROWS", 4)
    written = []
    original = files.write_pieces

    def recording(path, pieces):
        assert iter(pieces) is pieces                  # made as they are written
        original(path, (written.append(p) or p for p in pieces))
    monkeypatch.setattr(files, "write_pieces", recording)
    x = np.arange(1, 11)
    plot.set_curve("loss", x, x / 10, "#2563eb")
    plot.set_curve("smoothed", x[:5], x[:5] / 20, "#1d4ed8")
    path = tmp_path / "loss.csv"
    plot.export_csv(str(path))
    assert [p.count("\n") for p in written] == [1, 4, 4, 2, 4, 1]   # the header, then pieces
    assert path.read_text().splitlines()[1:] == [f"loss,{i},{i / 10:.10g}" for i in x] + [
        f"smoothed,{i},{i / 20:.10g}" for i in x[:5]]


def test_a_failed_export_leaves_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "loss.csv"
    path.write_text("before")

    def pieces():
        yield "series,step,loss\r\n"
        raise OSError(28, "No space left on device")
    with pytest.raises(engine.LayerwiseError, match="No space left on device; the previous"):
        files.write_pieces(str(path), pieces())
    assert path.read_text() == "before" and [p.name for p in tmp_path.iterdir()] == ["loss.csv"]


def test_an_export_to_a_folder_is_refused_with_one_clear_message(plot, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(files, "ask_save_path", lambda *a: str(tmp_path))
    monkeypatch.setattr(files, "show_error", lambda parent, title, text: shown.append(text))
    plot.set_curve("loss", np.array([1, 2]), np.array([0.5, 0.4]), "#2563eb")
    plot.ask_csv()
    assert len(shown) == 1 and "it is a folder" in shown[0]
