"""bf16 autocast only where the hardware computes it natively; what ran goes to metrics.json."""

import json
from pathlib import Path

import pytest

from proj import precision
from proj.cli import ProjCLI, main
from tests.conftest import QUIET, REPO, tiny_data_args

FAST = str(REPO / "configs" / "fashion_mnist" / "fast.yaml")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [({"avx2", "avx512f", "avx512_bf16"}, "bf16-mixed"), ({"amx_bf16"}, "bf16-mixed"),
     ({"avx2", "fma"}, "32-true"), (set(), "32-true")],
    ids=["avx512_bf16", "amx", "avx2_only", "no_flags"],
)  # fmt: skip
def test_cpu_precision_follows_the_flags(monkeypatch, flags, expected):
    monkeypatch.setattr(precision, "cpu_flags", lambda: flags)
    chosen, why = precision.preferred_precision("cpu")
    assert chosen == expected and why


def test_this_machines_flags_are_read():
    flags = precision.cpu_flags()
    assert not Path("/proc/cpuinfo").exists() or "fpu" in flags or "sse2" in flags


def _fit(data_dir, *extra):
    main(["fit", "--config", FAST, *tiny_data_args(data_dir), *QUIET, "--trainer.max_epochs", "1",
          "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1",
          "--trainer.limit_test_batches", "1", "--model.net.width", "8", *extra])  # fmt: skip
    return json.loads(next(Path("logs").rglob("metrics.json")).read_text())


@pytest.mark.slow
def test_fast_yaml_runs_float32_on_a_cpu_without_native_bf16(tiny_data_dir, monkeypatch, caplog):
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2"})
    metrics = _fit(tiny_data_dir, "--trainer.accelerator", "cpu")
    assert ProjCLI.current.trainer.precision == "32-true"
    assert metrics["precision"] == "32-true"


@pytest.mark.slow
def test_fast_yaml_runs_bf16_where_native_and_an_explicit_precision_wins(
    tiny_data_dir, monkeypatch
):
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx512_bf16"})
    assert _fit(tiny_data_dir, "--trainer.accelerator", "cpu")["precision"] == "bf16-mixed"
    monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2"})
    main(["fit", "--config", FAST, *tiny_data_args(tiny_data_dir), *QUIET,
          "--trainer.fast_dev_run", "1", "--trainer.precision", "bf16-mixed"])  # fmt: skip
    assert ProjCLI.current.trainer.precision == "bf16-mixed"
