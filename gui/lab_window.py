"""The Lab window: run the lecture's experiments (one, or all in turn) with progress, read each
verdict, report and figures, see every verdict in the Summary, save a report. The experiments,
their verdicts and reports are engine.lab's; this only shows them: the report, banner and
figures always belong to the experiment selected on the left, or show nothing.

The Lab menu is filled when first opened (engine.lab imports torch; the window must start fast).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QDialog, QFileDialog, QHBoxLayout, QLabel,
                               QListWidget, QListWidgetItem, QMessageBox, QProgressBar,
                               QPushButton, QScrollArea, QSpinBox, QSplitter, QTabWidget,
                               QTextBrowser, QVBoxLayout, QWidget)

import engine


@dataclass
class LabOutcome:
    kind: str
    status: str = "finished"
    message: str = ""
    result: object = None


def lab_job(name: str, quick: bool, seed: int):
    """The worker's job: run one experiment (or, for name "all", every one through
    engine.lab.run_all, each result put on the queue as it ends); never raise (the answer
    says how it ended)."""
    def job(queue, control) -> LabOutcome:
        from engine import lab
        try:
            if name == "all":
                results = lab.run_all(None, quick=quick, seed=seed, callbacks=[queue],
                                      control=control, on_result=queue.queue.put)
                result = results[-1] if results else None
                stopped = control.stopping
            else:
                result = lab.run_experiment(name, quick=quick, seed=seed, callbacks=[queue],
                                            control=control)
                stopped = result.stopped
        except engine.LayerwiseError as exc:
            return LabOutcome("lab", "failed", str(exc))
        except Exception as exc:  # an unexpected failure is shown, not raised in the thread
            return LabOutcome("lab", "failed", f"the experiment failed: {exc}")
        return LabOutcome("lab", "stopped" if stopped else "finished", "", result)
    return job


class LabWindow(QDialog):
    """Experiments on the left; the running stage, then the report and figures, on the right."""

    def __init__(self, window):
        super().__init__(window)
        from gui.lab_summary import SummaryTable, VerdictBanner
        from gui.training.worker import Worker
        from engine import lab
        self.window = window
        self.setWindowTitle("Lab — Layerwise")
        self.resize(1180, 760)
        self.worker = Worker(self)
        self.worker.events.connect(self._events)
        self.worker.ended.connect(self._ended)
        self.results: dict = {}          # experiment name -> its latest LabResult here
        self.stage_text = ""
        self.list = QListWidget()
        for e in lab.experiments():
            item = QListWidgetItem(f"{e.title}\n{e.summary}")
            item.setData(Qt.UserRole, e.name)
            item.setToolTip(e.summary)
            self.list.addItem(item)
        self.list.setWordWrap(True)
        self.list.setSpacing(4)
        self.list.setCurrentRow(0)
        self.list.currentItemChanged.connect(lambda *_: self._show_selected())
        self.quick = QCheckBox("Quick (under 30 s)")
        self.quick.setToolTip("A small budget: the same experiment on less data and fewer steps")
        self.seed = QSpinBox()
        self.seed.setRange(0, lab.MAX_BASE_SEED)
        self.seed.setPrefix("seed ")
        self.run_button = QPushButton("Run")
        self.run_all_button = QPushButton("Run All")
        self.run_all_button.setToolTip("Every experiment in turn, with the budget and seed "
                                       "chosen; each verdict appears in Summary as it ends")
        self.stop_button = QPushButton("Stop")
        self.save_button = QPushButton("Save Report…")
        self.open_button = QPushButton("Open Reports…")
        self.open_button.setToolTip("Show results saved earlier: a report folder, or the folder "
                                    "'lab all' wrote (one folder per experiment)")
        self.open_button.clicked.connect(self.open_reports)
        self.run_button.clicked.connect(self.run_selected)
        self.run_all_button.clicked.connect(self.run_all)
        self.stop_button.clicked.connect(self.worker.stop)
        self.save_button.clicked.connect(self.save_report)
        self.stage = QLabel("Choose an experiment and press Run.")
        self.stage.setWordWrap(True)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setVisible(False)
        self.report = QTextBrowser()
        self.report.setOpenExternalLinks(True)
        self.banner = VerdictBanner()
        self.summary = SummaryTable(lab.experiments())
        self.summary.chosen.connect(self._choose)
        self.summary_line = QLabel()
        self.figures = QWidget()
        self.figures_layout = QVBoxLayout(self.figures)
        self._layout()
        self._update_buttons()

    def _layout(self) -> None:
        left = QWidget()
        col = QVBoxLayout(left)
        col.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.quick)
        row.addWidget(self.seed)
        col.addLayout(row)
        row = QHBoxLayout()
        for b in (self.run_button, self.run_all_button, self.stop_button):
            row.addWidget(b)
        col.addLayout(row)
        row = QHBoxLayout()
        for b in (self.open_button, self.save_button):
            row.addWidget(b)
        col.addLayout(row)
        col.addWidget(self.stage)
        col.addWidget(self.busy)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.figures)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.report, "Report")
        self.tabs.addTab(scroll, "Figures")
        summary = QWidget()
        col = QVBoxLayout(summary)
        col.addWidget(self.summary_line)
        col.addWidget(self.summary, 1)
        self.tabs.addTab(summary, "Summary")
        right = QWidget()
        col = QVBoxLayout(right)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.banner)
        col.addWidget(self.tabs, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([340, 840])
        QVBoxLayout(self).addWidget(split)

    # ------------------------------------------------------------------ running
    def select(self, name: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.UserRole) == name:
                self.list.setCurrentRow(i)

    def selected(self) -> str:
        item = self.list.currentItem()
        return item.data(Qt.UserRole) if item else ""

    @property
    def result(self):
        """The result of the experiment selected on the left, if it ran in this window."""
        return self.results.get(self.selected())

    def run_selected(self) -> bool:
        return self._start(self.selected())

    def run_all(self) -> bool:
        return self._start("all")

    def _start(self, name: str) -> bool:
        training = getattr(self.window, "training", None)
        if training is not None and training.worker.busy:
            self.stage.setText("Training is running in the window: stop it first, so the "
                               "experiment has the processor to itself.")
            return False
        self.stage_text = ""
        if not name or not self.worker.start("lab", lab_job(name, self.quick.isChecked(),
                                                             self.seed.value())):
            return False
        self.stage.setText("Starting every experiment in turn…" if name == "all"
                           else f"Starting {name}…")
        self._update_buttons()
        return True

    def _events(self, batch: list) -> None:
        from engine import lab
        for result in (e for e in batch if isinstance(e, lab.LabResult)):
            self._keep(result)           # Run All: each verdict as its experiment ends
        stages = [e for e in batch if isinstance(e, engine.StageEvent) and not e.record]
        steps = [e for e in batch if isinstance(e, engine.StepEvent)]
        if stages:
            self.stage_text = stages[-1].name
        text = self.stage_text
        if steps:
            s = steps[-1]
            text += f"\nepoch {s.epoch}, batch {s.batch} of {s.batches}"
        if text:
            self.stage.setText(text)

    def _ended(self, outcome) -> None:
        self._update_buttons()
        if outcome.status == "failed":
            self.stage.setText(f"The experiment failed: {outcome.message}")
            return
        if outcome.result is None:
            self.stage.setText("Stopped before any experiment ended.")
            return
        self._keep(outcome.result)
        self._choose(outcome.result.name)
        self.stage.setText("Stopped: the report below is partial." if outcome.status ==
                           "stopped" else f"Done in {outcome.result.seconds:.0f} s.")

    def _keep(self, result) -> None:
        """Remember `result` as its experiment's latest, and update the list and Summary."""
        from gui.lab_summary import verdict_label
        self.results[result.name] = result
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.UserRole) == result.name:
                e = engine.lab.get(result.name)
                item.setText(f"{e.title} — {verdict_label(result)}\n{e.summary}")
        self.summary.show_results(self.results)
        counts = {k: 0 for k in engine.lab.VERDICTS}
        for r in self.results.values():
            counts[r.verdict.status] += 1
        left = len(engine.lab.ORDER) - len(self.results)
        self.summary_line.setText(", ".join(f"{n} {k}" for k, n in counts.items())
                                  + f"; {left} not run yet in this window.")
        if result.name == self.selected():
            self._show_selected()

    def _choose(self, name: str) -> None:
        self.select(name)
        self._show_selected()
        self.tabs.setCurrentIndex(0)

    def _show_selected(self) -> None:
        """Show the selected experiment's result, or nothing when it has not run here."""
        result = self.result
        if result is None:
            self.banner.clear()
            self._clear_figures()
            self.report.setPlainText("This experiment has not run in this window yet: press "
                                     "Run (or Run All).")
            self._update_buttons()
            return
        self.show_result(result)

    def show_result(self, result) -> None:
        from engine import lab
        from gui.report_figures import plot_widget
        self.banner.show_result(result)
        self.report.setMarkdown(lab.markdown(result, figures=[]).split("\n## Figures")[0])
        self._clear_figures()
        for fig in result.figures:
            plot = plot_widget(fig)
            plot.setMinimumHeight(380)
            self.figures_layout.addWidget(plot)
        self._update_buttons()

    def open_reports(self) -> bool:
        folder = QFileDialog.getExistingDirectory(self, "Open saved Lab results")
        return bool(folder) and self.read_reports(folder)

    def read_reports(self, folder: str) -> bool:
        """Show the results saved in `folder` (validated by engine.lab.read_folder)."""
        try:
            found = engine.lab.read_folder(folder, engine.lab.ORDER)
        except engine.LayerwiseError as exc:
            QMessageBox.warning(self, "Open Reports", str(exc))
            return False
        for result in found.values():
            self._keep(result)
        self._choose(next(n for n in engine.lab.ORDER if n in found))
        self.stage.setText(f"Opened {len(found)} saved result{'s' if len(found) > 1 else ''} "
                           f"from {folder}.")
        return True

    def save_report(self) -> bool:
        if self.result is None:
            return False
        folder = QFileDialog.getExistingDirectory(self, "Save the report into a folder")
        return bool(folder) and self.write_report(folder)

    def write_report(self, folder: str) -> bool:
        from engine import lab
        from gui.report_figures import install
        install()
        try:
            files = lab.write_report(self.result, Path(folder))
        except engine.LayerwiseError as exc:
            QMessageBox.warning(self, "Save Report", str(exc))
            return False
        self.stage.setText(f"Saved {len(files)} files in {folder}.")
        return True

    def _update_buttons(self) -> None:
        busy = self.worker.busy
        self.run_button.setEnabled(not busy)
        self.run_all_button.setEnabled(not busy)
        self.open_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.list.setEnabled(not busy)
        self.save_button.setEnabled(not busy and self.result is not None)
        self.busy.setVisible(busy)

    def _clear_figures(self) -> None:
        while self.figures_layout.count():
            widget = self.figures_layout.takeAt(0).widget()
            if widget is not None:
                widget.close()
                widget.setParent(None)
                widget.deleteLater()

    def closeEvent(self, event) -> None:
        if self.worker.busy:
            self.worker.wait()
        self._clear_figures()
        super().closeEvent(event)

    def reject(self) -> None:           # Escape closes like the title bar's button
        self.close()


def fill_lab_menu(window, menu) -> None:
    """Fill the Lab menu on first opening: one entry per experiment, then 'Lab Window…'."""
    if menu.actions():
        return
    from engine import lab
    for e in lab.experiments():
        act = menu.addAction(e.title)
        act.setStatusTip(e.summary)
        act.triggered.connect(lambda checked=False, n=e.name: open_lab(window, n))
    menu.addSeparator()
    menu.addAction("Lab Window…", lambda: open_lab(window, ""))


def open_lab(window, name: str = "") -> LabWindow:
    lab = getattr(window, "lab_window", None)
    if lab is None:
        lab = window.lab_window = LabWindow(window)
    if name:
        lab.select(name)
    lab.show()
    lab.raise_()
    return lab
