"""The Dockerfile (no Docker engine here to build it): what it copies exists, and its
command serves an export folder outside a container, without torch."""

import json
import re
import sys

import httpx
import pytest

from proj.serve.process import Server
from proj.serve.samples import png
from tests.conftest import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()


def _instructions(name: str) -> list[str]:
    joined = DOCKERFILE.replace("\\\n", " ")
    return [m.strip() for m in re.findall(rf"^{name}\s+(.*)$", joined, re.M)]


def test_copy_sources_exist_and_the_image_runs_as_a_user_with_a_healthcheck():
    for copy in _instructions("COPY"):
        *sources, _target = copy.split()
        for source in sources:
            assert (REPO / source).exists(), source
    assert _instructions("USER") and _instructions("USER")[-1] not in ("root", "0")
    assert "/health" in _instructions("HEALTHCHECK")[0]
    assert _instructions("FROM")[0].startswith("python:3.11-slim")


@pytest.mark.slow
def test_the_command_serves_an_export_outside_a_container_without_torch(trained, tmp_path):
    command = json.loads(_instructions("CMD")[-1])  # exec form
    assert command[:4] == ["python", "-m", "proj", "serve"]
    command = [sys.executable, *command[1:]]
    command[command.index("/model")] = str(trained.export)
    command[command.index("0.0.0.0")] = "127.0.0.1"
    command[command.index("8000")] = "{port}"
    no_torch = tmp_path / "no_torch" / "torch"
    no_torch.mkdir(parents=True)
    (no_torch / "__init__.py").write_text("raise ImportError('torch is not in the image')\n")
    server = Server(command=command, env={"PYTHONPATH": str(no_torch.parent)})
    try:
        answer = httpx.post(
            f"{server.url}/predict", files={"file": ("a.png", png(trained.test_images[0]))}
        )
        assert answer.json()["predictions"][0]["label"] == trained.predictions[0]["pred"]
    finally:
        server.stop()
