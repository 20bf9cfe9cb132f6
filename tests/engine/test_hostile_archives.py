"""Hostile .lwnet archives are refused at load with one clear problem each, before anything is
decompressed past its limit: methods whose size cannot be capped while reading, duplicate member
names, control characters in names, damaged deflate streams, lying size headers."""
import warnings
import zipfile

import pytest

import engine

from lwnet_archive import members


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "net.lwnet"
    spec = engine.NetworkSpec.sequential((4,), [("Linear", {"out_features": 2})], name="net")
    engine.save(path, spec)
    return path


def write(path, items, method=zipfile.ZIP_DEFLATED):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # zipfile warns of duplicate names
        with zipfile.ZipFile(path, "w") as zf:
            for name, blob in items:
                zf.writestr(name, blob, compress_type=method)


def refused(path) -> str:
    with pytest.raises(engine.FileFormatError) as err:
        engine.load(path)
    return str(err.value)


def test_a_bzip2_bomb_is_refused_by_its_method_before_it_is_decompressed(saved, tmp_path):
    bomb = tmp_path / "bomb.lwnet"
    items = list(members(saved).items())
    items = [(n, b) for n, b in items if n != "network.json"]
    items.append(("network.json", b"{" + b" " * (40 << 20) + b"}"))   # 40 MiB of spaces
    write(bomb, items, zipfile.ZIP_BZIP2)
    assert bomb.stat().st_size < 64 << 10
    message = refused(bomb)
    assert "compressed with method 12" in message and "stored or deflated" in message


def test_duplicate_member_names_are_refused(saved, tmp_path):
    twice = tmp_path / "twice.lwnet"
    items = list(members(saved).items())
    write(twice, items + [("network.json", b'{"evil": true}')])
    assert "'network.json' appears more than once" in refused(twice)


def test_a_nul_in_a_member_name_is_refused(saved, tmp_path):
    sneaky = tmp_path / "sneaky.lwnet"
    items = [(n, b) for n, b in members(saved).items() if n != "network.json"]
    write(sneaky, items + [("network.json#.txt", members(saved)["network.json"])])
    raw = sneaky.read_bytes().replace(b"network.json#.txt", b"network.json\x00.txt")
    sneaky.write_bytes(raw)
    assert "control character in its name" in refused(sneaky)


def test_a_damaged_deflate_stream_is_one_problem_not_a_traceback(saved, tmp_path):
    damaged = tmp_path / "damaged.lwnet"
    big = b'{"nodes": [' + b'{"id": "x"}, ' * 5000 + b"]}"
    write(damaged, [("network.json", big)])
    raw = bytearray(damaged.read_bytes())
    start = raw.index(b"network.json") + len("network.json")
    for i in range(start + 20, start + 60):
        raw[i] ^= 0x5A
    damaged.write_bytes(bytes(raw))
    message = refused(damaged)
    assert "member 'network.json' cannot be read" in message
    assert "is missing" not in message          # one problem, said once
