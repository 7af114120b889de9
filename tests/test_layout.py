"""The template and the course apart: nothing outside proj.course imports it, and the
template trains with the course deleted."""

import ast
import subprocess
import sys

import pytest

from tests.conftest import REPO, tiny_data_args, write_fashion_mnist

SRC = REPO / "src" / "proj"


def _imported_modules(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


def test_the_template_never_imports_the_course():
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] == "course":
            continue
        course = {m for m in _imported_modules(path) if m.startswith("proj.course")}
        assert not course, f"{path.relative_to(REPO)} imports {sorted(course)}"
    for path in (REPO / "scripts").glob("*.py"):  # scripts name course nets only in configs
        assert not {m for m in _imported_modules(path) if m.startswith("proj.course")}, path


@pytest.mark.slow
def test_fast_config_fits_with_the_course_unimportable(tmp_path):
    """What a fork that deleted src/proj/course/ has: `import proj.course` fails."""
    data = write_fashion_mnist(tmp_path / "data")
    args = ["fit", "--config", str(REPO / "configs" / "fashion_mnist" / "fast.yaml"),
            *tiny_data_args(data), "--trainer.max_epochs", "1",
            "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1",
            "--trainer.limit_test_batches", "1", "--trainer.enable_progress_bar", "false"]  # fmt: skip
    code = (
        "import sys; sys.modules['proj.course'] = None\n"  # None in sys.modules: ImportError
        "from proj.cli import main\n"
        f"main({args!r})\n"
        "assert 'proj.course' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "test/acc" in done.stdout
    assert (tmp_path / "logs" / "fashion_mnist" / "fast" / "version_0" / "metrics.json").is_file()
