"""Exports where the disk runs out, and the files an export replaces: a clear error, the
previous files as they were, nothing left half-written, the permissions of what is replaced."""
import os
import subprocess
import sys
import textwrap

import pytest

import engine

# A file-size limit makes every write past SMALL bytes fail with EFBIG, as a full disk does
# with ENOSPC; the export runs in a process of its own (torch once aborted the process on it).
FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    import engine
    spec = engine.load("resources/examples/lenet5.json").spec
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (SMALL, SMALL))
    for fmt, name in (("torchscript", "net.pt"), ("python", "net.py")):
        try:
            engine.export(spec, sys.argv[1] + "/" + name, format=fmt, verify=False)
            print(fmt, "written")
        except engine.LayerwiseError as exc:
            print(fmt, "refused:", exc)
""").replace("SMALL", "20_000")


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                    reason="RLIMIT_FSIZE as a full disk: Linux")
def test_an_export_onto_a_full_disk_fails_cleanly_and_keeps_the_old_files(tmp_path):
    old = {"net.pt": b"old torchscript", "net.py": b"# old source",
           "net.safetensors": b"old weights"}
    for name, data in old.items():
        (tmp_path / name).write_bytes(data)
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(tmp_path)], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert [line.split(" ", 2)[:2] for line in lines] == [["torchscript", "refused:"],
                                                         ["python", "refused:"]], done.stdout
    assert all("File too large" in line and "unchanged" in line for line in lines)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == old     # no temporaries


def test_a_python_export_keeps_the_permissions_of_the_files_it_replaces(tmp_path):
    spec = engine.load("resources/examples/toy_2d.json").spec
    target = tmp_path / "net.py"
    engine.export(spec, target, format="python")
    modes = {}
    for name, mode in (("net.py", 0o640), ("net.safetensors", 0o664)):
        os.chmod(tmp_path / name, mode)
        modes[name] = mode
    engine.export(spec, target, format="python")
    assert {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()} == modes
    (tmp_path / "net.safetensors").unlink()
    engine.export(spec, target, format="python")          # a new file: the usual mode
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "net.safetensors").stat().st_mode & 0o777 == 0o666 & ~umask
