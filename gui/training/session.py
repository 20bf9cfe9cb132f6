"""The training session: the document's training state, the worker, and the views, together.

It starts jobs (train, compare, trainability check, download) with settings read from the
panel (they are part of the document), feeds their events to the dashboard, the progress bar
and the canvas, and puts the results into the document when a job ends. The trained weights
are kept as `source`; `doc.model` is `source` carried over to the current network (engine
.transfer), so editing after a run keeps the weights of every unchanged node, and undoing an
edit gets them all back. What the views show of the document is gui.training.document_views's,
how a job's ending is shown gui.training.endings's, an edit while paused gui.training.edits's.
"""
from __future__ import annotations

import copy
import threading
import time
from functools import partial
from types import SimpleNamespace

from PySide6.QtCore import QObject, Signal

import engine
from engine import CompareEvent, FailedEvent, PhaseEvent, ProbeEvent, StageEvent, StepEvent
from engine import same_network, transfer

from . import files
from .dashboard import Dashboard
from .data_loader import DataSets
from .diagnostics import Diagnostics, DiagnosticsPanel
from .document_views import DocumentViews
from .edits import PausedEdits
from .endings import JobEndings
from .jobs import Download, Request, compare_job, data_job, probe_job, train_job
from .live_probes import LiveProbes
from .panel import TrainingPanel
from .progress import Progress
from .restore import ViewRestorer
from .worker import Worker

PROGRESS_S = 0.5          # the progress bar changes at most twice a second (each change
                          # repaints it at once and recounts the rate, in the GUI thread)
JOBS = {"train": train_job, "compare": compare_job, "probe": probe_job}


