"""engine/ never loads Qt, and its light parts do not even load torch."""
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
    loaded = _modules_after("import engine, engine.cli, engine.files\n"
                            "engine.build(engine.NetworkSpec.sequential((2,), [('Linear', {})]))")
    assert not [m for m in loaded if m.split(".")[0] in QT_PREFIXES]


def test_importing_engine_does_not_load_torch():
    loaded = _modules_after("import engine\nengine.analyze(engine.NetworkSpec())")
    assert "torch" not in loaded


def test_no_engine_file_mentions_qt():
    for path in (ROOT / "engine").rglob("*.py"):
        text = path.read_text()
        for prefix in ("PySide6", "PyQt", "pyqtgraph", "from gui", "import gui"):
            assert prefix not in text, f"{path} mentions {prefix}"
