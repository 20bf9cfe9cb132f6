"""A network's name and description never become code in the exported Python source: they reach
it only escaped inside the docstring, and the export checks that the docstring reads back as
written before anything is written or imported."""
import ast
import importlib.util

import pytest

import engine
from engine.io.export import export
from engine.io.export_python import _check_source, python_source

HOSTILE = [
    '"""\nimport os; os.system("touch PWNED")\n"""',
    'ends with a quote"', 'ends with a backslash\\', "C:\\Nets\\new \\N{bullet} \\x41 \\u00e9",
    "nul\x00byte", "bell\x07 escape\x1b[31m red", "bidi \u202eoverride\u202c end",
    "line\nbreak\r\nand\ttab", "'''single''' and \"double\"", "\u2028separator\u2029",
    "no-break\u00a0space and emoji \U0001f600", "lone \ud800 surrogate",
]


def spec_named(name: str, description: str = "") -> engine.NetworkSpec:
    return engine.NetworkSpec.sequential((4,), [("Linear", {"out_features": 3}), ("ReLU", {}),
                                                 ("Linear", {"out_features": 2})],
                                         name=name, description=description)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_names_and_descriptions_stay_text(tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    spec = spec_named(text, description=f"{text}\n\n{text * 20}")
    result = export(spec, tmp_path / "net.py")          # verify=True imports the file
    source = (tmp_path / "net.py").read_text(encoding="utf-8")
    assert not (tmp_path / "PWNED").exists()
    tree = ast.parse(source)
    doc = ast.get_docstring(tree, clean=False)
    assert doc.startswith(text + " — exported from Layerwise")
    assert text in doc                                  # the description, verbatim
    assert "\x00" not in source and "\u202e" not in source
    # only the template's statements follow the docstring: imports, INPUT_SHAPE, the class, load
    kinds = [type(node).__name__ for node in tree.body[1:]]
    assert kinds == ["ImportFrom", "Import", "ImportFrom", "Assign", "ClassDef", "FunctionDef"]
    assert result.max_difference == 0.0


def test_the_module_name_from_the_file_name_is_escaped_too(tmp_path):
    folder = tmp_path / 'odd "name" \\ dir'
    folder.mkdir()
    export(spec_named("plain"), folder / 'a"""b.py')
    spec = importlib.util.spec_from_file_location("odd", folder / 'a"""b.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert 'from a"""b import INPUT_SHAPE' in module.__doc__


def test_a_docstring_that_does_not_read_back_is_refused():
    model = engine.build(spec_named("x"))
    source = python_source(model, "w.safetensors")
    with pytest.raises(engine.LayerwiseError, match="does not read back"):
        _check_source(source, "something else")
    with pytest.raises(engine.LayerwiseError, match="does not parse"):
        _check_source(source + "\n)", "x")


def test_info_and_export_print_names_without_terminal_escapes(tmp_path, capsys):
    from cli.main import main
    name = "red\x1b[31m bidi\u202e bell\x07"
    engine.save(tmp_path / "n.lwnet", spec_named(name, description=f"line one\n{name}"))
    assert main(["info", str(tmp_path / "n.lwnet")]) == 0
    assert main(["export", str(tmp_path / "n.lwnet"), "--format", "python", "-o",
                 str(tmp_path / "n.py")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "red\\x1b[31m bidi\\u202e bell\\x07" in out and "line one\n" in out
