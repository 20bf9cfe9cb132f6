"""Keeps every training run of the document in `Document.runs`, for the Runs panel.

It listens to the training session: when a training job ends (finished, stopped or failed), the
document's current run is recorded (and updated on each later Train that continues it); a
comparison adds one record per compared run. Reset weights, New and Open start a new current run.
"""
from __future__ import annotations

import re

from PySide6.QtCore import QObject

from engine import runs as R


class RunKeeper(QObject):
    def __init__(self, doc, session, parent=None):
        super().__init__(parent)
        self.doc, self.session = doc, session
        self.current_id: str | None = None
        self.numbers: dict[str, int] = {}        # run id -> its number in the labels made here
        self.labels: dict[str, str] = {}         # run id -> the label made here (not renamed)
        self.comparisons = 0
        session.finished.connect(self._job_ended)
        doc.results_changed.connect(self._results_changed)
        doc.spec_replaced.connect(self._new_document)

    def _new_document(self) -> None:
        self.current_id = self._continued()
        if self.current_id is not None:
            record = next(r for r in self.doc.runs if r["id"] == self.current_id)
            number = re.match(r"run (\d+):", record["label"])
            self.numbers[self.current_id] = int(number.group(1)) if number else \
                self.doc.runs.index(record) + 1
            self.labels[self.current_id] = record["label"]

    def _continued(self) -> str | None:
        """The kept run that the document's history is (a reopened file's last training
        run), so that a Train continuing it updates that record instead of adding a copy."""
        epochs = (self.doc.history or {}).get("epochs") or []
        if not epochs:
            return None
        return next((r["id"] for r in reversed(self.doc.runs)
                     if not r["label"].startswith("comparison")
                     and r["history"]["epochs"] == epochs), None)

    def _results_changed(self) -> None:
        if self.doc.history is None and self.doc.model is None:
            self.current_id = None          # weights were reset: the next Train is a new run

    def _job_ended(self, status: str) -> None:
        outcome = self.session.last_outcome
        if outcome is None:
            return
        if outcome.kind == "train" and outcome.run is not None:
            self._keep_training(outcome.run, status)
        elif outcome.kind == "compare" and outcome.comparison is not None:
            self._keep_comparison(outcome.comparison)

    def _keep_training(self, run, status: str) -> None:
        """Record the current run: a new record, or the current one updated (a Train that
        continued it), whose label follows the latest settings unless it was renamed."""
        config = run.recipe_record().flat() if hasattr(run, "recipe_record") else \
            (self.doc.recipe.flat() if self.doc.recipe is not None else None)
        old = next((r for r in self.doc.runs if r["id"] == self.current_id), None)
        number = self.numbers.get(self.current_id, len(self.doc.runs) + (old is None))
        label = self._label(config, number) + (" (failed)" if status == "failed" else "")
        record = R.make_record(run.history, config, label, self.doc.spec)
        if old is None:
            self.current_id = record["id"]
        else:
            record["id"], record["created"] = self.current_id, old["created"]
            if old["label"] != self.labels.get(self.current_id):
                record["label"] = old["label"]          # renamed in the Runs panel: kept
        self.numbers[record["id"]] = number
        self.labels[record["id"]] = record["label"]
        self.doc.upsert_run(record)

    def _keep_comparison(self, comparison) -> None:
        self.comparisons += 1
        for name, run in comparison.runs.items():
            label = f"comparison {self.comparisons}: {name}"
            self.doc.upsert_run(R.make_record(run.history, run.recipe_record().flat(), label,
                                              self.doc.spec))

    @staticmethod
    def _label(config: dict | None, n: int) -> str:
        config = config or {}
        lr = config.get("lr")
        rate = f", lr {lr:g}" if isinstance(lr, (int, float)) else ""
        data = config.get("dataset") or {}
        on = f" on {data.get('name')}" if isinstance(data, dict) and data.get("name") else ""
        return f"run {n}: {config.get('optimizer', 'training')}{rate}{on}"
