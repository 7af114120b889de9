"""The compile switch: the net compiled in place, timed, and invisible in checkpoints."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from proj.cli import main
from tests.conftest import MLP, QUIET, REPO, proj_process, tiny_data_args

# aot_eager: dynamo's tracing and AOTAutograd, as inductor gets them, without its C++ build
COMPILE = ["--config", str(REPO / "configs" / "trainer" / "compile.yaml"),
           "--compile.backend", "aot_eager"]  # fmt: skip
EMA = '{"class_path": "proj.callbacks.EMA", "init_args": {"decay": 0.9}}'


@pytest.mark.slow
def test_a_compiled_fit_resumes_tests_and_exports_as_a_plain_one(tiny_data_dir):
    data = [*tiny_data_args(tiny_data_dir), *QUIET]
    # with EMA, channels_last and the precision rule (bf16 where native, else float32)
    main(["fit", "--config", MLP, *COMPILE, *data, "--trainer.max_epochs", "1",
          f"--trainer.callbacks+={EMA}", "--trainer.callbacks+=proj.callbacks.ChannelsLast",
          "--prefer_bf16", "true", "--test_after_fit", "false"])  # fmt: skip
    run = Path("logs/fashion_mnist/mlp/version_0")
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["compile_seconds"] > 0
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert not [k for k in state if "_orig_mod" in k]
    assert "net.linear_relu_stack.1.weight" in state

    main(["fit", "--config", MLP, *COMPILE, *data, "--trainer.max_epochs", "2",
          f"--trainer.callbacks+={EMA}", "--ckpt_path", "last"])  # fmt: skip
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 2

    tested = proj_process("test", "--config", MLP, *COMPILE, *data, "--ckpt_path", "best")
    assert tested.returncode == 0, tested.stderr[-2000:]
    spec = importlib.util.spec_from_file_location("export", REPO / "scripts" / "export.py")
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    assert (
        export.main(["--ckpt_path", str(run / "checkpoints" / "last.ckpt"), "--formats", "onnx"])
        == 0
    )
