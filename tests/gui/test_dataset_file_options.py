"""The options of the user's own data files in the Training panel: shown as controls for the
kind of file, reloading the data when changed, errors in the box, saved and restored."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

import engine
from gui.training import files as tfiles

LABEL_FIRST = "species,a,b\ncat,1,2\ndog,3,4\nbird,5,6\ncat,7,8\n"
NET = [("Linear", {"out_features": 4}), ("Tanh", {}), ("Linear", {"out_features": 3})]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    from gui import dialogs
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a: "discard")
    torch.set_num_threads(1)


def start(win):
    """A window with a network of two inputs, trained on a named data set for now."""
    from gui_helpers import recipe
    session = win.ensure_training()
    cfg = recipe(dataset={"name": "xor", "options": {"samples": 100}}, epochs=1, batch_size=8)
    win.doc.replace(engine.NetworkSpec.sequential((2,), NET, name="t"), None, "t", recipe=cfg)
    return session, session.panel.dataset


def animals_csv(folder):
    """A small CSV whose first column holds the labels."""
    path = folder / "animals.csv"
    path.write_text(LABEL_FIRST)
    return path


def open_file(box, monkeypatch, path, what="__open_file__"):
    """The person picks "Open file…" (or "Open image folder…") and chooses `path`."""
    ask = "ask_data_path" if what == "__open_file__" else "ask_data_folder"
    monkeypatch.setattr(tfiles, ask, lambda *a: str(path))
    box.combo.activated.emit(box.combo.findData(what))


def animals_opened(win, folder, monkeypatch):
    """(session, dataset box, path): the window training on the animals CSV, opened from the
    list."""
    session, box = start(win)
    path = animals_csv(folder)
    open_file(box, monkeypatch, path)
    return session, box, path


def pick(combo, data) -> None:
    """Choose the item holding `data`, as a click in the list does."""
    index = next(i for i in range(combo.count()) if combo.itemData(i) == data
                 and type(combo.itemData(i)) is type(data))
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def type_into(qtbot, combo, text) -> None:
    combo.lineEdit().clear()
    qtbot.keyClicks(combo.lineEdit(), text)
    qtbot.keyClick(combo.lineEdit(), Qt.Key_Return)


def loaded(session):
    data = session.data.dataset_for(session.panel.dataset.reference())
    assert isinstance(data, engine.Dataset), "the chosen data set was not loaded"
    return data


def test_a_csv_shows_its_options_and_label_column_zero_reloads_it(qtbot, window, tmp_path,
                                                                  monkeypatch):
    s, box = start(window)
    assert "label" not in box.option_widgets                # xor: its own options
    path = animals_csv(tmp_path)
    open_file(box, monkeypatch, path)
    assert box.reference()["name"] == str(path)
    assert list(box.option_widgets) == ["label", "header", "task", "delimiter", "normalise"]
    label = box.option_widgets["label"]
    assert [label.itemText(i) for i in range(label.count())] == [
        "last column · b", "column 0 · species", "column 1 · a", "column 2 · b"]
    assert label.currentData() == -1 and "0 for the first" in label.toolTip()
    assert box.option_widgets["header"].currentText() == "auto"
    assert box.option_widgets["delimiter"].currentText() == "auto"
    # the default (last column as label) leaves the names among the inputs: the engine's error
    assert "line 2, column 1: 'cat' is not a number" in box.summary.text()
    assert "b91c1c" in box.summary.styleSheet()
    pick(label, 0)
    assert window.doc.recipe.data.options["label"] == 0
    assert box.summary.text().startswith("4 samples · input 2 · 3 classes")
    data = loaded(s)
    assert data.classes == ["bird", "cat", "dog"] and data.input_shape == (2,)
    assert data.y.tolist() == [1, 2, 0, 1]


def test_a_label_column_that_does_not_exist_shows_the_engines_message(qtbot, window, tmp_path,
                                                                     monkeypatch):
    s, box, path = animals_opened(window, tmp_path, monkeypatch)
    spec = window.doc.spec
    type_into(qtbot, box.option_widgets["label"], "7")
    assert box.reference()["options"]["label"] == 7
    assert "has 3 columns, so there is no column 7 for the labels" in box.summary.text()
    assert box.reference()["name"] == str(path) and window.doc.spec is spec    # nothing lost
    type_into(qtbot, box.option_widgets["label"], "species")     # a header name works too
    assert box.reference()["options"]["label"] == "species"
    assert box.summary.text().startswith("4 samples · input 2 · 3 classes")
    type_into(qtbot, box.option_widgets["label"], "")
    assert "option label must be a column number" in box.summary.text()
    row = box.options.labelForField(box.option_widgets["label"])
    assert "b91c1c" in row.styleSheet()                          # the refused row is marked
    assert "option label must be" in box.option_widgets["label"].toolTip()


def test_options_are_saved_with_the_document_and_come_back(qtbot, window, tmp_path,
                                                           monkeypatch):
    s, box, path = animals_opened(window, tmp_path, monkeypatch)
    pick(box.option_widgets["label"], 0)
    pick(box.option_widgets["header"], True)
    pick(box.option_widgets["normalise"], "none")
    want = {"label": 0, "header": True, "task": "auto", "delimiter": "auto",
            "normalise": "none"}
    assert window.doc.recipe.data.to_dict() == {"name": str(path), "options": want}
    saved = tmp_path / "net.lwnet"
    assert window.files.save_to(str(saved))
    assert engine.load(saved).recipe.data.to_dict() == {"name": str(path), "options": want}
    window.files.new()
    assert box.reference() == {"name": str(path), "options": want}     # New keeps the data
    box.combo.activated.emit(box.combo.findData("xor"))
    assert "label" not in box.option_widgets
    assert window.open_path(str(saved), ask=False)
    assert box.reference() == {"name": str(path), "options": want}
    assert box.option_widgets["label"].currentText() == "column 0 · species"
    assert box.option_widgets["header"].currentText() == "yes"
    assert box.option_widgets["normalise"].currentText() == "none"
    assert box.combo.currentText() == "animals.csv"
    assert box.summary.text().startswith("4 samples · input 2 · 3 classes")
    assert loaded(s).x.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]     # not normalised


def test_header_and_delimiter_change_the_columns_offered(qtbot, window, tmp_path,
                                                         monkeypatch):
    s, box = start(window)
    path = tmp_path / "semi.csv"
    path.write_text("x;y;kind\n1;2;0\n3;4;1\n5;6;2\n")
    open_file(box, monkeypatch, path)
    assert box.option_widgets["label"].itemText(1) == "column 0 · x"
    pick(box.option_widgets["header"], False)
    assert box.option_widgets["label"].itemText(1) == "column 0"
    assert "line 1, column 1: 'x' is not a number" in box.summary.text()
    pick(box.option_widgets["header"], "auto")
    pick(box.option_widgets["delimiter"], ",")
    assert box.option_widgets["label"].count() == 2                  # one column only
    assert "has only a label column" in box.summary.text()
    pick(box.option_widgets["delimiter"], ";")
    pick(box.option_widgets["task"], "regression")
    assert box.summary.text().startswith("3 samples · input 2 · regression")
    assert loaded(s).task == "regression"


def test_an_npz_file_offers_task_and_normalise(qtbot, window, tmp_path, monkeypatch):
    s, box = start(window)
    path = tmp_path / "d.npz"
    np.savez(path, X=np.arange(12, dtype=np.float32).reshape(6, 2), y=np.array([0, 1, 2] * 2))
    open_file(box, monkeypatch, path)
    assert list(box.option_widgets) == ["task", "normalise"]
    assert "integers" in box.option_widgets["task"].toolTip()
    assert box.summary.text().startswith("6 samples · input 2 · 3 classes")
    pick(box.option_widgets["task"], "regression")
    pick(box.option_widgets["normalise"], "none")
    assert loaded(s).task == "regression" and loaded(s).x[1].tolist() == [2.0, 3.0]


def test_an_image_folder_offers_size_and_colour(qtbot, window, tmp_path, monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        Image.fromarray(np.zeros((4, 6), dtype=np.uint8)).save(tmp_path / "imgs" / cls / "0.png")
    s, box = start(window)
    open_file(box, monkeypatch, tmp_path / "imgs", "__open_folder__")
    assert list(box.option_widgets) == ["size", "color", "stream"]
    assert loaded(s).input_shape == (1, 4, 6)
    size = box.option_widgets["size"]
    size.setText("2x3")
    size.editingFinished.emit()
    assert box.reference()["options"]["size"] == [2, 3]
    assert loaded(s).input_shape == (1, 2, 3)
    size.setText("big")
    size.editingFinished.emit()
    assert "option size must be height x width in pixels" in box.summary.text()


def test_a_shards_folder_opens_with_its_options_and_streams_when_asked(qtbot, window,
                                                                      tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    engine.write_shards(tmp_path / "s", [(x[:25], np.arange(25) % 3),
                                              (x[25:], np.arange(15) % 3)],
                             classes=["cat", "dog", "bird"])
    s, box = start(window)
    open_file(box, monkeypatch, tmp_path / "s", "__open_folder__")
    assert list(box.option_widgets) == ["task", "normalise", "stream"]
    qtbot.waitUntil(lambda: box.summary.text().startswith("40 samples · input 2 · 3 classes"),
                    timeout=30000)                  # read in the background
    assert loaded(s).classes == ["cat", "dog", "bird"] and not loaded(s).streamed
    pick(box.option_widgets["stream"], "yes")
    qtbot.waitUntil(lambda: box.summary.text().startswith("40 samples"), timeout=30000)
    assert loaded(s).streamed and box.reference()["options"]["stream"] == "yes"
    from engine.data import stream
    assert stream.START == "forkserver"      # decoding processes never forked from Qt's
    with qtbot.waitSignal(window.training_finished, timeout=60000) as blocker:
        assert window.start_training()
    assert blocker.args == ["finished"], window.doc.history.get("message")


def test_a_file_of_no_known_kind_is_refused_and_the_choice_kept(qtbot, window, tmp_path,
                                                                monkeypatch):
    s, box = start(window)
    before = box.reference()
    path = tmp_path / "notes.json"
    path.write_text("{}")
    open_file(box, monkeypatch, path)
    assert box.reference() == before and box.combo.currentData() == "xor"
    assert "not a data file Layerwise reads" in box.summary.text()
    assert "The data set is still 'xor'" in box.summary.text()
    assert window.doc.recipe.data.name == "xor"


def test_unknown_or_refused_saved_options_are_kept_and_named(qtbot, window, tmp_path):
    s, box = start(window)
    path = animals_csv(tmp_path)
    cfg = window.doc.recipe.replace(data=engine.DataRef(str(path), {"label": 0,
                                                                    "colour": "red"}))
    window.doc.replace(window.doc.spec.copy(), None, "t", recipe=cfg)
    assert box.reference()["options"]["colour"] == "red"
    assert "has no option 'colour'; it takes label, header" in box.summary.text()
    cfg = cfg.replace(data=engine.DataRef(str(path), {"label": "species", "header": "maybe"}))
    window.doc.replace(window.doc.spec.copy(), None, "t", recipe=cfg)
    assert box.option_widgets["label"].currentText() == "species"
    assert box.reference()["options"]["header"] == "maybe"
    assert "option header must be one of auto, yes, no" in box.summary.text()
    assert "b91c1c" in box.options.labelForField(box.option_widgets["header"]).styleSheet()


def test_a_file_chosen_again_keeps_its_options_and_is_read_again(qtbot, window, tmp_path,
                                                                 monkeypatch):
    s, box, path = animals_opened(window, tmp_path, monkeypatch)
    pick(box.option_widgets["label"], 0)
    pick(box.combo, "xor")
    assert "label" not in box.option_widgets
    pick(box.combo, str(path))                                  # from the list: same options
    assert box.reference()["options"]["label"] == 0
    pick(box.option_widgets["normalise"], "none")
    path.write_text(LABEL_FIRST + "fish,9,9\n")
    open_file(box, monkeypatch, path)                           # opened again: read again
    assert box.reference()["options"]["label"] == 0
    assert box.reference()["options"]["normalise"] == "none"
    assert box.summary.text().startswith("5 samples · input 2 · 4 classes")


def test_a_data_file_changed_or_removed_on_disk_is_read_again(qtbot, window, tmp_path):
    """What was read before is not served for a file that changed since: reopening a network
    (or training it) reads the file as it is now."""
    from gui_helpers import recipe
    session, box = start(window)
    path = animals_csv(tmp_path)
    cfg = recipe(dataset={"name": str(path), "options": {"label": 0}}, epochs=1, batch_size=8)
    spec = engine.NetworkSpec.sequential((2,), NET, name="t")
    window.doc.replace(spec, None, "t", recipe=cfg)
    qtbot.waitUntil(lambda: box.summary.text().startswith("4 samples"), timeout=10000)
    path.write_text(LABEL_FIRST + "dog,9,10\nbird,11,12\n")
    window.doc.replace(spec.copy(), None, "t", recipe=cfg)          # reopened
    qtbot.waitUntil(lambda: box.summary.text().startswith("6 samples"), timeout=10000)
    assert len(session.data.dataset_for(box.reference())) == 6
    path.unlink()
    window.doc.replace(spec.copy(), None, "t", recipe=cfg)
    qtbot.waitUntil(lambda: "does not exist" in box.summary.text(), timeout=10000)
    assert session.data.dataset_for(box.reference()) is None
