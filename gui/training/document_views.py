"""What the training views show of the open document: reset or restored from it when it is
replaced (New, Open, Revert), the layer curves and colours of its network, and the views its
stored weights allow (computed by gui.training.restore). A part of TrainingSession
(gui.training.session), kept apart from running jobs."""
from __future__ import annotations

import engine

from .endings import summary
from .panel import default_recipe
from .plots import PALETTE
from .progress import Progress


class DocumentViews:
    """TrainingSession's methods that derive the views from the document."""

    def document_replaced(self) -> None:
        """Every view, message and mark shows the new document (New, Open, Revert): what its
        file holds, or nothing; the views its weights allow are computed in the background."""
        if self.busy:
            self.discard = True
            self.worker.wait()
        self._cancel_restore()
        self.edits.ended()
        doc = self.doc
        if doc.recipe is None:
            doc.recipe = default_recipe(self._input_shape(),    # so that Save stores it
                                        self.doc.analysis.output_shape)
        self.panel.load(doc.recipe)
        self.source, self.source_optimizer = doc.model, doc.optimizer_state
        self.comparison = None
        self._name_nodes()
        self.dashboard.reset(doc.history)
        weighted, acts = self._prepare_curves()     # now rather than at the first Train
        kinds = [engine.LAYERS[doc.spec.nodes[n].kind] for n in acts]
        self.dashboard.show_activation_stat(      # what a sigmoid/tanh stack is about
            "saturation" if kinds and all(k.bounds for k in kinds) else "sparsity")
        self._show_own_stats("From the saved history (last probe).")
        self.diagnostics.set_stages([], [])
        self.data.show()
        self._show_document_state()
        self._restore_views()
        self.update_state()

    def _show_document_state(self) -> None:
        """The Run box as a new document has it: ready, or where its training got to."""
        history = self.doc.history
        done = engine.finished_epochs(history or {})
        steps = len((history or {}).get("steps") or [])
        self.progress = Progress()
        self.panel.progress.setValue(0)
        self.panel.progress.setFormat(
            f"Trained {done} epoch{'s' if done != 1 else ''}" if done else
            f"Trained {steps:,} step{'s' if steps != 1 else ''}" if steps else "Ready")
        where = summary(history) or f"After {steps:,} steps of the first epoch."
        self.say(f"Trained weights from the file. {where} Train continues from "
                 f"them." if self.doc.model is not None and (done or steps) else
                 "Ready: choose the data and press Train (F5).")

    def _restore_views(self) -> None:
        """The decision boundary, confusion matrix and filters of the stored weights: the
        filters at once, the rest once the Training panel has read the data set (its preview
        reads it anyway: `_data_chosen` starts them again with it)."""
        doc = self.doc
        if doc.model is None or not doc.analysis.ok:
            return
        ref = self.panel.dataset.reference()
        data = self.data.dataset_for(ref) if ref["name"] else None
        self._restore_pending = data is None and bool(ref["name"]) and \
            not self.panel.dataset.needs_download()
        cfg = doc.recipe.train
        history = doc.history or {}
        steps = history.get("steps") or []
        data = data.with_target(cfg.target) if data is not None else None  # as it trained
        self.restorer.start(doc.model, data, cfg.val_fraction, cfg.seed,
                            engine.finished_epochs(history),
                            int(steps[-1]["step"]) if steps else 0)

    def _data_chosen(self, info) -> None:
        if info is not None and self._restore_pending and not self.busy:
            self._restore_views()

    def _cancel_restore(self) -> None:
        self._restore_pending = False
        self.restorer.cancel()

    def _views_restored(self, events: list) -> None:
        if not self.busy:
            self.dashboard.add(events)
            self.dashboard.flush()

    def _input_shape(self):
        a = self.doc.analysis
        return a.shapes.get(a.input_id) if a.input_id else None

    def _name_nodes(self) -> None:
        spec = self.doc.spec
        labels = {n: spec.label(n) for n in spec.nodes}
        colours = {}                 # counted per plot: the gradient plots show the weighted
        for group in self._probed():     # layers, the activation plot the activation layers
            colours.update({n: PALETTE[i % len(PALETTE)] for i, n in enumerate(group)})
        self.dashboard.set_nodes(labels, colours)
        self.diagnostics.colours = colours

    def _prepare_curves(self) -> tuple[list[str], list[str]]:
        """The layer curves of the network as it is now (kept by a run of the same one)."""
        self._curves_for = self.doc.spec.copy()
        weighted, acts = self._probed()
        self.dashboard.prepare(weighted, acts)
        return weighted, acts

    def _probed(self) -> tuple[list[str], list[str]]:
        """(parameterised nodes, activation nodes) of the network, in its order."""
        spec, a = self.doc.spec, self.doc.analysis
        order = [n for n in a.order if n in spec.nodes]
        weighted = [n for n in order if a.params.get(n)
                    and engine.LAYERS[spec.nodes[n].kind].category != "Activation"]
        acts = [n for n in order if engine.LAYERS[spec.nodes[n].kind].category == "Activation"]
        return weighted, acts
