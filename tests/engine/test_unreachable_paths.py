"""Paths that cannot be reached (a name too long for the file system, a NUL in it, a folder on
the way the user may not enter) and networks too large to run an example batch through: every
reader and writer says so in its own error, before allocating anything."""
import os
import sys

import pytest

import engine
from engine.network import model as model_module

LONG = "n" * 300        # longer than the 255 bytes of a file name


@pytest.mark.parametrize("suffix, read", [
    (".lwnet", engine.load), (".onnx", engine.import_network), (".csv", engine.load_dataset),
    (".py:Net", engine.import_network)])
def test_a_name_too_long_for_the_file_system_is_named(tmp_path, suffix, read):
    with pytest.raises(engine.LayerwiseError, match="(?i)file name too long"):
        read(str(tmp_path / (LONG + suffix)))


@pytest.mark.parametrize("read", [engine.load, engine.load_dataset])
def test_a_nul_in_a_name_is_refused_by_name(tmp_path, read):
    with pytest.raises(engine.LayerwiseError, match="NUL character"):
        read(str(tmp_path / "a\0b.csv"))


def test_a_nul_in_an_output_name_is_refused_by_name(tmp_path):
    spec = engine.load("resources/examples/toy_2d.json").spec
    with pytest.raises(engine.LayerwiseError, match="NUL character"):
        engine.save(tmp_path / "a\0b.lwnet", spec)
    with pytest.raises(engine.LayerwiseError, match="NUL character"):
        engine.export(spec, tmp_path / "a\0b.py", format="python")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="folder permissions: POSIX, and root passes them")
def test_a_file_in_a_folder_that_cannot_be_entered_is_named(tmp_path):
    closed = tmp_path / "closed"
    closed.mkdir()
    for name in ("a.lwnet", "a.onnx", "a.csv"):
        (closed / name).write_bytes(b"x")
    closed.chmod(0o600)
    try:
        for name, read in (("a.lwnet", engine.load), ("a.onnx", engine.import_network),
                           ("a.csv", engine.load_dataset)):
            with pytest.raises(engine.LayerwiseError, match="Permission denied"):
                read(closed / name)
    finally:
        closed.chmod(0o700)


def test_a_folder_out_of_reach_is_named_by_every_reader(tmp_path, monkeypatch):
    """As above wherever the test runs (root enters every folder): the file system's refusal
    to look at the path, as Path.exists raises it."""
    from pathlib import Path

    def refused(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))
    for name, read in (("a.lwnet", engine.load), ("a.onnx", engine.import_network),
                       ("a.csv", engine.load_dataset)):
        with monkeypatch.context() as m:
            m.setattr(Path, "exists", refused)
            m.setattr(Path, "stat", refused)
            with pytest.raises(engine.LayerwiseError, match="cannot be read.*Permission denied"):
                read(tmp_path / name)


def test_an_example_batch_too_large_for_memory_is_refused_before_allocating(tmp_path,
                                                                           monkeypatch):
    spec = engine.NetworkSpec.sequential((1, 1000, 1000), [("ReLU", {})])    # 8 MB a sample
    monkeypatch.setattr(model_module, "memory_of_this_computer", lambda: 32 * 2**20)
    model = engine.build(spec)
    with pytest.raises(engine.SpecError, match=r"A batch of 3 samples takes 22\.9 MiB .*"
                                               r"more than half of this computer's memory"):
        engine.export(model, tmp_path / "big.pt", format="torchscript")
    assert not list(tmp_path.iterdir())
