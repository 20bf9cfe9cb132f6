"""Edits made while a run is paused take effect when it resumes.

The worker's run trains the network as it was when Train was pressed. When the network is edited
while the run is paused, Resume stops that run where it is (between two batches, so its weights
are those of the pause), carries them over to the edited network as Train does after an edit
(engine.transfer: unchanged layers keep their weights, new ones start from their
initialisation) and goes on training at once, in the same history, for the epochs the run still
had to do (engine.epochs_left: an epoch interrupted part way is trained again). New layers have
curves and badges from the step of the edit, and the plots mark that step (the run's record
names its network, so a saved history shows the mark again: engine.network_edits).

An edit that loses trained weights (a layer removed or changed, or a shape change upstream of
trained layers: engine.lost_in_edit) is said before resuming, with the choice to go on, to stay
paused, or to stop. An edit cannot take effect inside a pre-training stage or a comparison (they
train copies of their own): the person chooses to resume without it — it takes effect at the
next Train — or to stay paused.
"""
from __future__ import annotations

import engine
from engine import same_network

from .. import dialogs


class PausedEdits:
    def __init__(self, session):
        self.session = session
        self.running: engine.NetworkSpec | None = None   # what the job in the worker trains
        self.fine_tuning = False    # the run's training stage has begun (after pre-training)
        self.applying = False       # the run was stopped to go on with the edited network

    def started(self, kind: str, spec: engine.NetworkSpec, recipe) -> None:
        self.running = spec.copy() if kind in ("train", "compare") else None
        self.fine_tuning = kind == "train" and not recipe.pretrain.active

    def training_begins(self) -> None:
        """The run's pre-training stages are over (its PhaseEvent "train")."""
        self.fine_tuning = True

    def ended(self) -> None:
        self.running = None

    def pending(self) -> bool:
        """The network differs from the one the paused run trains."""
        return self.running is not None and not same_network(self.running,
                                                             self.session.doc.spec)

    def resume(self) -> bool:
        """Resume the paused run with the edits (see the module docstring); False when it
        stays paused."""
        s = self.session
        if s.worker.kind != "train" or not self.fine_tuning:
            return self._without_edit()
        if s.checked_recipe() is None:      # said why: fix it or undo the edit, then resume
            return False
        lost = engine.lost_in_edit(self.running, s.doc.spec)
        if lost and not self._lose(lost):
            return False
        if s.state() != "paused":           # stopped from the question
            return True
        self.applying = True
        s.worker.stop()                     # ends between batches, at the pause
        s.say("Applying the edit: training goes on with the edited network…")
        return True

    def _without_edit(self) -> bool:
        s = self.session
        where = "a comparison" if s.worker.kind == "compare" else "pre-training"
        answer = dialogs.choose(
            s.window, "Edit while paused", f"The network was edited during {where}.",
            f"{where[0].upper() + where[1:]} trains copies of the network as it was when it "
            f"started, so the edit cannot take effect in this run. Resume without it (it takes "
            f"effect at the next Train), or stay paused.",
            [("resume", "Resume without the edit"), ("stay", "Stay paused")],
            name="paused_edit_box")
        if answer != "resume":
            return False
        self.running = None                 # asked once; the edit waits for the next Train
        s.worker.resume()
        return True

    def _lose(self, lost: list[str]) -> bool:
        s = self.session
        labels = [self.running.label(n) for n in lost]
        names = ", ".join(labels[:6]) + (f" and {len(labels) - 6} more" if len(labels) > 6
                                          else "")
        answer = dialogs.choose(
            s.window, "Edit while paused",
            f"The edit loses the trained weights of {names}.",
            "They were removed or changed, or the shapes reaching them changed. Resume with "
            "fresh initial weights for them (every other layer keeps its weights), stay paused "
            "to change or undo the edit, or stop the run.",
            [("resume", "Resume with fresh weights"), ("stay", "Stay paused"),
             ("stop", "Stop the run")], name="paused_edit_box")
        if answer == "stop":
            s.stop()
        return answer in ("resume", "stop")

    def go_on(self, run) -> bool:
        """The stopped run's weights are the document's: train the edited network for the
        epochs left; False when none are left (the run had reached its end)."""
        self.applying = False
        left = engine.epochs_left(run.history)
        if left < 1:
            return False
        steps = run.history.get("steps") or [{}]
        return self.session.start("train", epochs=left, edit_step=steps[-1].get("step", 0))
