"""The Lab: every experiment runs with --quick; its report's verdict, findings and Setup come from
its own numbers and recipes."""
import json
import re

import pytest
import torch

import engine
from engine.lab import ORDER, run_experiment
from engine.lab.report import cell, set_figure_renderer
from engine.lab.setup import setup_lines

_RESULTS: dict = {}


@pytest.fixture(autouse=True)
def figures_and_one_thread():
    from gui.report_figures import install
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    assert install()
    yield
    set_figure_renderer(None)
    torch.set_num_threads(threads)


def quick(name, tmp_path_factory, monkeypatch):
    """Each experiment runs once per session, quick, recording every recipe run_recipe got."""
    if name not in _RESULTS:
        import engine.run.compare as compare
        import engine.run.recipe as recipes
        ran, real = [], recipes.run_recipe

        def recording(network, recipe, *args, **kw):
            ran.append(recipe.to_dict())
            return real(network, recipe, *args, **kw)
        with monkeypatch.context() as patch:
            patch.setattr(recipes, "run_recipe", recording)
            patch.setattr(compare, "run_recipe", recording)
            out = tmp_path_factory.mktemp(name)
            result = run_experiment(name, quick=True, seed=0, out_dir=out)
        _RESULTS[name] = (result, out, ran)
    return _RESULTS[name]


def markdown_table(text: str) -> list[list[str]]:
    lines = [l for l in text.split("## Results")[1].splitlines() if l.startswith("| ")]
    return [[c.strip() for c in l.strip("|").split(" | ")] for l in lines[1:]]


def numbers_in(data) -> list[float]:
    """Every number in a results.json value, strings excluded."""
    if isinstance(data, bool) or data is None or isinstance(data, str):
        return []
    if isinstance(data, (int, float)):
        return [float(data)]
    if isinstance(data, dict):
        return [v for x in data.values() for v in numbers_in(x)]
    return [v for x in data for v in numbers_in(x)]


NAMES = re.compile(r"\b(Linear|hidden|layer|layers|Layer|Fig\.|Table|seed|Seed|eq\.|Section)\s+\d+"
                   r"|\b[A-Za-z]\w*-\d+|\(\d+ seeds?\)|\bL\d/L\d\b|\d+-bit|\d+x\d+|sin\(3x\)|√\(|[A-Za-z]\w*\d")
TOKEN = re.compile(r"(?<![\w.])(-)?(1/)?(\d[\d,]*(?:\.\d+)?(?:e-?\d+)?)(%| points|x)?")


def quoted(text: str):
    """(value, tolerance, kind) of each number the text quotes."""
    for m in TOKEN.finditer(NAMES.sub(" ", text)):
        minus, inverse, digits, unit = m.groups()
        mantissa = digits.replace(",", "").split("e")[0]
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        exp = int(digits.split("e")[1]) if "e" in digits else 0
        value = float(digits.replace(",", "")) * (-1 if minus else 1)
        tol = 0.5001 * 10 ** (exp - decimals)
        if unit in ("%", " points"):
            value, tol = value / 100, tol / 100
        yield value, tol, "inverse" if inverse else "plain"


def traced(value, tol, kind, pool) -> bool:
    """Whether some number of the pool, printed as the text prints it, is `value`."""
    for v in pool:
        candidates = [1 / v if v else float("inf")] if kind == "inverse" else [v, 100 * v]
        if any(abs(abs(c) - abs(value)) <= tol * (1 + 1e-9) + 1e-12 for c in candidates):
            return True     # 100 v: a fraction in percentage points; the sign may be a word
    return False


@pytest.mark.parametrize("name", ORDER)
def test_quick_report_is_made_from_its_numbers(name, tmp_path_factory, monkeypatch):
    result, out, ran = quick(name, tmp_path_factory, monkeypatch)
    report = (out / "report.md").read_text()
    data = json.loads((out / "results.json").read_text())
    assert data["name"] == name and data["quick"] and data["indicative"]
    assert not data["stopped"] and data["rows"] and result.findings
    # the verdict is at the top, labelled indicative, and states its rule and deciding figure
    assert report.split("\n## ")[1].startswith("Verdict (indicative: quick budget): ")
    assert data["verdict"]["status"] in engine.lab.VERDICTS
    assert data["verdict"]["status"] == result.verdict.status
    assert "Rule: " in report and "Mirrors " in report and data["mirrors"]
    # the numbers in the JSON are the ones in the report's table
    assert markdown_table(report) == [[cell(v) for v in row] for row in data["rows"]]
    # every number the findings and the verdict quote is in results.json
    pool = numbers_in({k: data[k] for k in ("rows", "data")}) + numbers_in(
        [c["numbers"] for c in data["verdict"]["checks"]])
    texts = result.findings + [c.figure for c in result.verdict.checks]
    for text in texts:
        for value, tol, kind in quoted(text):
            assert traced(value, tol, kind, pool), f"{name}: {value} in {text!r}"
    # the Setup is generated from the recipes that actually ran
    assert [r["recipe"] for r in data["data"]["recipes"]] == ran
    recorded = [(r["arm"], r["recipe"]) for r in data["data"]["recipes"]]
    for line in setup_lines(recorded):
        assert any(s.startswith(line.rstrip(".")) for s in result.setup), line
    # figures drawn and named by title
    for fig in data["figures"]:
        png = out / f"{fig['name']}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
        assert f"]({fig['name']}.png)" in report
        assert fig["curves"] and all(len(c["x"]) == len(c["y"]) for c in fig["curves"])
    for line in texts:
        assert not re.search(r"\bnan\b", line)
