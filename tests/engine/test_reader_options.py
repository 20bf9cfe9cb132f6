"""The options of the user's own files: which each kind takes, how values are checked, and
what they change in the loaded data."""
from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.data import (FILE_KINDS, Option, check_file_options, check_path, csv_columns,
                         file_kind, file_options, load_dataset)
from engine.data.idx import write_idx
from engine.data.readers import READER_OPTIONS

LABEL_FIRST = "species,a,b\ncat,1,2\ndog,3,4\nbird,5,6\ncat,7,8\n"


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def _image_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        Image.fromarray(np.zeros((4, 6), dtype=np.uint8)).save(tmp_path / "imgs" / cls / "0.png")
    return tmp_path / "imgs"


def test_each_kind_of_file_is_recognised(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 3, 3), dtype=np.uint8))
    (tmp_path / "plain").mkdir()
    assert file_kind(tmp_path / "t.csv") == "csv" and file_kind(tmp_path / "t.TSV") == "csv"
    assert file_kind(tmp_path / "d.npz") == "npz"
    assert file_kind(tmp_path / "train-images-idx3-ubyte") == "idx"
    assert file_kind(tmp_path / "x-images-idx3-ubyte.gz") == "idx"
    assert file_kind(tmp_path) == "idx"                   # a folder holding an IDX pair
    assert file_kind(tmp_path / "plain") == "images"
    (tmp_path / "plain" / "shards.json").write_text("{}")
    assert file_kind(tmp_path / "plain") == "shards"         # a manifest makes it shards
    assert file_kind(tmp_path / "notes.json") is None
    assert set(FILE_KINDS) == {"csv", "npz", "idx", "images", "shards"}


def test_the_options_each_kind_takes_are_described():
    names = {kind: [o.name for o in file_options(f"x.{ext}")]
             for kind, ext in (("csv", "csv"), ("npz", "npz"), ("idx", "idx"))}
    assert names == {"csv": ["label", "header", "task", "delimiter", "normalise"],
                     "npz": ["task", "normalise"], "idx": ["labels"]}
    assert file_options("x.json") == ()
    for opt in file_options("x.csv") + file_options("x.npz") + file_options("x.idx"):
        assert isinstance(opt, Option) and len(opt.help) > 20
        assert opt.kind in ("number", "choice", "column", "path", "size")
        assert opt.check("x", opt.default) == opt.default      # the default is valid
        if opt.choices:
            assert opt.default in opt.choices
    header = {o.name: o for o in file_options("x.csv")}["header"]
    assert [header.label(c) for c in header.choices] == ["auto", "yes", "no"]


def test_image_folder_options(tmp_path):
    folder = _image_folder(tmp_path)
    assert [o.name for o in file_options(folder)] == ["size", "color", "stream"]
    assert load_dataset(folder, size="2x3", color="rgb").input_shape == (3, 2, 3)
    assert load_dataset(folder, size="").input_shape == (1, 4, 6)


@pytest.mark.parametrize("options, expected", [
    ({"header": "no"}, {"header": False}),
    ({"header": "Yes"}, {"header": True}),
    ({"header": True}, {"header": True}),
    ({"delimiter": "tab"}, {"delimiter": "\t"}),
    ({"delimiter": ";"}, {"delimiter": ";"}),
    ({"label": "0"}, {"label": 0}),
    ({"label": 2.0}, {"label": 2}),
    ({"label": " species "}, {"label": "species"}),
    ({"task": "regression"}, {"task": "regression"}),
])
def test_values_are_read_as_the_reader_takes_them(options, expected):
    assert check_file_options("t.csv", options) == expected


@pytest.mark.parametrize("path, options, words", [
    ("t.csv", {"colour": "red"}, r"'t.csv' \(a CSV table\) has no option 'colour'; it takes "
                                 r"label, header, task, delimiter, normalise"),
    ("t.csv", {"header": "maybe"}, r"option header must be one of auto, yes, no, not 'maybe'"),
    ("t.csv", {"header": 1}, r"option header must be one of auto, yes, no"),
    ("t.csv", {"label": True}, r"option label must be a column number \(0 for the first"),
    ("t.csv", {"label": ""}, r"option label must be a column number"),
    ("t.csv", {"delimiter": "::"}, r"option delimiter must be one of auto, comma, semicolon"),
    ("t.npz", {"label": 0}, r"NPZ file of arrays\) has no option 'label'; it takes task, "
                            r"normalise"),
    ("t.idx", {"labels": 3}, r"option labels must be the path of a file"),
    ("t.json", {"label": 0}, r"it takes no options"),
])
def test_bad_options_say_what_is_wrong_and_what_is_accepted(path, options, words):
    with pytest.raises(engine.DatasetError, match=words):
        check_file_options(path, options)


