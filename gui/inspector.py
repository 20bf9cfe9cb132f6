"""The inspector: the selected node's parameters as a form generated from its schema, and what
the analysis says about it (input and output shapes, parameters, FLOPs, problems).

Values apply as they are typed (a moment after the last key); all the values of one field edit,
from its first key to Enter or leaving the field, are one undo step (`TypedParamCommand`). A value
the layer cannot take shows the schema's message under the form and marks the field, keeping the
text being typed; when the edit ends the field shows the node's value again. With nothing
selected the Inspector describes the network.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFormLayout, QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget)

import engine
from engine import describe as D

from .commands import SetParamCommand
from .document import Document
from .editors import ParamEditor


def _label(text: str = "", style: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    if style:
        label.setStyleSheet(style)
    return label


class TypedParamCommand(SetParamCommand):
    """A value entered in the Inspector: the values of one field edit (`edit`, a number the
    Inspector gives each) merge into one undo step, however slowly they are typed."""

    def __init__(self, doc: Document, node_id: str, name: str, value, edit: int):
        super().__init__(doc, node_id, name, value)
        self.edit = edit

    def id(self) -> int:
        return 2

    def mergeWith(self, other) -> bool:
        if not (isinstance(other, TypedParamCommand) and other.edit == self.edit
                and (other.node_id, other.name) == (self.node_id, self.name)):
            return False
        self.new = other.new
        self.setObsolete(self.new == self.old)
        return True


class Inspector(QScrollArea):
    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.node_id: str | None = None
        self.selection: list[str] = []
        self.editors: dict[str, ParamEditor] = {}
        self.edit = 0                       # numbers the field edits (one undo step each)
        self.typing: str | None = None      # the parameter being typed in, if any
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        body = QWidget()
        self.setWidget(body)
        self.box = QVBoxLayout(body)
        self.box.setContentsMargins(10, 8, 10, 8)
        self.title = _label(style="font-size: 13pt; font-weight: 600;")
        self.subtitle = _label(style="color: #6b7280;")
        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setContentsMargins(0, 6, 0, 6)
        self.form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.form.setRowWrapPolicy(QFormLayout.WrapLongRows)     # narrower: field below
        self.error = _label(style="color: #b91c1c; background: #fef2f2; border: 1px solid "
                                  "#fecaca; border-radius: 4px; padding: 4px;")
        self.error.setObjectName("inspector_error")
        self.error.hide()
        self.facts = _label()
        self.facts.setTextFormat(Qt.RichText)
        self.facts.setObjectName("inspector_facts")
        for w in (self.title, self.subtitle, self.form_host, self.error, self.facts):
            self.box.addWidget(w)
        self.box.addStretch(1)
        doc.spec_replaced.connect(lambda: self.show_selection([]))
        doc.params_changed.connect(self._params_changed)
        doc.node_removed.connect(self._node_removed)
        doc.analysis_changed.connect(self._update_facts)
        self.other_problems = lambda: []    # problems beyond the analysis (gui.data_fit's)
        doc.undo_stack.cleanChanged.connect(self._update_facts)     # a save names the file
        self.show_selection([])

    # ------------------------------------------------------------------ what is shown
    def show_selection(self, node_ids: list[str]) -> None:
        node_ids = [n for n in node_ids if n in self.doc.spec.nodes]
        single = node_ids[0] if len(node_ids) == 1 else None
        self.selection = node_ids
        if single != self.node_id or single is None:
            self.node_id = single
            self._build_form()
        self._update_facts()

    def _build_form(self) -> None:
        self.error.hide()
        for editor in self.editors.values():
            editor.stop()
            editor.deleteLater()
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors = {}
        self.typing = None
        if self.node_id is None:
            self.form_host.hide()
            return
        node = self.doc.spec.nodes[self.node_id]
        kind = engine.LAYERS[node.kind]
        self.title.setText(self.doc.spec.label(self.node_id))
        self.subtitle.setText(f"{kind.name} · {kind.category}. {kind.doc}")
        for param in kind.params:
            editor = ParamEditor(param, self.form_host, live=True)
            editor.set_value(node.params[param.name])
            editor.edited.connect(lambda v, name=param.name: self.propose(name, v))
            editor.typed.connect(lambda v, name=param.name: self.propose(name, v, typing=True))
            editor.finished.connect(lambda name=param.name: self._edit_finished(name))
            name = QLabel(param.name)
            name.setToolTip(f"{param.help}. Accepts {param.expected()}.")
            self.form.addRow(name, editor.widget)
            self.editors[param.name] = editor
        if not kind.params:
            self.form.addRow(_label("This layer has no parameters.", "color: #6b7280;"))
        self.form_host.show()

    def propose(self, name: str, value, typing: bool = False) -> bool:
        """Apply a value entered for parameter `name` (`typing`: the field is still being
        typed in); refuse it with the schema's message."""
        node_id = self.node_id
        if node_id is None or node_id not in self.doc.spec.nodes or name not in self.editors:
            return False
        editor = self.editors[name]
        self.typing = name if typing else None
        try:
            cmd = TypedParamCommand(self.doc, node_id, name, value, self.edit)
        except ValueError as exc:
            self.error.setText(f"Not accepted: {exc}." if typing else f"Not changed: {exc}.")
            self.error.show()
            editor.set_problem(str(exc))
            if not typing:              # the edit is over: show the node's value again
                editor.set_value(self.doc.spec.nodes[node_id].params[name])
            return False
        self.error.hide()
        editor.set_problem("")
        if cmd.new != cmd.old:
            self.doc.undo_stack.push(cmd)
        elif not typing:
            editor.set_value(cmd.old)
        return True

    def _edit_finished(self, name: str) -> None:
        """A field edit ended (Enter, leaving the field, a click): the next is a new step;
        a refused value typed last gives way to the node's value."""
        self.edit += 1
        self.typing = None
        editor = self.editors.get(name)
        if editor is not None and self.node_id in self.doc.spec.nodes:
            value = self.doc.spec.nodes[self.node_id].params[name]
            if editor.value() != value:
                editor.set_value(value)
            editor.set_problem("")

    # ------------------------------------------------------------------ following the model
    def _params_changed(self, node_id: str) -> None:
        if node_id == self.node_id:
            params = self.doc.spec.nodes[node_id].params
            for name, editor in self.editors.items():
                if name != self.typing:         # never rewrite the text being typed
                    editor.set_value(params[name])

    def _node_removed(self, node_id: str) -> None:
        if node_id in self.selection:
            self.show_selection([n for n in self.selection if n != node_id])

    def _update_facts(self) -> None:
        a, spec = self.doc.analysis, self.doc.spec
        self.selection = [n for n in self.selection if n in spec.nodes]
        if self.node_id is not None and self.node_id not in spec.nodes:
            self.node_id = None
            self._build_form()
        if self.node_id is not None:
            self.facts.setText(node_facts(spec, a, self.node_id))
        elif self.selection:
            total = sum(a.params.get(n, 0) for n in self.selection)
            flops = sum(a.node_flops.get(n, 0) for n in self.selection)
            self.title.setText(f"{len(self.selection)} layers selected")
            self.subtitle.setText("Select a single layer to edit its parameters.")
            self.facts.setText(_table([("Parameters", D.count(total)),
                                       ("FLOPs per sample", D.flops(flops))]))
        else:
            self.title.setText(spec.name or self.doc.display_name())
            self.subtitle.setText(spec.description or "Select a layer to edit its parameters.")
            self.facts.setText(network_facts(spec, a, len(self.other_problems())))


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><td style='color:#6b7280; padding-right:10px'>{html.escape(k)}</td>"
                    f"<td>{v}</td></tr>" for k, v in rows)
    return f"<table cellspacing='0' cellpadding='2'>{cells}</table>"


