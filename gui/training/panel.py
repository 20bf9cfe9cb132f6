"""The Training panel: data set, every training setting, pre-training, and the run controls
with a progress bar. It holds widgets only: `settings()` reads them into the dict stored in the
document (TrainConfig fields + "dataset" + "pretrain"), `load(settings)` writes them back."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout,
                               QGroupBox, QLabel, QProgressBar, QPushButton, QScrollArea,
                               QSpinBox, QVBoxLayout, QWidget)

import engine
from engine import devices
from engine.run.config import DEFAULT_LR, LOSSES, OPTIMIZERS, SCHEDULES

from .dataset_box import DatasetBox

PRETRAIN_MODES = ("none", "supervised", "unsupervised")
DEFAULT_PRETRAIN = {"mode": "none", "epochs": 3, "lr": None, "noise": 0.25, "tied": False}


def default_settings(input_shape=None) -> dict:
    from engine import suggest_dataset
    name, options = suggest_dataset(input_shape or ())
    cfg = engine.TrainConfig().to_dict()
    cfg["lr"] = DEFAULT_LR[cfg["optimizer"]]
    return {**cfg, "dataset": {"name": name, "options": options},
            "pretrain": dict(DEFAULT_PRETRAIN)}


def _spin(lo, hi, value=0, step=1, decimals=None, tip="") -> QSpinBox | QDoubleSpinBox:
    w = QSpinBox() if decimals is None else QDoubleSpinBox()
    if decimals is not None:
        w.setDecimals(decimals)
    w.setRange(lo, hi)
    w.setSingleStep(step)
    w.setValue(value)
    w.setToolTip(tip)
    w.setKeyboardTracking(False)
    return w


def _combo(items, tip="") -> QComboBox:
    w = QComboBox()
    w.addItems(list(items))
    w.setToolTip(tip)
    return w


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
        self.base: dict = default_settings()
        self.dataset = DatasetBox()
        self.dataset.changed.connect(self.settings_changed)
        self.dataset.download_requested.connect(self.download_requested)
        self._make_fields()
        self._make_controls()
        body = QWidget()
        box = QVBoxLayout(body)
        box.addWidget(self._group("Data", [self.dataset]))
        box.addWidget(self.run_box)
        box.addWidget(self._form_group("Optimisation", self.fields[:9]))
        box.addWidget(self._form_group("Loss, device and probes", self.fields[9:]))
        box.addWidget(self._form_group("Pre-training (greedy, layer-wise)", self.pre_fields))
        box.addStretch(1)
        self.setWidget(body)
        self._loading = False
        for _, w in self.fields + self.pre_fields:
            _changed_signal(w).connect(self._changed)
        self.optimizer.currentTextChanged.connect(self._optimizer_changed)
        self.pre_mode.currentTextChanged.connect(self._pre_enabled)

    # ------------------------------------------------------------------ construction
    def _make_fields(self) -> None:
        self.optimizer = _combo(OPTIMIZERS, "How the weights follow the gradient")
        self.lr = _spin(1e-6, 10.0, 0.001, 0.001, 6, "Learning rate: the size of each step")
        self.momentum = _spin(0.0, 0.9999, 0.9, 0.05, 4, "Momentum (SGD+momentum, Nesterov, "
                                                         "RMSprop)")
        self.batch_size = _spin(1, 65536, 32, 8, tip="Samples per optimizer step")
        self.epochs = _spin(1, 100000, 5, tip="Passes over the training data")
        self.weight_decay = _spin(0.0, 10.0, 0.0, 1e-4, 6, "L2 penalty on the weights")
        self.l1 = _spin(0.0, 100.0, 0.0, 1e-4, 6, "L1 penalty on hidden activations "
                                                   "(pushes rectifier units to zero)")
        self.schedule = _combo(SCHEDULES, "How the learning rate changes over the epochs")
        self.loss = _combo(LOSSES, "auto: cross-entropy for classes, MSE for regression")
        self.device = _combo(devices(), "Where training runs")
        self.seed = _spin(0, 2**31 - 1, 0, tip="Initial weights, data order, dropout")
        self.probe_every = _spin(0, 100000, 20, tip="Per-layer statistics every N steps "
                                                    "(0 turns them off)")
        self.val_fraction = _spin(0.0, 0.9, 0.1, 0.05, 3, "Part of the data kept for "
                                                          "validation")
        self.grad_clip = _spin(0.0, 1e6, 0.0, 0.5, 3, "Rescale the gradient to at most this "
                                                      "norm (0 = off)")
        self.fields = [("optimizer", self.optimizer), ("lr", self.lr),
                       ("momentum", self.momentum), ("batch_size", self.batch_size),
                       ("epochs", self.epochs), ("weight_decay", self.weight_decay),
                       ("l1_activation", self.l1), ("lr_schedule", self.schedule),
                       ("grad_clip", self.grad_clip), ("loss", self.loss),
                       ("device", self.device), ("seed", self.seed),
                       ("probe_every", self.probe_every), ("val_fraction", self.val_fraction)]
        self.pre_mode = _combo(PRETRAIN_MODES, "Pre-train each hidden layer before training: "
                                               "supervised (a temporary output layer) or "
                                               "unsupervised (autoencoders)")
        self.pre_epochs = _spin(1, 1000, 3, tip="Epochs per pre-trained layer")
        self.pre_lr = _spin(0.0, 10.0, 0.0, 0.001, 6, "Pre-training learning rate (0 = the "
                                                      "optimizer's default)")
        self.pre_noise = _spin(0.0, 0.95, 0.25, 0.05, 2, "Denoising: fraction of inputs "
                                                         "masked (unsupervised)")
        self.pre_tied = QCheckBox("tied decoder weights")
        self.pre_fields = [("mode", self.pre_mode), ("epochs", self.pre_epochs),
                           ("lr", self.pre_lr), ("noise", self.pre_noise),
                           ("tied", self.pre_tied)]

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
        self.compare_button = button("Compare with random init", "Train twice from the same "
                                     "seed — with and without pre-training — and overlay the "
                                     "curves", self.compare_clicked, "compare_button")
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

    @staticmethod
    def _form_group(title: str, fields) -> QGroupBox:
        g = QGroupBox(title)
        form = QFormLayout(g)
        for name, w in fields:
            if isinstance(w, QCheckBox):
                form.addRow("", w)
            else:
                form.addRow(name.replace("_", " ").replace("l1 activation", "L1 activation")
                            .replace("weight decay", "L2 (weight decay)"), w)
        return g

    # ------------------------------------------------------------------ reading and writing
    def settings(self) -> dict:
        out = {k: v for k, v in self.base.items() if k not in ("dataset", "pretrain")}
        for name, w in self.fields:
            out[name] = _read(w)
        out["dataset"] = self.dataset.reference()
        pre = {name: _read(w) for name, w in self.pre_fields}
        pre["lr"] = pre["lr"] or None
        out["pretrain"] = pre
        return out

    def load(self, settings: dict) -> None:
        self._loading = True
        try:
            self.base = dict(settings)
            for name, w in self.fields:
                if name in settings and settings[name] is not None:
                    _write(w, settings[name])
            if settings.get("lr") is None:
                self.lr.setValue(DEFAULT_LR.get(self.optimizer.currentText(), 0.01))
            self.dataset.set_reference(settings.get("dataset"))
            pre = {**DEFAULT_PRETRAIN, **(settings.get("pretrain") or {})}
            for name, w in self.pre_fields:
                _write(w, pre[name] if pre[name] is not None else 0.0)
            self._pre_enabled()
        finally:
            self._loading = False

    def _changed(self, *_) -> None:
        if not self._loading:
            self.settings_changed.emit()

    def _optimizer_changed(self, name: str) -> None:
        if not self._loading and self.lr.value() in DEFAULT_LR.values():
            self.lr.setValue(DEFAULT_LR[name])

    def _pre_enabled(self, *_) -> None:
        on = self.pre_mode.currentText() != "none"
        for _, w in self.pre_fields[1:]:
            w.setEnabled(on)
        self.pre_noise.setEnabled(self.pre_mode.currentText() == "unsupervised")
        self.pre_tied.setEnabled(self.pre_mode.currentText() == "unsupervised")

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
        for _, w in self.fields + self.pre_fields:
            w.setEnabled(not running)
        self.dataset.setEnabled(not running and state != "busy")
        if not running:
            self._pre_enabled()


def _changed_signal(w):
    if isinstance(w, QComboBox):
        return w.currentTextChanged
    if isinstance(w, QCheckBox):
        return w.toggled
    return w.valueChanged


def _read(w):
    if isinstance(w, QComboBox):
        return w.currentText()
    if isinstance(w, QCheckBox):
        return w.isChecked()
    return w.value()


def _write(w, value) -> None:
    if isinstance(w, QComboBox):
        if w.findText(str(value)) < 0:
            w.addItem(str(value))
        w.setCurrentText(str(value))
    elif isinstance(w, QCheckBox):
        w.setChecked(bool(value))
    else:
        w.setValue(value)
