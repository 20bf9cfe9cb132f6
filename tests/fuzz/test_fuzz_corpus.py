"""The seed corpus: inputs the fuzzers found that crashed Layerwise (before issue #17; the ONNX
models while #19's importer was new), each file named after what it holds, kept as regular tests, plus the crashes that are clearer written out:
an image data set with an empty class folder, `info` on a FIFO."""
import os
import time
from pathlib import Path

import pytest
import torch

import fuzz_oracles as O
from fuzz_cli import run_cli

CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.mark.parametrize("path", sorted((CORPUS / "lwnet").iterdir()), ids=lambda p: p.name)
def test_found_documents_are_refused_or_fully_usable(path, tmp_path):
    with O.time_limit(30):
        O.check_lwnet(path, tmp_path)


@pytest.mark.parametrize("path", sorted((CORPUS / "data").iterdir()), ids=lambda p: p.name)
def test_found_data_files_are_refused_or_ready_to_train(path):
    with O.time_limit(30):
        O.check_dataset(path, {})


@pytest.mark.parametrize("path", sorted((CORPUS / "onnx").iterdir()), ids=lambda p: p.name)
def test_found_onnx_models_are_refused_or_import_as_working_networks(path):
    from fuzz_onnx import check_onnx
    with O.time_limit(30):
        check_onnx(path)


def test_an_empty_class_folder_is_not_a_class_without_samples(tmp_path):
    """Two classes with images and an empty folder beside them: a data set of 2 classes whose
    names are the two folders, or a DatasetError naming the empty folder."""
    from PIL import Image
    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        Image.new("L", (3, 3), 80 if name == "cats" else 200).save(tmp_path / name / "a.png")
    (tmp_path / "empty").mkdir()
    if O.check_dataset(tmp_path, {}) == "accepted":
        import engine
        data = engine.load_dataset(tmp_path)
        assert data.classes == ["cats", "dogs"] and data.n_classes == 2
        assert torch.equal(data.y.sort().values, torch.tensor([0, 1]))


def test_info_on_a_fifo_answers_at_once(tmp_path):
    fifo = tmp_path / "net.lwnet"
    os.mkfifo(fifo)
    start = time.monotonic()
    with O.time_limit(10):
        code, out, err = run_cli(["info", str(fifo)])
    assert code == 1 and "Traceback" not in err and str(fifo) in err
    assert time.monotonic() - start < 5
