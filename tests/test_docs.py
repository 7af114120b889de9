"""The README and docs/ say only what exists: every shell line names real files, scripts,
make targets and flags, and every `python -m proj` line parses as written."""

import functools
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from proj.cli import main
from tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"```bash\n(.*?)```", re.S)
EXTENDING = REPO / "docs" / "extending.md"  # its code runs for real, outside the repository
# a python or yaml block that starts with `# <path>` is a file the reader writes
FILE_BLOCK = re.compile(r"```(?:python|yaml)\n# ([\w/.]+)\n(.*?)```", re.S)


def shell_lines(page: Path) -> list[str]:
    """Each command of the page's bash blocks, continuation lines joined, comments cut."""
    commands = []
    for block in FENCE.findall(page.read_text()):
        for line in block.replace("\\\n", " ").splitlines():
            for command in line.split(" && "):
                words = shlex.split(command, comments=True)
                if words:
                    commands.append(shlex.join(words))
    return commands


ALL = [(page, line) for page in PAGES for line in shell_lines(page)]


@functools.cache
def _script_help(script: str) -> str:
    result = subprocess.run(
        [sys.executable, str(REPO / script), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@functools.cache
def _serve_help() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "proj", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), re.M))


def test_the_readme_is_one_screen_of_a_product():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 300
    assert len(ALL) >= 30, "the pages hold the commands users copy"
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (REPO / link).is_file(), link


@pytest.mark.slow
# docs/extending.md's lines need its own files: test_extending_recipes_run_as_written runs them
@pytest.mark.parametrize("page", [p for p in PAGES if p != EXTENDING], ids=lambda p: p.name)
def test_each_shell_line_names_what_exists(page, tmp_path, capsys):
    """The page's lines in order, in one folder, as a user pastes them."""
    for name in ("configs", "scripts"):
        (tmp_path / name).symlink_to(REPO / name)
    for line in shell_lines(page):
        _check_line(page, line, tmp_path, capsys)


def _check_line(page: Path, line: str, folder: Path, capsys) -> None:
    words = shlex.split(line)
    if any(w.startswith(("mypkg.", "my/")) for w in words):
        return  # the reader's own files from docs/extending.md: run in its own test
    for word in words:
        if re.match(r"^(configs|scripts|docs)/[\w./-]+\.(yaml|py|md)$", word):
            assert (REPO / word).exists(), f"{page.name}: {word} does not exist"
    if words[0] in ("mkdir", "cp"):
        subprocess.run(line, shell=True, check=True, cwd=folder)
    elif words[0] == "make":
        targets = [w for w in words[1:] if "=" not in w]
        assert set(targets) <= _make_targets(), f"{page.name}: make {targets}"
    elif words[:4] == ["python", "-m", "proj", "serve"]:
        flags = [w.split("=")[0] for w in words[4:] if w.startswith("--")]
        missing = [f for f in flags if f not in _serve_help()]
        assert not missing, f"{page.name}: python -m proj serve has no {missing}"
    elif "proj" in words and words[words.index("proj") - 1] == "-m":
        _check_proj(words[words.index("proj") + 1 :], capsys, f"{page.name}: {line}")
    elif words[0] == "python" and words[1].startswith("scripts/"):
        own = words[2 : words.index("--")] if "--" in words else words[2:]
        flags = [w.split("=")[0] for w in own if w.startswith("--")]
        missing = [f for f in flags if f not in _script_help(words[1])]
        assert not missing, f"{page.name}: {words[1]} has no {missing}"
        if "--" in words:  # what follows goes to `python -m proj fit`, after the configs
            configs = [a for i, w in enumerate(own[:-1]) if w == "--config" for a in own[i : i + 2]]
            rest = words[words.index("--") + 1 :]
            _check_proj(["fit", *configs, *rest], capsys, f"{page.name}: {line}")


def _check_proj(args: list[str], capsys, where: str) -> None:
    """The command line parses: every key, class and config file is real."""
    extra = [] if any("help" in a for a in args) else ["--print_config"]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, *extra])
    assert exit_info.value.code == 0, f"{where}\n{capsys.readouterr().err}"


@pytest.mark.slow
def test_extending_recipes_run_as_written(tmp_path, capsys):
    """docs/extending.md from a folder outside the repository: its files written, its
    commands run in order (fit, then test --ckpt_path best, in a new process for the task
    and the DataModule of its own, predict), with tiny Fashion-MNIST in data/ where the
    DataModule looks first."""
    from tests.conftest import write_fashion_mnist

    text = EXTENDING.read_text()
    for path, code in FILE_BLOCK.findall(text):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(code)
    write_fashion_mnist(tmp_path / "data", num_train=5320)  # the default val_size is 5000
    ran = [line for line in shell_lines(EXTENDING) if " -m proj " in line]
    assert {line.split()[4] for line in ran} >= {"fit", "test", "predict"}
    readme = [line for line in shell_lines(REPO / "README.md") if "mypkg." in line]
    for line in [*ran, *readme]:
        _run_as_user(line, tmp_path)

    runs = tmp_path / "logs" / "my"
    codes = torch.load(runs / "autoencoder" / "version_2" / "predictions.pt", weights_only=True)
    assert codes.shape == (120, 16)  # predict_step's (B, code), stacked over the test split
    fit = json.loads((runs / "autoencoder" / "version_0" / "metrics.json").read_text())
    assert fit["monitor"] == "val/mse" and "test/mse" in fit["test"]
    assert fit["best_checkpoint"].endswith(".ckpt")
    bars = json.loads((runs / "bars" / "version_1" / "metrics.json").read_text())
    assert "test/acc" in bars["test"]  # tested in a new process from the best checkpoint

    with pytest.raises(SystemExit):
        _run_as_user(
            "PYTHONPATH=. python -m proj fit --config my/bars.yaml --model.num_classes null",
            tmp_path,
        )
    expected = "model.num_classes: not given, and data mypkg.bars.BarsDataModule has no num_classes"
    assert expected in text and expected in capsys.readouterr().err


# the two recipes whose `test --ckpt_path best` must work in a new process: a task that is
# not classification, and a DataModule without num_classes (the rest run in this one: a
# process start is a good part of a tiny fit)
NEW_PROCESS = ("my/autoencoder.yaml", "my/bars.yaml")


def _run_as_user(line: str, folder: Path) -> None:
    """A `PYTHONPATH=. python -m proj ...` line of the docs, run from `folder`."""
    words = shlex.split(line)
    assert words[:4] == ["PYTHONPATH=.", "python", "-m", "proj"], line
    if words[4] == "test" and set(words) & set(NEW_PROCESS):
        done = subprocess.run(
            [sys.executable, *words[2:]], cwd=folder, capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": "."}, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0 and "Traceback" not in done.stderr, (
            f"{line}\n{done.stderr[-3000:]}"
        )
        assert "test/" in done.stdout, line
        return
    sys.path.insert(0, str(folder))
    try:
        main(words[4:])
    finally:
        sys.path.remove(str(folder))
