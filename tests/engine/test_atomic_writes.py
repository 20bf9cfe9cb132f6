"""Every file Layerwise writes replaces its target only when complete: links are written
through, special files and folders are refused before any work, and temporary files of killed
saves are removed at the next save."""
import os
import subprocess
import sys
import threading

import pytest

import engine
from engine.io import atomic


def _spec():
    return engine.NetworkSpec.sequential((4,), [("Linear", {"out_features": 3})], name="small")


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_link_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.lwnet"
    engine.save(real, _spec())
    link = tmp_path / "link.lwnet"
    link.symlink_to(real)
    spec = _spec()
    spec.name = "changed"
    engine.save(link, spec)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert engine.load(real).spec.name == "changed"
    assert _leftovers(tmp_path) == []


def test_a_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "net.lwnet"
    os.mkfifo(fifo)
    done = []
    worker = threading.Thread(target=lambda: done.append(_refusal(fifo)), daemon=True)
    worker.start()
    worker.join(10)
    assert done and "not a regular file" in done[0]
    with pytest.raises(engine.FileFormatError, match="not a regular file"):
        engine.load(fifo)           # reading it would wait for a writer forever


def _refusal(path):
    try:
        engine.save(path, _spec())
    except engine.LayerwiseError as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize("name, words", [
    ("folder.lwnet", "it is a folder"),
    ("x" * 300 + ".lwnet", "longer than the 255 bytes"),
    ("missing/net.lwnet", "does not exist"),
])
def test_targets_that_cannot_be_written_are_named(tmp_path, name, words):
    (tmp_path / "folder.lwnet").mkdir()
    with pytest.raises(engine.LayerwiseError, match=words):
        engine.save(tmp_path / name, _spec())
    assert _leftovers(tmp_path) == []


def test_a_long_name_that_fits_saves(tmp_path):
    path = tmp_path / ("n" * 245 + ".lwnet")        # 251 bytes: the temporary name is cut
    engine.save(path, _spec())
    assert engine.load(path).spec.name == "small" and _leftovers(tmp_path) == []


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    path = tmp_path / "net.lwnet"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".net.lwnet.{dead}-0123abcd.tmp"
    alive = tmp_path / f".net.lwnet.{os.getppid()}-0123abcd.tmp"   # a save in progress
    other = tmp_path / f".other.lwnet.{dead}-0123abcd.tmp"          # another file's
    for p in (stale, alive, other):
        p.write_bytes(b"partial")
    engine.save(path, _spec())
    assert not stale.exists() and alive.exists() and other.exists()


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)

    def half(fh):
        fh.write(b"new but")
        raise RuntimeError("disk gone")
    with pytest.raises(RuntimeError):
        atomic.write_with(path, half)
    assert path.read_bytes() == b"old" and _leftovers(tmp_path) == []
    atomic.write_atomically(path, b"new")
    assert path.read_bytes() == b"new" and os.stat(path).st_mode & 0o777 == 0o640


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_is_refused_before_any_work(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert "not writable" in atomic.output_problem(folder / "net.lwnet")
    finally:
        folder.chmod(0o700)