class TrainingSession(DocumentViews, JobEndings, QObject):
    finished = Signal(str)          # how the last job ended: finished, stopped or failed
    message = Signal(str)

    def __init__(self, window):
        super().__init__(window)
        engine.data.set_decode_workers(start="forkserver")  # never forked from this process
        self.window, self.doc = window, window.doc
        self.worker = Worker(self)
        self.panel = TrainingPanel()
        self.dashboard = Dashboard(window)
        self.diag_panel = DiagnosticsPanel()
        self.diagnostics = Diagnostics(window.scene, self.doc, self.diag_panel)
        self.progress = Progress()
        self.source = None              # trained engine Model (with the spec it was trained on)
        self.source_optimizer = None
        self.data = DataSets(self.panel.dataset, self)
        self.discard = False            # the running job's results are not wanted any more
        self.last_outcome = None
        self.comparison = None
        self.edits = PausedEdits(self)
        self._curves_for = engine.NetworkSpec()   # the network the layer curves were made for
        self._restore_pending = False   # the stored weights' views wait for their data set
        self.restorer = ViewRestorer(self)
        self._stages: list[list[str]] = []
        self._progress_at = 0.0
        self.job_words = ""         # what the status line says of the running job
        self.live_probes = LiveProbes(self._show_probe, self)
        self._wire()

    def _wire(self) -> None:
        p, w = self.panel, self.worker
        p.train_clicked.connect(self.start)
        p.pause_clicked.connect(self.toggle_pause)
        p.stop_clicked.connect(self.stop)
        p.reset_clicked.connect(self.reset_weights)
        p.compare_clicked.connect(lambda: self.start("compare"))
        p.download_requested.connect(self.download)
        p.dataset.file_opened.connect(self.data.forget)
        p.settings_changed.connect(self._settings_changed)
        self.diag_panel.check_clicked.connect(lambda: self.start("probe"))
        w.events.connect(self._events)
        w.ended.connect(self._ended)
        self.restorer.ready.connect(self._views_restored)
        self.restorer.failed.connect(lambda text: self.message.emit(
            f"The views of the stored weights are incomplete: {text}"))
        self.data.chosen.connect(self._data_chosen)
        self.doc.spec_replaced.connect(self.document_replaced)
        self.doc.analysis_changed.connect(self._network_edited)
        self.doc.analysis_changed.connect(self._name_nodes)

    @staticmethod
    def warm_up() -> threading.Thread:
        """Import in the background what a first run would otherwise import in the worker
        (torch's optimizers pull in torch._dynamo: seconds of imports that hold the GIL and
        would freeze the window at the first Train)."""
        def work() -> None:
            import torch
            torch.optim.Adam([torch.zeros(1, requires_grad=True)])
        thread = threading.Thread(target=work, name="layerwise-warm-up", daemon=True)
        thread.start()
        return thread

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        return self.worker.busy

    def state(self) -> str:
        if not self.busy:
            return "idle"
        if self.worker.kind not in ("train", "compare"):
            return "busy"
        if self.worker.control.stopping:
            return "stopping"
        return "paused" if self.worker.paused else "training"

    def update_state(self) -> None:
        self.panel.set_state(self.state(), self.source is not None)
        self.state_changed()

    def state_changed(self) -> None:       # replaced by the window's action updater
        pass

    # ------------------------------------------------------------------ the document
    def _network_edited(self) -> None:
        """Carry the trained weights over to the edited network (not while a run trains)."""
        if self.busy or self.source is None:
            return
        model, optimizer = self.current_model()
        self.doc.model, self.doc.optimizer_state = model, optimizer
        self.update_state()

    def current_model(self):
        """(model for the current network, optimizer state or None); (None, None) without
        trained weights or while the network cannot be built."""
        if self.source is None or not self.doc.analysis.ok:
            return None, None
        if same_network(self.source.spec, self.doc.spec):
            return self.source, self.source_optimizer
        try:
            moved = transfer(self.source, self.doc.spec, self._seed())
        except engine.LayerwiseError:
            return None, None
        return moved.model, (self.source_optimizer if moved.complete else None)

    def _seed(self) -> int:
        return self.doc.recipe.train.seed if self.doc.recipe is not None else 0

    def _settings_changed(self) -> None:
        try:
            recipe = self.panel.recipe()
        except engine.LayerwiseError:
            return                    # the panel shows what is not accepted
        self.doc.set_results(recipe=recipe)
        self.data.show()

    # ------------------------------------------------------------------ data sets
    def download(self) -> bool:
        ref = self.panel.dataset.reference()
        if self.busy:
            return False
        self.panel.status.setText(f"Downloading {ref['name']}…")
        recipe = engine.Recipe(data=engine.DataRef(**ref))
        ok = self.worker.start("data", partial(data_job, recipe))
        self.update_state()
        return ok

    # ------------------------------------------------------------------ running
    def start(self, kind: str = "train", epochs: int | None = None,
              edit_step: int | None = None) -> bool:
        """Start a training run ("train"), a comparison ("compare") or a trainability check
        ("probe") with the panel's settings; False (with a message) when it cannot start.
        `epochs` replaces the panel's number (the rest of a run edited while paused, which
        goes on after `edit_step`)."""
        if self.busy:
            self.say("A run is already in progress: stop it first.", error=True)
            return False
        request = self._request(kind)
        if request is None:
            return False
        if epochs is not None:       # the rest of a run: its pre-training, if any, is done
            recipe = request.recipe
            request.recipe = recipe.replace(train=recipe.train.replace(epochs=epochs),
                                            pretrain=recipe.pretrain.replace(mode="none"))
        self._cancel_restore()
        self.discard, self.last_outcome = False, None
        self._prepare_views(kind, request)
        if edit_step is not None:
            self.dashboard.mark_edit(edit_step)
        self.edits.started(kind, self.doc.spec, request.recipe)
        self.worker.start(kind, partial(JOBS[kind], request))
        self.job_words = {"train": "Training…", "compare": "Comparing with random "
                          "initialisation…", "probe": "Checking trainability…"}[kind]
        self.say(self.job_words)
        self.update_state()
        return True

    def _request(self, kind: str) -> Request | None:
        recipe = self.checked_recipe()
        if recipe is None:
            return None
        return Request(self._start_point(kind), self.data.dataset_for(recipe.data.to_dict()),
                       recipe)

    def checked_recipe(self) -> engine.Recipe | None:
        """The panel's recipe when the network, the settings and the data set can train
        together; None, with the reason said, when they cannot."""
        if not self.doc.analysis.ok:
            self.say("The network has problems (see the Problems panel): fix them before "
                      "training.", error=True)
            return None
        try:
            recipe = self.panel.recipe()
        except engine.LayerwiseError as exc:
            self.say(f"Fix the settings first: {exc}.", error=True)
            return None
        if not recipe.data.name:
            self.say("Choose a data set in the Training panel first.", error=True)
            return None
        fit = getattr(self.window, "data_fit", None)
        if fit is not None and fit.problems:
            self.say("The data set does not fit the network: " + "; ".join(
                message for _, message in fit.problems) + " (the Training panel offers the "
                "fix).", error=True)
            return None
        return recipe

    def _start_point(self, kind: str):
        """The network a job starts from: the trained weights with their history (a run
        continues; the engine refuses to pre-train them), or the network itself."""
        spec = self.doc.spec.copy()
        model, optimizer = self.current_model()
        if kind == "compare" or model is None:
            return spec
        if kind == "probe":
            return copy.deepcopy(model)
        return SimpleNamespace(model=copy.deepcopy(model), spec=spec,
                               history=copy.deepcopy(self.doc.history),
                               optimizer_state=optimizer)

    def _prepare_views(self, kind: str, request: Request) -> None:
        cfg, pre = request.recipe.train, request.recipe.pretrain
        self.progress = Progress(cfg.epochs, pre.epochs if pre.active else 0)
        self.panel.progress.setValue(0)
        self.panel.progress.setFormat("Starting…")
        self._stages = []
        if kind == "compare":
            self.dashboard.begin_compare()
        elif kind == "train":
            history = getattr(request.start, "history", None)
            # the curves are kept (emptied) for the same network; an edited one may have moved
            # a layer's colour (they are counted in the network's order)
            same = same_network(self._curves_for, self.doc.spec)
            self.dashboard.reset(history, keep_curves=same and len(self.dashboard.store.runs)
                                 == 1)
            self._prepare_curves()
        self._raise("Loss" if kind != "probe" else None)
        if kind != "probe":
            self.window.training_dock.raise_()
            self.window.diagnostics_dock.raise_()

    def _raise(self, dock: str | None) -> None:
        if dock and dock in self.dashboard.docks:
            self.dashboard.docks[dock].raise_()

    def toggle_pause(self) -> None:
        if self.state() == "training":
            self.worker.pause()
            self.panel.progress.setFormat(self.progress.text(paused=True))
            self.say("Paused: Resume continues; Stop ends the run and keeps its weights.")
        elif self.state() == "paused":
            if self.edits.pending():
                if not self.edits.resume():
                    return
            else:
                self.worker.resume()
                self.say("Training…")
        self.update_state()

    def stop(self) -> None:
        if self.busy:
            self.edits.applying = False     # a Stop while an edit is applied ends the run
            self.worker.stop()
            self.say("Stopping at the end of this batch…")
            self.update_state()

    def wait(self, ms: int = 30000) -> bool:
        """Stop the running job and wait until its results are in (tests, closing)."""
        return self.worker.wait(ms)

    def confirm_stop(self, action: str) -> bool:
        """Before closing or opening another network: a running job is stopped (after asking)
        and its results kept; False if the person prefers to go on training."""
        if not self.busy:
            return True
        if self.worker.kind in ("train", "compare") and not files.confirm(
                self.window, "Training is running",
                f"Stop the training run before {action}? The weights trained so far are "
                f"kept.", "Stop training"):
            return False
        self.edits.applying = False
        self.worker.wait()
        if self.busy:               # the step in progress has not ended within the wait
            self.update_state()
            self.say(f"The run is still stopping (its current step has not ended); try "
                     f"{action} again in a moment.", error=True)
        return not self.busy

    def shutdown(self) -> None:
        """The window closes: stop any job and wait for its thread."""
        if self.busy:
            self.discard = True
            self.worker.wait()
        self.worker.timer.stop()
        self.live_probes.stop()
        self.dashboard.stop()
        self.data.wait()
        self.restorer.cancel()
        self.restorer.wait()

    def reset_weights(self) -> bool:
        if self.busy or (self.source is None and not self.doc.history):
            return False
        if not files.confirm(self.window, "Reset weights", "Forget the trained weights and "
                             "the training history? The next run starts from fresh initial "
                             "weights.", "Reset"):
            return False
        self._cancel_restore()
        self.source = self.source_optimizer = None
        self.doc.set_results(None, None, None)
        self.dashboard.reset(None)
        self.diagnostics.clear()
        self.say("Weights reset: the next run starts afresh.")
        self.update_state()
        return True

    # ------------------------------------------------------------------ events
    def _events(self, batch: list) -> None:
        if self.discard:
            return
        self.dashboard.add(batch)
        probe = None
        for ev in batch:
            if isinstance(ev, StepEvent):
                self.progress.step(ev)
            elif isinstance(ev, ProbeEvent):
                probe = ev
            elif isinstance(ev, StageEvent):
                self._stage(ev)
            elif isinstance(ev, CompareEvent):
                self._compared_run(ev)
            elif isinstance(ev, PhaseEvent):
                self._phase(ev)
            elif isinstance(ev, Download):
                self.panel.dataset.show_progress(ev.done, ev.total)
            elif isinstance(ev, FailedEvent):
                self.say(ev.message, error=True)
        if probe is not None:
            self.live_probes.add(probe)         # shown at most twice a second
        now = time.monotonic()
        if self.worker.kind in ("train", "compare") and self.progress.last is not None \
                and now - self._progress_at >= PROGRESS_S:
            self._progress_at = now
            self.panel.progress.setValue(self.progress.percent())
            self.panel.progress.setFormat(self.progress.text(self.worker.paused))

    def _show_probe(self, probe: ProbeEvent) -> None:
        where = f"pre-training stage {probe.stage}, step" if probe.stage else "at step"
        self.diagnostics.show(probe.layers, f"Live, {where} {probe.step:,}.")

    def _phase(self, ev: PhaseEvent) -> None:
        if ev.phase == "train":
            self.progress.training_begins()
            self.edits.training_begins()
            self.diagnostics.set_stages([], [])
        elif ev.phase == "pretrain":
            self._raise("Pre-training")
        self.panel.status.setText(ev.title[:1].upper() + ev.title[1:] + "…" if ev.title
                                  else self.job_words)     # the data set is loaded

    def _compared_run(self, ev: CompareEvent) -> None:
        self.progress.compared_run_begins(ev)
        self._stages = []
        self.diagnostics.set_stages([], [])
        self.panel.status.setText(ev.title[:1].upper() + ev.title[1:] + "…")

    def _stage(self, ev: StageEvent) -> None:
        self.progress.stage_begins(ev)
        nodes = list(ev.record.get("nodes") or [ev.record.get("node")])
        frozen = [n for stage in self._stages for n in stage]
        self._stages.append(nodes)
        self.diagnostics.set_stages(nodes, frozen)
        self.panel.status.setText(ev.name[:1].upper() + ev.name[1:] + "…")

    # ------------------------------------------------------------------ endings
    def _ended(self, outcome) -> None:
        self.last_outcome = outcome
        self.dashboard.flush()                  # the run's last events, on every plot
        if self.discard:
            self.live_probes.stop()
        self.live_probes.flush()                # its last probe (the ending may show more)
        self.diagnostics.set_stages([], [])
        self.panel.dataset.hide_progress()
        if outcome.dataset is not None and hasattr(outcome.dataset, "reference"):
            self.data.keep(outcome.dataset)
        self.edits.ended()
        if self.discard:                        # another document: nothing of this run is kept
            self.discard = self.edits.applying = False
            self.last_outcome = None
            self.update_state()
            self.finished.emit("stopped")
            return
        if self.edits.applying and outcome.kind == "train" and outcome.status == "stopped" \
                and outcome.run is not None:
            self._adopt(outcome.run)           # the weights of the pause, on the edited net
            if self.edits.go_on(outcome.run):
                return
            outcome.adopted = True
        self.edits.applying = False
        getattr(self, "_ended_" + outcome.kind, self._ended_unknown)(outcome)
        self.update_state()
        self.finished.emit(outcome.status)

    def say(self, text: str, error: bool = False) -> None:
        self.panel.status.setText(text)
        self.panel.status.setStyleSheet("color: #b91c1c; font-weight: 600;" if error else "")
        self.message.emit(text)
