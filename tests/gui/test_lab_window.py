"""The Lab menu and window: run an experiment through the buttons, read its verdict, report and
figures, see every verdict in the Summary, save."""
import torch
from PySide6.QtCore import Qt

from gui.lab_window import open_lab
from gui.main_window import MainWindow


def test_lab_menu_runs_an_experiment_and_saves_the_report(qtbot, tmp_path):
    torch.set_num_threads(1)
    window = MainWindow()
    qtbot.addWidget(window)
    window.lab_menu.aboutToShow.emit()
    titles = [a.text() for a in window.lab_menu.actions() if a.text()]
    assert "Vanishing gradients" in titles and "Lab Window…" in titles
    next(a for a in window.lab_menu.actions()
         if a.text() == "Weight vs back-propagated gradients").trigger()
    lab = window.lab_window
    assert lab.isVisible() and lab.selected() == "weight-vs-backprop"
    assert not lab.banner.isVisible() and "has not run" in lab.report.toPlainText()
    lab.quick.setChecked(True)
    with qtbot.waitSignal(lab.worker.ended, timeout=120_000) as ended:
        qtbot.mouseClick(lab.run_button, Qt.LeftButton)
        assert not lab.run_button.isEnabled() and lab.stop_button.isEnabled()
    assert ended.args[0].status == "finished"
    result = lab.result
    # the verdict is shown above the report, and first in it
    assert lab.banner.isVisible() and result.verdict.headline() in lab.banner.text()
    assert "indicative" in lab.banner.text()
    text = lab.report.toPlainText()
    assert text.index("Verdict") < text.index("The claim") < text.index("What the numbers show")
    assert "Linear 5" in text
    assert lab.figures_layout.count() == len(result.figures) == 1
    # the Summary has its row, the others say they have not run
    row = lab.summary.names.index("weight-vs-backprop")
    assert lab.summary.item(row, 2).text().startswith(("✓", "◐", "✗"))
    assert lab.summary.item(0, 2).text() == "not run yet"
    assert "not run yet in this window" in lab.summary_line.text()
    # another experiment selected shows nothing of this one; back again shows it
    lab.select("vanishing-gradients")
    assert not lab.banner.isVisible() and lab.figures_layout.count() == 0
    assert not lab.save_button.isEnabled()
    lab.select("weight-vs-backprop")
    assert lab.banner.isVisible() and lab.save_button.isEnabled()
    assert lab.write_report(str(tmp_path))
    assert (tmp_path / "report.md").exists() and (tmp_path / "gradients_per_layer.png").exists()
    lab.close()


def test_run_all_fills_the_summary_and_stop_keeps_what_ended(qtbot):
    torch.set_num_threads(1)
    window = MainWindow()
    qtbot.addWidget(window)
    lab = open_lab(window, "depth-sweep")
    lab.quick.setChecked(True)
    with qtbot.waitSignal(lab.worker.ended, timeout=180_000) as ended:
        assert lab.run_all()
        assert not lab.run_all_button.isEnabled()
        qtbot.waitUntil(lambda: len(lab.results) >= 2, timeout=120_000)
        lab.stop_button.click()
    assert ended.args[0].status == "stopped"
    assert len(lab.results) >= 2
    done = [lab.summary.item(i, 2).text() for i in range(lab.summary.rowCount())]
    assert sum(t != "not run yet" for t in done) == len(lab.results)
    assert done[0] != "not run yet"            # vanishing-gradients ran first
    assert lab.result is not None and lab.selected() == ended.args[0].result.name
    lab.close()


def test_saved_reports_open_in_the_window(qtbot, tmp_path, monkeypatch):
    from engine.lab import run_all
    torch.set_num_threads(1)
    run_all(tmp_path, quick=True, names=("init-schemes", "weight-vs-backprop"))
    window = MainWindow()
    qtbot.addWidget(window)
    lab = open_lab(window, "vanishing-gradients")
    warnings = []
    monkeypatch.setattr("gui.lab_window.QMessageBox.warning",
                        lambda parent, title, text: warnings.append(text))
    assert not lab.read_reports(str(tmp_path / "init-schemes" / "nothing"))
    assert "There is no Lab result" in warnings[0] and not lab.results
    assert lab.read_reports(str(tmp_path))
    assert set(lab.results) == {"init-schemes", "weight-vs-backprop"}
    assert lab.selected() == "init-schemes" and lab.banner.isVisible()
    assert "indicative" in lab.banner.text() and "Opened 2 saved results" in lab.stage.text()
    assert lab.figures_layout.count() == len(lab.result.figures)
    rows = [lab.summary.item(i, 2).text() for i in range(lab.summary.rowCount())]
    assert sum(t != "not run yet" for t in rows) == 2
    lab.close()
