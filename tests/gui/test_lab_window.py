"""The Lab menu and window: run an experiment through the buttons, read the results, save."""
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
    next(a for a in window.lab_menu.actions() if a.text() == "Sigmoid saturation").trigger()
    lab = window.lab_window
    assert lab.isVisible() and lab.selected() == "saturation"
    lab.quick.setChecked(True)
    with qtbot.waitSignal(lab.worker.ended, timeout=120_000) as ended:
        qtbot.mouseClick(lab.run_button, Qt.LeftButton)
        assert not lab.run_button.isEnabled() and lab.stop_button.isEnabled()
    assert ended.args[0].status == "finished"
    text = lab.report.toPlainText()
    assert "What the numbers show" in text and "hidden 4" in text
    assert lab.figures_layout.count() == len(lab.result.figures) == 2
    assert lab.run_button.isEnabled() and lab.save_button.isEnabled()
    assert lab.write_report(str(tmp_path))
    assert (tmp_path / "report.md").exists() and (tmp_path / "saturation.png").exists()
    lab.close()


def test_stop_gives_a_partial_result(qtbot):
    torch.set_num_threads(1)
    window = MainWindow()
    qtbot.addWidget(window)
    lab = open_lab(window, "depth-sweep")
    lab.quick.setChecked(True)
    with qtbot.waitSignal(lab.worker.ended, timeout=120_000) as ended:
        assert lab.run_selected()
        qtbot.waitUntil(lambda: "depth-sweep:" in lab.stage.text(), timeout=60_000)
        lab.stop_button.click()
    assert ended.args[0].status == "stopped"
    assert "partial" in lab.stage.text()
    lab.close()
