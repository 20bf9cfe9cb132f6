"""The training dashboard: dockable plots fed from the `Store` of runs.

`add(events)` feeds the store (the worker calls it at most ~20 times a second); the visible
docks whose data changed are then redrawn in a sweep: one dock per turn of the event loop (so
input and painting go on between them, and no turn stalls for more than one dock), all of them
within a few milliseconds of each other, so that the plots agree on how far the run has got.
Sweeps start at most every MIN_SWEEP_S, and less often when a sweep (from its start until the
last dock is painted) costs the GUI thread more than DRAW_SHARE of the time: drawing holds the
GIL, which the training thread needs too. Data that changes while no more events come (a
pause, the run's end) is still drawn by the next sweep; `flush()` draws everything at once (a
run has ended). A dock hidden behind a tab is redrawn when it is shown. Curves of each layer
use the node's colour (`colours`), and compared runs are told apart by line style.
"""
from __future__ import annotations

import math
import time

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QComboBox, QDockWidget, QLabel, QSizePolicy, QSplitter,
                               QVBoxLayout, QWidget)

import engine
from engine import diagnostics as reading

from .images import BoundaryView, ConfusionView, FiltersView, HeatMap
from .plot_widgets import NO_DATA, SmoothingControl
from .plots import PALETTE, RUN_STYLES, LivePlot, pen
from .series import SMOOTHING, RunData, Store
from . import through_time

LOSS_COLOURS = {"loss": "#93c5fd", "smoothed": "#1d4ed8", "validation": "#dc2626"}
EDIT_COLOUR = "#9333ea"  # the line marking an edit while paused
KEY_GREY = "#4b5563"     # the line style of a run in a legend of overlaid runs
RUN_COLOURS = {"run": "#1d4ed8", "random": "#6b7280", "supervised": "#dc2626",
               "unsupervised": "#16a34a"}
ACT_STATS = {"sparsity": ("sparsity", "fraction of outputs exactly 0"),
             "saturation": ("saturation", "fraction near the bounds"),
             "dead units": ("dead", "fraction of units dead")}
NO_ACTIVATIONS = ("This network has no activation layer (ReLU, Tanh, Sigmoid, …) whose outputs "
                  "the probes could measure")
MIN_SWEEP_S = 0.25       # live redraws: a sweep over the changed docks at most 4 times a second
DRAW_SHARE = 0.06        # ... and drawing (painting too) at most this share of the time
UNITS = {       # what is redrawn at once: (its dock, the kinds of data it shows)
    "Loss": ("Loss", ("steps", "epochs")), "Accuracy": ("Accuracy", ("epochs",)),
    "Weight gradient": ("Gradients", ("probes",)),
    "Back-propagated gradient": ("Gradients", ("probes",)),
    "Gradient map": ("Gradient map", ("probes",)), "Activations": ("Activations", ("probes",)),
    "Through time": ("Through time", ("probes",)),
    "Pre-training": ("Pre-training", ("stages",)),
    "Decision boundary": ("Decision boundary", ("boundary",)),
    "Filters": ("Filters", ("filters",)), "Confusion": ("Confusion", ("confusion",))}
WEIGHT_STATS = ("grad_rms", "grad_norm", "grad_ratio")      # the weight-gradient plot's choice
DELTA_STATS = ("delta_rms", "delta_norm")                   # the back-propagated one's
GRADIENT_NOTE = ("RMS per weight compares layers of any size (the norm grows with √n)",
                 "‖∂L/∂W‖, the norm of a layer's weight gradient, grows with the square root of "
                 "its number of weights n: a 784×100 layer's is √7.84 = 2.8 times a 100×100 "
                 "layer's for the same gradient per weight. The RMS per weight (‖∂L/∂W‖/√n) "
                 "compares layers of different sizes; ‖∂L/∂W‖/‖W‖ is the gradient relative to "
                 "the weights (an SGD step changes them by the learning rate times this).")


