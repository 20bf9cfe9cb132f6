"""The Training panel is made from the recipe's Params: one editor per setting, and a value out
of range is refused with the Param's message, never changed behind the person's back."""
from __future__ import annotations

import pytest

import engine
from gui.editors import INT_LIMIT
from gui_helpers import field, recipe
from recipe_params import NUMERIC, out_of_range


@pytest.fixture
def session(window, monkeypatch):
    from gui import dialogs
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")
    s = window.ensure_training()
    window.doc.replace(engine.NetworkSpec.sequential((2,), [("Linear", {"out_features": 2})]),
                       None, "t", recipe=recipe(dataset={"name": "xor", "options": {}}))
    return s


def test_the_panel_has_one_editor_per_setting_of_the_recipe(session):
    wanted = {(part, p.name) for part, params in engine.Recipe.params().items()
              if part != "data" for p in params}
    assert set(session.panel.editors) == wanted
    shown, doc = session.panel.recipe(), session.doc.recipe
    assert (shown.train, shown.pretrain, shown.threads) == (doc.train, doc.pretrain, doc.threads)


@pytest.mark.parametrize("part, param", NUMERIC, ids=[f"{a}.{p.name}" for a, p in NUMERIC])
def test_a_value_out_of_range_is_refused_with_the_allowed_range(session, window, part, param):
    panel = session.panel
    editor = panel.editors[(part, param.name)]
    if editor.null_box is not None:
        editor.null_box.setChecked(False)       # a value of one's own, not the default
    before = session.doc.recipe
    value = out_of_range(param)
    if param.type == "int" and value > INT_LIMIT:     # beyond what a spin box holds
        value = param.min - 1
    editor.field.setValue(value)
    assert param.expected() in panel.problem_label.text() and panel.problem_label.isVisible()
    assert editor.field.property("problem")
    assert session.doc.recipe == before                    # the document keeps its settings
    assert not window.start_training()
    assert "Fix the settings first" in panel.status.text()
    assert param.expected() in panel.status.text()
    editor.set_value(param.default if param.default is not None else param.min or 1)
    editor.edited.emit(editor.value())
    assert not panel.problems and panel.problem_label.isHidden()


def test_what_was_typed_stays_as_typed(session):
    lr, batch = field(session.panel, "lr"), field(session.panel, "batch_size")
    session.panel.editors[("train", "lr")].null_box.setChecked(False)
    lr.setValue(-1)
    batch.setValue(0)
    assert lr.value() == -1 and batch.value() == 0          # not 1.0, not back to 32
    assert len(session.panel.problems) == 2


def test_fields_that_do_nothing_are_greyed_out(session):
    panel = session.panel
    mode = panel.editors[("pretrain", "mode")].field
    noise = panel.editors[("pretrain", "noise")].widget
    assert not noise.isEnabled()
    mode.setCurrentText("unsupervised")
    assert noise.isEnabled() and session.doc.recipe.pretrain.mode == "unsupervised"
    mode.setCurrentText("supervised")
    assert not noise.isEnabled() and panel.editors[("pretrain", "epochs")].widget.isEnabled()
