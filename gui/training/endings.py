"""How a job's ending is shown: the results adopted, the panel's message and progress bar, the
diagnostics. A part of TrainingSession (gui.training.session), kept apart from starting and
following jobs."""
from __future__ import annotations

import engine


class JobEndings:
    """TrainingSession's `_ended_<kind>(outcome)` methods and what they share."""

    def _ended_train(self, outcome) -> None:
        run = outcome.run
        if run is not None and not outcome.adopted:
            self._adopt(run)
        self._finish_progress(outcome)
        history = run.history if run is not None else None
        if outcome.status == "failed" and run is None:
            self.say(f"Training did not start: {outcome.message}", error=True)
        elif outcome.status == "failed":
            kept = "" if "The weights kept are" in outcome.message else \
                " The weights from before the failure are kept."      # else the engine says which
            self.say(f"Training failed: {outcome.message}{kept}", error=True)
        elif outcome.status == "stopped":
            self.say(f"Training stopped; its weights are kept: Train continues from them. "
                     f"{summary(history)}")
        else:
            self.say(f"Training finished. {summary(history)}")

    def _adopt(self, run) -> None:
        """A run's model becomes the trained weights (last good ones if it failed)."""
        self.source = run.model
        state = getattr(run, "optimizer_state", None)
        self.source_optimizer = state() if callable(state) else None
        model, optimizer = self.current_model()
        self.doc.set_results(model, run.history, optimizer)
        stats = engine.diagnostics.latest_stats(run.history)
        if stats:
            self.diagnostics.show(stats, f"After the run (step "
                                         f"{self.dashboard.store.run.step:,}).", True)

    def _finish_progress(self, outcome) -> None:
        if outcome.status == "finished":
            self.panel.progress.setValue(100)
        refused = outcome.status == "failed" and outcome.run is None \
            and outcome.comparison is None
        self.panel.progress.setFormat("Not started" if refused else {
            "finished": "Finished", "stopped": "Stopped", "failed": "Failed"}.get(
                outcome.status, "Ready"))

    def _ended_compare(self, outcome) -> None:
        self._finish_progress(outcome)
        if outcome.status == "failed":
            self.say(f"The comparison failed: {outcome.message}", error=True)
            return
        self.comparison = outcome.comparison
        rows = outcome.comparison.table() if outcome.comparison else []
        parts = [f"{r['run']}: " + (f"{r['val_acc']:.1%}" if r["val_acc"] is not None
                                    else f"loss {r['val_loss']:.4g}" if r["val_loss"]
                                    is not None else "-") for r in rows]
        head = "Comparison stopped" if outcome.status == "stopped" else "Comparison finished"
        self._show_own_stats("The network's own statistics (its last probe); the comparison's "
                             "runs are in the dashboard.")
        self.say(f"{head} (validation, last epoch) — " + "; ".join(parts)
                  + ". The network's own weights are unchanged.")

    def _ended_probe(self, outcome) -> None:
        self.panel.progress.setFormat("Ready")
        if outcome.status != "finished":
            self.say(f"Cannot check trainability: {outcome.message}", error=True)
            return
        self.diagnostics.show(outcome.stats, "Trainability check: one batch, weights "
                                             "unchanged.", True)
        self.window.diagnostics_dock.raise_()
        self.say("Trainability checked: see the colours on the layers and the Diagnostics "
                  "panel.")

    def _show_own_stats(self, source: str) -> None:
        """The diagnostics of the document's own history (its last probe), or none."""
        stats = engine.diagnostics.latest_stats(self.doc.history)
        if stats:
            self.diagnostics.show(stats, source, True)
        else:
            self.diagnostics.clear()

    def _ended_data(self, outcome) -> None:
        if outcome.status != "finished":
            self.say(f"Cannot load the data set: {outcome.message}", error=True)
            return
        self.panel.dataset.mark_available()
        self.data.show()
        if self.dashboard.store.run.confusion is None:
            self._restore_views()           # weights from a file: their views need this data
        self.say(f"Data set {outcome.dataset.name} is ready.")

    def _ended_unknown(self, outcome) -> None:
        self.say(outcome.message or "The job ended.", error=outcome.status == "failed")


def summary(history: dict | None) -> str:
    """Where a history's training ended: its last epoch (counted over the whole history, as
    the progress bar counts), loss and accuracy; "" before any epoch."""
    epochs = (history or {}).get("epochs") or []
    if not epochs:
        return ""
    last = epochs[-1]
    parts = [f"epoch {last['epoch']}", f"training loss {last['train_loss']:.4g}"]
    if last.get("val_acc") is not None:
        parts.append(f"validation accuracy {last['val_acc']:.1%}")
    elif last.get("val_loss") is not None:
        parts.append(f"validation loss {last['val_loss']:.4g}")
    skipped = (history.get("runs") or [{}])[-1].get("skipped_steps")
    if skipped:
        parts.append(f"{skipped:,} steps skipped by the fp16 loss scaler (their gradients "
                     f"overflowed)")
    return "After " + ", ".join(parts) + "."