class Dashboard:
    def __init__(self, window):
        self.window = window
        self.store = Store()
        self.labels: dict[str, str] = {}
        self.colours: dict[str, str] = {}
        self.log_x = False
        self.loss = LivePlot("Loss", "step", "loss", y_floor=0.0)
        self.smoothing = SmoothingControl(SMOOTHING)     # the weight, as the person left it
        self.store.set_smoothing(self.smoothing.weight())
        self.smoothing.changed.connect(lambda *_: self._draw("Loss", force=True))
        self.loss.tools.insertWidget(0, self.smoothing)
        self.accuracy = LivePlot("Accuracy", "epoch", "accuracy", y_range=(0.0, 1.0),
                                 legend_at_bottom=True,     # the curves climb to the top
                                 empty_text=NO_DATA + "\n\nDrawn after each epoch.")
        self.weight_grad = LivePlot("Weight gradient", "step", stat_name(WEIGHT_STATS[0]),
                                    log_y=True)
        self.delta_grad = LivePlot("Back-propagated gradient", "step",
                                   stat_name(DELTA_STATS[0]), log_y=True)
        self.activations = LivePlot("Activations", "step", "fraction of outputs exactly 0",
                                    y_range=(0.0, 1.0))
        self.act_stat = QComboBox()
        self.act_stat.setObjectName("activation_stat")
        self.act_stat.addItems(list(ACT_STATS))
        self.act_stat.setToolTip("Which statistic of the activation layers is plotted")
        self.act_stat.currentTextChanged.connect(self._act_stat_changed)
        self.activations.tools.insertWidget(0, self.act_stat)
        self.pretrain = LivePlot("Pre-training", "pre-training step", "loss",
                                 empty_text="No pre-training yet: set a mode under Pre-training "
                                 "in the Training panel, then press Train")
        self.through_time = through_time.make_plot()
        self.heat = HeatMap()
        self.heat_stat = stat_choice(WEIGHT_STATS + DELTA_STATS, expanding=True)
        self.heat_stat.currentIndexChanged.connect(lambda *_: self._draw("Gradient map", True))
        self.heat.tools.insertWidget(0, self.heat_stat, 2)     # room for its name first
        self.grad_stat = stat_choice(WEIGHT_STATS)
        self.grad_stat.currentIndexChanged.connect(
            lambda *_: self._stat_changed(self.weight_grad, self.grad_stat, "Weight gradient"))
        self.weight_grad.tools.insertWidget(0, self.grad_stat)
        self.delta_stat = stat_choice(DELTA_STATS)
        self.delta_stat.currentIndexChanged.connect(lambda *_: self._stat_changed(
            self.delta_grad, self.delta_stat, "Back-propagated gradient"))
        self.delta_grad.tools.insertWidget(0, self.delta_stat)
        self.boundary, self.filters, self.confusion = BoundaryView(), FiltersView(), \
            ConfusionView()
        self._views = {"Loss": self.loss, "Accuracy": self.accuracy,     # what each unit draws
                       "Weight gradient": self.weight_grad,
                       "Back-propagated gradient": self.delta_grad, "Gradient map": self.heat,
                       "Activations": self.activations, "Through time": self.through_time,
                       "Pre-training": self.pretrain,
                       "Decision boundary": self.boundary, "Filters": self.filters,
                       "Confusion": self.confusion}
        self.docks: dict[str, QDockWidget] = {}
        self.edit_steps: list[int] = []       # steps after which the network was edited
        self._mark_lines: list[tuple] = []
        self._drawn: dict[str, tuple] = {}
        self._drawn_runs: dict[str, tuple] = {}     # the runs each unit's curves are named for
        self._drawn_at: dict[str, float] = {}
        self._sweep: list[str] = []          # units still to draw in the current sweep
        self._sweep_began: tuple | None = None   # (time.monotonic(), time.thread_time())
        self._next_sweep = 0.0               # time.monotonic() before which none starts
        self._timer = QTimer(window)
        self._timer.setObjectName("dashboard_redraw")
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._sweep_step)
        self._build_docks()

    # ------------------------------------------------------------------ docks
    def _build_docks(self) -> None:
        """Each view into its dock (made by the window at the start, named dash_<title>)."""
        spec = [("Loss", self.loss), ("Accuracy", self.accuracy),
                ("Gradients", _stack(self.weight_grad, self.delta_grad, note=GRADIENT_NOTE)),
                ("Gradient map", self.heat),
                ("Activations", self.activations), ("Through time", self.through_time),
                ("Pre-training", self.pretrain), ("Decision boundary", self.boundary),
                ("Filters", self.filters), ("Confusion", self.confusion)]
        for title, widget in spec:
            name = "dash_" + title.lower().replace(" ", "_").replace("-", "_")
            dock = self.window.fill_panel(name, widget)
            dock.visibilityChanged.connect(lambda on, t=title: on and self._draw_dock(t))
            self.docks[title] = dock

    def plots(self) -> list[LivePlot]:
        return [self.loss, self.accuracy, self.weight_grad, self.delta_grad, self.activations,
                self.pretrain, self.through_time]

    # ------------------------------------------------------------------ data in
    def set_nodes(self, labels: dict[str, str], colours: dict[str, str]) -> None:
        self.labels, self.colours = labels, colours

    def reset(self, history: dict | None = None, keep_curves: bool = False) -> None:
        """Show `history` (or nothing). `keep_curves` (a new run of the same network) empties
        the curves instead of removing them."""
        self.store.reset(history)
        for p in self.plots():
            p.empty() if keep_curves else p.clear()
        self.edit_steps = engine.network_edits(history)
        self._draw_marks()
        for choice in (self.grad_stat, self.delta_stat, self.heat_stat):
            self._choose_recorded(choice)
        self.refresh(force=True)

    def _choose_recorded(self, choice: QComboBox) -> None:
        """A history saved before a statistic was probed (the per-weight RMS) shows the first
        one of the choice that it has; a later one that has the first gets it back (unless
        the person chose another meanwhile)."""
        recorded = {stat for _, stat in self.store.run.probes}
        stats = [choice.itemData(i) for i in range(choice.count())]
        found = [s for s in stats if s in recorded]
        if choice.property("auto") and (not recorded or stats[0] in recorded):
            choice.setCurrentIndex(0)
            choice.setProperty("auto", False)
        elif found and choice.currentData() not in recorded:
            choice.setCurrentIndex(stats.index(found[0]))
            choice.setProperty("auto", True)

    def prepare(self, weighted: list[str], activations: list[str]) -> None:
        """Create the layer curves before a run starts (in network order), so that the first
        refresh during training only sets their data."""
        for plot, nodes in ((self.weight_grad, weighted), (self.delta_grad, weighted),
                            (self.activations, activations)):
            for node in nodes:
                plot.curve(self.labels.get(node, node), self.colours.get(node, PALETTE[0]))
        self.loss.curve("loss", LOSS_COLOURS["loss"])
        self.loss.curve("smoothed", LOSS_COLOURS["smoothed"], width=2)
        self.loss.curve("validation", LOSS_COLOURS["validation"], symbol="o")

    def begin_compare(self) -> None:
        self.store.runs, self.store.current = {}, "random"
        self.store.begin_run("random")
        for p in self.plots():
            p.clear()

    def add(self, events: list) -> None:
        self.store.add(events)
        self.refresh()

    def set_log_x(self, on: bool) -> None:
        self.log_x = on
        for p in self.plots():
            if p is not self.through_time:      # its x is the sequence, not the steps
                p.set_log_x(on)
        self._draw_marks()

    def mark_edit(self, step: int) -> None:
        """Training went on with an edited network after `step`: a line on the step plots."""
        self.edit_steps.append(step)
        self._draw_marks()

    def _draw_marks(self) -> None:
        for plot, line in self._mark_lines:
            plot.plot.removeItem(line)
        self._mark_lines = []
        for plot in (self.loss, self.weight_grad, self.delta_grad, self.activations):
            for step in self.edit_steps:
                at = math.log10(max(step, 1)) if self.log_x else step
                named = {"label": "edited", "labelOpts": {
                    "position": 0.92, "color": EDIT_COLOUR, "anchors": [(0, 0), (0, 0)]}} \
                    if plot is self.loss else {}        # the small plots: the line alone
                line = pg.InfiniteLine(at, angle=90, pen=pen(EDIT_COLOUR, 1, Qt.DashLine),
                                       **named)
                line.setToolTip(f"The network was edited after step {step:,}; training went "
                                f"on with the edited network.")
                plot.plot.addItem(line, ignoreBounds=True)
                self._mark_lines.append((plot, line))

    # ------------------------------------------------------------------ drawing
    def refresh(self, force: bool = False) -> None:
        """Redraw: with `force`, every dock now; otherwise the visible docks whose data
        changed, in the next sweep."""
        if force:
            self._end_sweep()
            for unit in UNITS:
                self._draw(unit, True)
            return
        if not self._timer.isActive():      # else a sweep or its start is on its way
            wait = self._next_sweep - time.monotonic()
            self._timer.start(max(0, math.ceil(wait * 1000)))

    def flush(self) -> None:
        """Draw every visible dock whose data changed, now (a run has ended)."""
        self._end_sweep()
        for unit in self._changed():
            self._draw(unit)

    def stop(self) -> None:
        """No more redraws (the window closes)."""
        self._end_sweep()

    def _changed(self) -> list[str]:
        """The units on a visible dock whose data changed since drawn, longest undrawn first."""
        changed = [u for u, (dock, kinds) in UNITS.items()
                   if not self.docks[dock].visibleRegion().isEmpty()
                   and self._drawn.get(u) != self.store.signature(kinds)]
        return sorted(changed, key=lambda u: self._drawn_at.get(u, 0.0))

    def _sweep_step(self) -> None:
        """One turn of a sweep: its first dock (the sweep begins), the next one, or, after
        the last, the closing turn, which times the sweep with the painting that followed."""
        if not self._sweep:
            if self._sweep_began is not None:
                self._close_sweep()
                return
            self._sweep = self._changed()
            if not self._sweep:
                return
            self._sweep_began = (time.monotonic(), time.thread_time())
        unit = self._sweep.pop(0)
        self._draw(unit)
        self._views[unit].repaint()        # painted now, so that the sweep's cost counts it
        self._timer.start(0)               # the next dock after the events waiting

    def _close_sweep(self) -> None:
        (began, cpu), self._sweep_began = self._sweep_began, None
        cost = time.thread_time() - cpu     # this thread's work only, not waits for the GIL
        self._next_sweep = began + max(MIN_SWEEP_S, cost / DRAW_SHARE)
        if self._changed():                # changed while drawing: no event may come to ask
            self.refresh()

    def _end_sweep(self) -> None:
        self._timer.stop()
        self._sweep = []
        self._sweep_began = None

    def _draw_dock(self, title: str) -> None:
        for unit, (dock, _) in UNITS.items():
            if dock == title:
                self._draw(unit, True)

    def _draw(self, unit: str, force: bool = False) -> None:
        signature = self.store.signature(UNITS[unit][1])
        if not force and self._drawn.get(unit) == signature:
            return
        self._drawn[unit] = signature
        self._drawn_at[unit] = time.monotonic()
        runs = tuple(self.store.runs)
        if self._drawn_runs.get(unit, runs) != runs:     # one run became several (a comparison
            for plot in self.plots():                    # began): curves named for one go
                if plot.title == unit:
                    plot.clear()
        self._drawn_runs[unit] = runs
        getattr(self, "_draw_" + unit.lower().replace(" ", "_").replace("-", "_"))()
        for plot in self.plots():
            if plot.title == unit:
                plot.fit_view()

    def _runs(self) -> list[RunData]:
        return list(self.store.runs.values())

    def _name(self, run: RunData, what: str) -> str:
        return what if len(self.store.runs) == 1 else f"{run.name}: {what}"

    def _draw_loss(self) -> None:
        self.store.set_smoothing(self.smoothing.weight())     # the whole run, if it changed
        single = len(self.store.runs) == 1
        for run in self._runs():
            colour = RUN_COLOURS.get(run.name, PALETTE[0])
            style = RUN_STYLES.get(run.name, Qt.SolidLine)
            if single:
                self.loss.set_curve("loss", *run.loss.data(), LOSS_COLOURS["loss"], width=1)
            self.loss.set_curve(self._name(run, "smoothed"), *run.smooth.data(),
                                LOSS_COLOURS["smoothed"] if single else colour, width=2,
                                style=style)
            self.loss.set_curve(self._name(run, "validation"), *run.val_loss.data(),
                                LOSS_COLOURS["validation"] if single else colour, width=1,
                                style=style, symbol="o")

    def _draw_accuracy(self) -> None:
        single = len(self.store.runs) == 1
        for run in self._runs():
            colour = RUN_COLOURS.get(run.name, PALETTE[0])
            style = RUN_STYLES.get(run.name, Qt.SolidLine)
            self.accuracy.set_curve(self._name(run, "training"), *run.train_acc.data(),
                                    "#1d4ed8" if single else colour, style=style, symbol="t")
            self.accuracy.set_curve(self._name(run, "validation"), *run.val_acc.data(),
                                    "#dc2626" if single else colour, style=style, symbol="o",
                                    width=2)

    def _layer_curves(self, plot: LivePlot, stat: str) -> None:
        runs = self._runs()
        overlaid, layers = len(runs) > 1, {}
        for run in runs:
            style = RUN_STYLES.get(run.name, Qt.SolidLine)
            for node in run.layers:
                buf = run.series(node, stat)
                if buf is None or not len(buf):
                    continue
                label = self.labels.get(node, node)
                layers[label] = self.colours.get(node, PALETTE[0])
                plot.set_curve(self._name(run, label), *buf.data(), layers[label], style=style,
                               legend=not overlaid)
        if overlaid:
            plot.set_key(self._key(layers, runs))

    @staticmethod
    def _key(colours: dict[str, str], runs: list[RunData]) -> list[tuple]:
        """Overlaid runs: each layer (or stage) once in its colour, each run once in its line
        style."""
        return [(name, colour, Qt.SolidLine) for name, colour in colours.items()] + \
            [(run.name, KEY_GREY, RUN_STYLES.get(run.name, Qt.SolidLine)) for run in runs]

    def _draw_weight_gradient(self) -> None:
        self._layer_curves(self.weight_grad, self.grad_stat.currentData())

    def _draw_back_propagated_gradient(self) -> None:
        self._layer_curves(self.delta_grad, self.delta_stat.currentData())

    def _stat_changed(self, plot: LivePlot, choice: QComboBox, unit: str) -> None:
        """Another gradient statistic for `plot`: its curves start again from the run's data."""
        plot.clear()
        plot.plot.setLabel("left", stat_name(choice.currentData()))
        self._draw(unit, force=True)

    def _draw_activations(self) -> None:
        self._layer_curves(self.activations, ACT_STATS[self.act_stat.currentText()][0])
        run = self.store.run        # probed, but nothing to plot: say why, not "press Train"
        none = bool(run.layers) and not any(stat == "sparsity" for _, stat in run.probes)
        self.activations.message.setText(NO_ACTIVATIONS if none else NO_DATA)

    def show_activation_stat(self, name: str) -> None:
        """Plot `name` (a key of ACT_STATS) for the activation layers."""
        self.act_stat.setCurrentText(name)

    def _act_stat_changed(self, name: str) -> None:
        self.activations.clear()
        self.activations.plot.setLabel("left", ACT_STATS[name][1])
        self._draw("Activations", force=True)

    def _draw_gradient_map(self) -> None:
        run = self.store.run
        stat = self.heat_stat.currentData()
        rows = [n for n in run.layers if run.series(n, stat) is not None]
        self.heat.bar.setLabel("left", "log10 " + stat_name(stat))
        self.heat.show([self.labels.get(n, n) for n in rows],
                       [run.series(n, stat).data() for n in rows])

    def _draw_through_time(self) -> None:
        through_time.draw(self.through_time, self._runs(), self.labels, self.colours,
                          self._name)

    def _draw_pre_training(self) -> None:
        runs = self._runs()
        overlaid, stages = len(runs) > 1, {}
        for run in runs:
            per_epoch = not run.stages                   # a saved history keeps epochs only
            self.pretrain.plot.setLabel("bottom", "pre-training " + ("epoch" if per_epoch
                                                                     else "step"))
            for i, (stage, buf) in enumerate(sorted((run.stage_epochs if per_epoch
                                                     else run.stages).items())):
                name = run.stage_names.get(stage, f"stage {stage}")
                stages[name] = PALETTE[i % len(PALETTE)]
                self.pretrain.set_curve(self._name(run, name), *buf.data(), stages[name],
                                        style=RUN_STYLES.get(run.name, Qt.SolidLine),
                                        legend=not overlaid)
        if overlaid:
            self.pretrain.set_key(self._key(stages, [r for r in runs if r.stages
                                                     or r.stage_epochs]))

    def _draw_decision_boundary(self) -> None:
        shown = self.store.run.boundary
        self.boundary.show(shown) if shown is not None else self.boundary.clear()

    def _draw_filters(self) -> None:
        shown = self.store.run.filters
        self.filters.show(shown, self.labels) if shown is not None else self.filters.clear()

    def _draw_confusion(self) -> None:
        shown = self.store.run.confusion
        self.confusion.show(shown) if shown is not None else self.confusion.clear()


