"""The Training panel: the data set, the run controls with a progress bar, and every setting of
the run's recipe — one editor per field, made from the recipe's Params (engine.Recipe.params()),
as the Inspector's are made from the layer catalogue. It holds widgets only: `recipe()` reads
them into an engine.Recipe (refusing a value out of range with the Param's message, shown next
to the field), `load(recipe)` writes them back."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFormLayout, QGridLayout, QGroupBox, QLabel, QProgressBar,
                               QPushButton, QScrollArea, QVBoxLayout, QWidget)

import engine

from ..editors import ParamEditor
from .dataset_box import DatasetBox

# Which group each part's fields are shown in (fields not named go to the part's last group).
GROUPS = {"train": (("Optimisation", ("optimizer", "lr", "momentum", "batch_size", "epochs",
                                      "weight_decay", "l1_activation", "lr_schedule",
                                      "step_size", "gamma", "grad_clip")),
                    ("Augmentation (images, training batches)", ("augment_flip",
                                                                 "augment_crop")),
                    ("Loss, device and probes", ())),
          "pretrain": (("Pre-training (greedy, layer-wise)", ()),),
          "recipe": (("Process", ()),)}
MOMENTUM_OPTIMIZERS = ("sgd+momentum", "nesterov", "rmsprop")


def default_recipe(input_shape=None, output_shape=None) -> engine.Recipe:
    """The settings of a network that has none (engine.Recipe.suggested)."""
    return engine.Recipe.suggested(input_shape, output_shape)


class TrainingPanel(QScrollArea):
    settings_changed = Signal()
    train_clicked = Signal()
    pause_clicked = Signal()
    stop_clicked = Signal()
    reset_clicked = Signal()
    compare_clicked = Signal()
    download_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("training_panel")
        self.setWidgetResizable(True)
        self.dataset = DatasetBox()
        self.dataset.changed.connect(self.settings_changed)
        self.dataset.download_requested.connect(self.download_requested)
        self.editors: dict[tuple[str, str], ParamEditor] = {}
        self.problems: dict[tuple[str, str], str] = {}
        self.problem_label = QLabel("")
        self.problem_label.setObjectName("settings_problem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #b91c1c;")
        self.problem_label.hide()
        self._make_controls()
        body = QWidget()
        box = QVBoxLayout(body)
        box.addWidget(self._group("Data", [self.dataset]))
        box.addWidget(self.run_box)
        box.addWidget(self.problem_label)
        for group in self._make_forms():
            box.addWidget(group)
        box.addStretch(1)
        self.setWidget(body)
        self._loading = False
        self._enable_dependents()

    # ------------------------------------------------------------------ construction
    def _make_forms(self) -> list[QGroupBox]:
        groups = []
        for part, params in engine.Recipe.params().items():
            if part == "data":
                continue                   # the data set box edits the data reference
            layouts = GROUPS[part]
            forms = []
            for title, _ in layouts:
                g = QGroupBox(title)
                form = QFormLayout(g)
                form.setRowWrapPolicy(QFormLayout.WrapLongRows)    # narrower: field below
                forms.append(form)
                groups.append(g)
            for param in params:
                at = next((i for i, (_, names) in enumerate(layouts) if param.name in names),
                          len(layouts) - 1)
                editor = ParamEditor(param, self)
                editor.edited.connect(lambda _, key=(part, param.name): self._edited(key))
                self.editors[(part, param.name)] = editor
                forms[at].addRow(param.title, editor.widget)
        return groups

    def _make_controls(self) -> None:
        def button(text, tip, signal, name):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.setObjectName(name)
            b.clicked.connect(signal)
            return b
        self.train_button = button("Train (F5)", "Train the network on the data set",
                                   self.train_clicked, "train_button")
        self.pause_button = button("Pause", "Pause or resume training", self.pause_clicked,
                                   "pause_button")
        self.stop_button = button("Stop", "Stop training; the weights so far are kept",
                                  self.stop_clicked, "stop_button")
        self.reset_button = button("Reset weights", "Forget the trained weights and history: "
                                   "the next run starts from fresh initial weights",
                                   self.reset_clicked, "reset_button")
        self.compare_button = button("Compare with random init", "Train from the same seed "
                                     "with and without pre-training (the chosen mode, or "
                                     "both) and overlay the curves", self.compare_clicked,
                                     "compare_button")
        self.progress = QProgressBar()
        self.progress.setObjectName("training_progress")
        self.progress.setTextVisible(True)
        self.progress.setFormat("Ready")
        self.progress.setValue(0)
        self.status = QLabel(" ")
        self.status.setWordWrap(True)
        self.status.setObjectName("training_status")
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        grid = QGridLayout()
        grid.addWidget(self.train_button, 0, 0)
        grid.addWidget(self.pause_button, 0, 1)
        grid.addWidget(self.stop_button, 0, 2)
        grid.addWidget(self.reset_button, 1, 0)
        grid.addWidget(self.compare_button, 1, 1, 1, 2)
        grid.addWidget(self.progress, 2, 0, 1, 3)
        grid.addWidget(self.status, 3, 0, 1, 3)
        self.run_box = QGroupBox("Run")
        self.run_box.setLayout(grid)

    @staticmethod
    def _group(title: str, widgets) -> QGroupBox:
        g = QGroupBox(title)
        box = QVBoxLayout(g)
        for w in widgets:
            box.addWidget(w)
        return g

    # ------------------------------------------------------------------ reading and writing
    def values(self) -> dict[str, dict]:
        """What the editors show, by part: {"train": {...}, "pretrain": {...}, "recipe": {...}}."""
        out: dict[str, dict] = {"train": {}, "pretrain": {}, "recipe": {}}
        for (part, name), editor in self.editors.items():
            out[part][name] = editor.value()
        return out

    def recipe(self) -> engine.Recipe:
        """The recipe shown; engine.LayerwiseError naming every refused field otherwise."""
        if self.problems:
            raise engine.LayerwiseError("; ".join(self.problems.values()))
        v = self.values()
        return engine.Recipe(engine.TrainConfig(**v["train"]),
                             engine.PretrainConfig(**v["pretrain"]),
                             engine.DataRef(**self.dataset.reference()), **v["recipe"])

    def load(self, recipe: engine.Recipe) -> None:
        self._loading = True
        try:
            parts = {"train": recipe.train.to_dict(), "pretrain": recipe.pretrain.to_dict(),
                     "recipe": {"threads": recipe.threads}}
            for (part, name), editor in self.editors.items():
                editor.set_value(parts[part][name])
            self._show_default_rates()
            self.dataset.set_reference(recipe.data.to_dict())
            self.problems.clear()
            self._show_problems()
        finally:
            self._loading = False
        self._enable_dependents()

    def _edited(self, key: tuple[str, str]) -> None:
        editor = self.editors[key]
        try:
            editor.param.validate(editor.value())
            self.problems.pop(key, None)
        except ValueError as exc:
            self.problems[key] = str(exc)
        self._show_problems()
        self._enable_dependents()
        if key[1] == "optimizer":
            self._show_default_rates()
        if not self._loading and not self.problems:
            self.settings_changed.emit()

    def _show_problems(self) -> None:
        for key, editor in self.editors.items():
            editor.set_problem(self.problems.get(key, ""))
        text = "; ".join(self.problems.values())
        self.problem_label.setText(f"Not accepted: {text}." if text else "")
        self.problem_label.setVisible(bool(text))

    def _show_default_rates(self) -> None:
        """An unset learning rate shows the optimizer's usual rate in its (disabled) field."""
        for part in ("train", "pretrain"):
            lr = self.editors[(part, "lr")]
            if lr.value() is None:
                rate = engine.DEFAULT_LR[self.editors[(part, "optimizer")].value()]
                lr.field.blockSignals(True)
                lr.field.setValue(rate)
                lr.field.blockSignals(False)

    def _enable_dependents(self, running: bool = False) -> None:
        """Fields that do nothing with the other settings as they are, greyed out."""
        v = {key: e.value() for key, e in self.editors.items()}
        mode = v[("pretrain", "mode")]
        rules = {("train", "momentum"): v[("train", "optimizer")] in MOMENTUM_OPTIMIZERS,
                 ("train", "step_size"): v[("train", "lr_schedule")] == "step",
                 ("train", "gamma"): v[("train", "lr_schedule")] == "step",
                 ("pretrain", "noise"): mode == "unsupervised",
                 ("pretrain", "tied"): mode == "unsupervised"}
        for key, editor in self.editors.items():
            on = rules.get(key, key[0] != "pretrain" or key[1] == "mode" or mode != "none")
            editor.widget.setEnabled(on and not running)

    # ------------------------------------------------------------------ state
    def set_state(self, state: str, has_weights: bool) -> None:
        """idle, training, paused, stopping or busy (a data or probe job)."""
        running = state in ("training", "paused", "stopping")
        self.train_button.setEnabled(state == "idle")
        self.pause_button.setEnabled(state in ("training", "paused"))
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(state in ("training", "paused", "busy"))
        self.reset_button.setEnabled(state == "idle" and has_weights)
        self.compare_button.setEnabled(state == "idle")
        self._enable_dependents(running)
        self.dataset.setEnabled(not running and state != "busy")
