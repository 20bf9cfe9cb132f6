"""Memory caps: crafted bombs (a 261 KB .lwnet whose history.json inflates to the member limit,
NPZ and IDX files of zeros that inflate to 600 MiB, an NPZ header declaring 8 TB, an IDX header
declaring 10 images over 600 MiB of gzipped zeros, 400-megapixel PNGs) are loaded each in a
process of its own, forked from this one: none crashes, and its peak memory (ru_maxrss) rises
above where it started by at most a stated cap: a small multiple of the member's declared
limit for .lwnet members, STATE_CAP_MIB for a tiny network's weights or optimizer state
(which may hold no more than its network needs, engine.io.lwnet), DATA_CAP_MIB for data
files."""
from pathlib import Path

import fuzz_bombs as B
from fuzz_corpus import bare_file, conv_file
from fuzz_memory import load_in_fork
from engine.io.checks import MEMBER_LIMITS

DATA_CAP_MIB = 512
MEMBER_FACTOR = 3           # a JSON member may cost 3x its limit while read and checked
BOMB_MIB = 600
STATE_CAP_MIB = 64          # weights and optimizer state: capped by what the network needs


def bombs(folder: Path) -> dict[str, tuple[str, Path, int]]:
    """name -> (lwnet or data, path, cap in MiB)."""
    history_limit = MEMBER_LIMITS["history.json"]
    network = bare_file(folder / "bare.json").read_bytes()
    return {
        "history.json deflate bomb": ("lwnet", B.history_bomb(
            folder / "history.lwnet", network, history_limit),
            MEMBER_FACTOR * history_limit >> 20),
        "weights.safetensors of 600 MiB for a tiny network": ("lwnet", B.state_bomb(
            folder / "weights.lwnet", network, BOMB_MIB), STATE_CAP_MIB),
        "optimizer.safetensors of 600 MiB for a tiny network": ("lwnet", B.state_bomb(
            folder / "optimizer.lwnet", network, BOMB_MIB, "optimizer.safetensors"),
            STATE_CAP_MIB),
        "NPZ of deflated zeros": ("data", B.npz_zeros_bomb(folder / "zeros.npz", BOMB_MIB),
                                  DATA_CAP_MIB),
        "NPZ header declaring 8 TB": ("data", B.npz_lying_bomb(folder / "lying.npz"),
                                      DATA_CAP_MIB),
        "IDX gz of zeros": ("data", B.idx_folder_bomb(folder / "idx", BOMB_MIB), DATA_CAP_MIB),
        "IDX gz longer than its header": ("data", B.idx_folder_bomb(
            folder / "idx-lying", BOMB_MIB, declared=10), DATA_CAP_MIB),
        "400-megapixel PNGs": ("data", B.png_folder_bomb(folder / "png"), DATA_CAP_MIB),
    }


def test_bombs_are_refused_or_read_within_their_memory_caps(tmp_path):
    import engine
    engine.load(conv_file(tmp_path / "seed.lwnet"))        # the readers imported before forking
    engine.load_dataset("xor", samples=8)
    wrong = []
    for name, (kind, path, cap) in bombs(tmp_path).items():
        got = load_in_fork(kind, path, 2 * cap)
        size = sum(p.stat().st_size for p in ([path] if path.is_file() else path.rglob("*")))
        if got["outcome"].startswith("crash") or got["rise_mib"] is None \
                or got["rise_mib"] > cap:
            wrong.append(f"{name} ({size / 1024:.0f} KiB): {got['outcome']}, peak "
                         f"+{got['rise_mib']} MiB (cap {cap} MiB)")
    assert not wrong, "\n  ".join(["memory over the caps:", *wrong])