def stat_name(stat: str) -> str:
    return reading.GRADIENT_STATS[stat][0]


def stat_choice(stats: tuple[str, ...], expanding: bool = False) -> QComboBox:
    """A choice of gradient statistics (engine.diagnostics.GRADIENT_STATS), each with its
    one-line meaning as a tooltip; the first is chosen."""
    box = QComboBox()
    for stat in stats:
        name, meaning = reading.GRADIENT_STATS[stat]
        box.addItem(name, stat)
        box.setItemData(box.count() - 1, f"{name}: {meaning}", Qt.ToolTipRole)
    box.setToolTip("Which gradient statistic is plotted (hover an entry for its meaning)")
    box.activated.connect(lambda *_: box.setProperty("auto", False))   # the person's choice
    box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(10)
    if expanding:
        box.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
    return box


def _stack(*plots, note: tuple[str, str] | None = None) -> QWidget:
    split = QSplitter(Qt.Vertical)
    for p in plots:
        split.addWidget(p)
    holder = QWidget()
    box = QVBoxLayout(holder)
    box.setContentsMargins(0, 0, 0, 0)
    if note:
        label = QLabel(note[0])               # one line; the whole explanation on hover
        label.setToolTip(note[1])
        label.setObjectName("gradient_note")
        label.setWordWrap(True)               # a narrow dock: two short lines, not a wide one
        label.setStyleSheet("color: #4b5563; font-size: 11px; padding: 2px 4px;")
        box.addWidget(label)
    box.addWidget(split)
    return holder