def node_facts(spec: engine.NetworkSpec, a: engine.Analysis, node_id: str) -> str:
    rows = []
    ins = a.in_shapes.get(node_id)
    if ins:
        rows.append(("Input shape", ", ".join(D.shape(s) for s in ins)))
    rows.append(("Output shape", f"<b>{D.shape(a.shapes.get(node_id))}</b>"))
    rows.append(("Parameters", D.count(a.params.get(node_id, 0))))
    rows.append(("FLOPs per sample", D.flops(a.node_flops.get(node_id, 0))))
    text = _table(rows)
    if node_id in a.errors:
        text += (f"<p style='color:#b91c1c'><b>Problem:</b> "
                 f"{html.escape(a.errors[node_id])}</p>")
    return text


def network_facts(spec: engine.NetworkSpec, a: engine.Analysis, others: int = 0) -> str:
    """The network's facts; its status counts `others` problems (the data's fit) too."""
    problems = len(a.problems) + others
    rows = [("Layers", str(len(spec.nodes))), ("Connections", str(len(spec.edges))),
            ("Output shape", D.shape(a.output_shape)),
            ("Parameters", f"<b>{D.count(a.total_params)}</b>"),
            ("FLOPs per sample", D.flops(a.flops)),
            ("Status", "<span style='color:#15803d'>valid</span>" if not problems else
             f"<span style='color:#b91c1c'>{problems} problem"
             f"{'s' if problems != 1 else ''}</span>")]
    return _table(rows)
