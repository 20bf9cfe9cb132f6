"""engine/ never loads Qt, and its light parts do not even load torch."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QT_PREFIXES = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "qtpy", "gui")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_engine_imports_without_qt():
    loaded = _modules_after("import engine, cli.main, engine.io.lwnet\n"
                            "engine.build(engine.NetworkSpec.sequential((2,), [('Linear', {})]))")
    assert not [m for m in loaded if m.split(".")[0] in QT_PREFIXES]


def test_importing_engine_does_not_load_torch():
    loaded = _modules_after("import engine\nengine.analyze(engine.NetworkSpec())")
    assert "torch" not in loaded


def test_architecture_files_open_and_save_without_torch(tmp_path):
    code = (f"import engine\ns = engine.load('resources/examples/lenet5.json')\n"
            f"engine.save({str(tmp_path / 'a.lwnet')!r}, s.spec)\n"
            f"assert engine.load({str(tmp_path / 'a.lwnet')!r}).spec == s.spec")
    assert "torch" not in _modules_after(code)


def test_no_engine_file_imports_qt_or_gui():
    pattern = re.compile(r"^\s*(from|import)\s+(PySide6|PyQt[56]|shiboken6|pyqtgraph|qtpy|gui)\b",
                         re.MULTILINE)
    for path in (ROOT / "engine").rglob("*.py"):
        assert not pattern.search(path.read_text()), f"{path} imports Qt or gui"