def test_image_size_is_checked():
    size = {o.name: o for o in READER_OPTIONS["images"]}["size"]
    assert size.check("f", "28x28") == [28, 28] and size.check("f", [3, 4]) == [3, 4]
    assert size.check("f", " ") is None and size.check("f", None) is None
    for bad in ("big", "0x3", [1, 2, 3], [1.5, 2], "9000x2"):
        with pytest.raises(engine.DatasetError, match="height x width in pixels"):
            size.check("f", bad)


def test_label_column_zero_takes_the_labels_from_the_first_column(tmp_path):
    path = _write(tmp_path, "first.csv", LABEL_FIRST)
    with pytest.raises(engine.DatasetError, match=r"line 2, column 1: 'cat' is not a number\. "
                       r".*choose it as the label column \(label=0, counting from 0\)$"):
        load_dataset(path)                    # the default: the last column is the label
    first = load_dataset(path, label=0, normalise="none")
    assert first.classes == ["bird", "cat", "dog"] and first.y.tolist() == [1, 2, 0, 1]
    assert first.input_shape == (2,) and first.x.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert load_dataset(path, label="species").classes == first.classes


def test_options_are_recorded_as_given_and_reload_the_same_data(tmp_path):
    path = _write(tmp_path, "first.csv", LABEL_FIRST)
    ds = load_dataset(path, label="0", header="yes", delimiter="comma")
    ref = ds.reference()
    assert ref["options"] == {"label": 0, "header": True, "task": "auto", "delimiter": ",",
                              "normalise": "features"}
    again = load_dataset(ref["name"], **ref["options"])
    assert again.classes == ds.classes and again.x.tolist() == ds.x.tolist()


def test_header_and_task_and_delimiter_change_the_data(tmp_path):
    path = _write(tmp_path, "semi.csv", "1;2;0\n3;4;1\n5;6;2\n")
    assert load_dataset(path).input_shape == (2,)
    assert load_dataset(path, header=True).__len__() == 2            # row 1 becomes names
    reg = load_dataset(path, task="regression")
    assert reg.task == "regression" and reg.y[:, 0].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(engine.DatasetError, match=r"semi.csv' has only a label column"):
        load_dataset(path, delimiter=",")
    npz = tmp_path / "d.npz"
    np.savez(npz, X=np.zeros((4, 2)), y=np.array([0, 1, 2, 1]))
    assert load_dataset(npz).task == "classification"
    assert load_dataset(npz, task="regression").target_shape == (1,)


@pytest.mark.parametrize("options, words", [
    ({"label": 7}, r"'.*first.csv' has 3 columns, so there is no column 7 for the labels"),
    ({"label": "kind"}, r"no column called 'kind'; its columns are species, a, b"),
    ({"label": "kind", "header": False}, r"it has no header row \(set header to yes"),
    ({"header": False, "label": 1}, r"line 1, column 1: 'species' is not a number.*"
                                    r"label=0.*; if the first row holds column names, set "
                                    r"header to yes"),
    ({"label": 0, "task": "regression"}, r"line 2: label 'cat' is not a number, but "
                                         r"regression needs numbers"),
])
def test_options_that_do_not_fit_the_file_name_it(tmp_path, options, words):
    path = _write(tmp_path, "first.csv", LABEL_FIRST)
    with pytest.raises(engine.DatasetError, match=words):
        load_dataset(path, **options)


def test_columns_for_choosing_the_label(tmp_path):
    path = _write(tmp_path, "first.csv", LABEL_FIRST + "".join(f"x,{i},{i}\n" for i in range(99)))
    assert csv_columns(path) == ["species", "a", "b"]
    assert csv_columns(path, header=False) == [None, None, None]
    assert csv_columns(_write(tmp_path, "n.csv", "1\t2\t0\n")) == [None, None, None]
    with pytest.raises(engine.DatasetError, match="empty"):
        csv_columns(_write(tmp_path, "e.csv", "\n\n"))


def test_a_file_that_is_not_a_table_gives_a_clear_error(tmp_path):
    path = _write(tmp_path, "huge.csv", "1," + "9" * 200_000 + ",0\n")
    with pytest.raises(engine.DatasetError, match=r"huge.csv', line 1: not a row of a CSV"):
        load_dataset(path)
    with pytest.raises(engine.DatasetError, match="not a data file"):
        check_path(_write(tmp_path, "notes.json", "{}"))
    with pytest.raises(engine.DatasetError, match="does not exist"):
        check_path(tmp_path / "gone.csv")
    assert check_path(path) == "csv"
