"""Mutated .lwnet files (and bare network.json files) made from real saved documents: raw
byte damage of the zip, structured mutations of each JSON member, byte damage of one member's
text, and hostile zip structure; alone or together."""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from fuzz_bytes import damaged, restructured, write_zip
from fuzz_corpus import members as read_members
from fuzz_json import keys_of, mutated_json

MODES = ("raw", "json", "json", "json", "text", "zip", "json+raw", "json+zip")


@dataclass(frozen=True)
class Seed:
    name: str
    suffix: str                             # ".lwnet" or ".json" (a bare network.json)
    raw: bytes                              # the file as saved
    members: tuple[tuple[str, bytes], ...]
    docs: dict                              # member name -> parsed JSON
    keys: tuple[str, ...]                   # every key of every JSON member


def seed_of(name: str, path: Path) -> Seed:
    members = tuple(read_members(path))
    docs = {n: json.loads(d) for n, d in members if n.endswith(".json")}
    keys = sorted({k for doc in docs.values() for k in keys_of(doc)})
    return Seed(name, path.suffix, path.read_bytes(), members, docs, tuple(keys))


def zipped(seed: Seed, changes: dict[str, bytes]) -> bytes:
    items = [(n, changes.get(n, d), zipfile.ZIP_STORED if n.endswith(".safetensors")
              else zipfile.ZIP_DEFLATED) for n, d in seed.members]
    return write_zip(items)


@st.composite
def json_changed(draw, seed: Seed) -> dict[str, bytes]:
    """One or two JSON members after structured mutations: {name: new text}."""
    names = sorted(seed.docs)
    rich = [n for n in names if n != "manifest.json"] or names     # the manifest less often
    chosen = draw(st.lists(st.sampled_from(names + rich * 3), min_size=1, max_size=2,
                           unique=True))
    return {n: draw(mutated_json(seed.docs[n], list(seed.keys))).encode("utf-8") for n in chosen}


@st.composite
def lwnet_files(draw, seeds: list[Seed]) -> tuple[str, bytes, str]:
    """(suffix, file bytes, how it was made) of a mutated document."""
    seed = draw(st.sampled_from(seeds))
    mode = draw(st.sampled_from(MODES))
    bare = seed.suffix != ".lwnet"
    if mode == "raw":
        data = draw(damaged(seed.raw))
    elif mode in ("json", "json+raw", "json+zip"):
        changes = draw(json_changed(seed))
        data = changes["network.json"] if bare else zipped(seed, changes)
        if mode == "json+raw":
            data = draw(damaged(data, max_ops=2))
        elif mode == "json+zip" and not bare:
            items = [(n, changes.get(n, d)) for n, d in seed.members]
            data = write_zip(draw(restructured(items)))
    elif mode == "text":
        name = draw(st.sampled_from([n for n, _ in seed.members]))
        text = draw(damaged(dict(seed.members)[name], max_ops=3))
        data = text if bare else zipped(seed, {name: text})
    else:
        data = seed.raw if bare else write_zip(draw(restructured(list(seed.members))))
    return seed.suffix, data, f"{seed.name}/{mode}"
