"""The fuzzed kinds of input, each as a generator (a Hypothesis strategy), a check (the oracle)
and a way to save one input as a reproducer. The tests (short budget) and bench/fuzz.py (long
budget) both run these."""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from hypothesis import HealthCheck, Phase, given, seed as hseed, settings
from hypothesis import strategies as st

import fuzz_oracles as O


@dataclass
class Kind:
    strategy: st.SearchStrategy
    check: Callable[[Any], str]           # -> "refused" | "accepted"; anything else escapes
    save: Callable[[Any, Path], Path]     # (case, stem) -> the reproducer written


def lwnet_kind(scratch: Path) -> Kind:
    from fuzz_corpus import seed_files
    from fuzz_lwnet import lwnet_files, seed_of
    seeds = [seed_of(name, path) for name, path in seed_files(scratch / "seeds").items()]

    def save(case, stem: Path) -> Path:
        suffix, data, _ = case
        path = stem.with_suffix(suffix)
        path.write_bytes(data)
        return path

    def check(case) -> str:
        path = save(case, scratch / "case")
        return O.check_lwnet(path, scratch)
    return Kind(lwnet_files(seeds), check, save)


def network_kind(scratch: Path) -> Kind:
    from fuzz_specs import network_texts

    def save(text, stem: Path) -> Path:
        path = stem.with_suffix(".json")
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        return path
    return Kind(network_texts(), lambda text: O.check_network_text(text, scratch), save)


def write_files(files: dict[str, bytes], folder: Path) -> Path:
    """The case's files in `folder`, emptied first."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def data_kind(strategy) -> Callable[[Path], Kind]:
    """A kind of data file: cases are (files, target, options), see fuzz_data."""
    def make(scratch: Path) -> Kind:
        def save(case, stem: Path) -> Path:
            files, target, options = case
            folder = write_files(files, stem)
            (stem.parent / f"{stem.name}.options.json").write_text(repr(options))
            return folder / target

        def check(case) -> str:
            files, target, options = case
            folder = write_files(files, scratch / "data")
            options = {k: str(folder / v) if k == "labels" and v in files else v
                       for k, v in options.items()}
            return O.check_dataset(folder / target, options)
        return Kind(strategy, check, save)
    return make


def _data_kinds() -> dict[str, Callable[[Path], Kind]]:
    import fuzz_data as D
    return {"csv": data_kind(D.csv_cases()), "npz": data_kind(D.npz_cases()),
            "idx": data_kind(D.idx_cases()), "images": data_kind(D.image_cases()),
            "shards": data_kind(D.shards_cases())}


def cli_kind(scratch: Path) -> Kind:
    """Cases are (argv, mutant): a command line and the bytes of the mutant.lwnet it may name."""
    from fuzz_cli import argv_lists, check_cli, make_pool, train_flags
    from fuzz_corpus import seed_files
    from fuzz_lwnet import lwnet_files, seed_of
    seeds = seed_files(scratch / "seeds")
    pool = make_pool(scratch / "cli", seeds)
    mutants = lwnet_files([seed_of(name, path) for name, path in seeds.items()])

    def save(case, stem: Path) -> Path:
        argv, (_, mutant, _) = case
        stem.with_suffix(".mutant.lwnet").write_bytes(mutant)
        path = stem.with_suffix(".argv.txt")
        path.write_text(repr(argv), encoding="utf-8")
        return path
    work = Path(pool["folder"][0])
    return Kind(st.tuples(argv_lists(pool, train_flags()), mutants),
                lambda case: check_cli(case[0], work, case[1][1]), save)


def onnx_kind(scratch: Path) -> Kind:
    """Cases are the bytes of an ONNX model (fuzz_onnx)."""
    from fuzz_onnx import check_onnx, onnx_files, seed_models

    def save(data: bytes, stem: Path) -> Path:
        path = stem.with_suffix(".onnx")
        path.write_bytes(data)
        return path
    return Kind(onnx_files(seed_models(scratch / "onnx-seeds")),
                lambda data: check_onnx(save(data, scratch / "case")), save)


KINDS: dict[str, Callable[[Path], Kind]] = {"lwnet": lwnet_kind, "network": network_kind,
                                            **_data_kinds(), "cli": cli_kind,
                                            "onnx": onnx_kind}


def run_many(kind: Kind, n: int, seed: int, timeout: float, record) -> None:
    """Feed `n` generated inputs to the check; `record(outcome, seconds, case, save, exc)`
    hears of each ("refused", "accepted" or "crash")."""
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(kind.strategy)
    def one(case):
        start = time.perf_counter()
        try:
            with O.time_limit(timeout):
                outcome = kind.check(case)
        except Exception as exc:      # noqa: BLE001 - every other exception is a finding
            record("crash", time.perf_counter() - start, case, kind.save, exc)
        else:
            record(outcome, time.perf_counter() - start, case, kind.save)
    one()
