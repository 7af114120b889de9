"""The scripts that run several fits: each drives the normal CLI and summarises its runs."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from proj.cli import main as proj
from proj.precision import preferred_precision
from tests.conftest import MLP, QUIET, REPO, tiny_data_args


@pytest.mark.slow
def test_seeds_script_reports_mean_and_std_over_runs(tiny_data_dir):
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "seeds.py"),
         "--config", MLP, "--seeds", "0", "1",
         "--json", "seeds.json", "--", *tiny_data_args(tiny_data_dir),
         "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    runs = sorted(Path("logs/fashion_mnist/mlp-seeds").iterdir())
    assert [r.name for r in runs] == ["version_0", "version_1"]
    report = json.loads(Path("seeds.json").read_text())
    accs = [json.loads((r / "metrics.json").read_text())["test"]["test/acc"] for r in runs]
    mean, std = report["mean_std"]["test/acc"]
    assert mean == pytest.approx(sum(accs) / 2)
    assert std == pytest.approx(abs(accs[0] - accs[1]) / 2**0.5)
    configs = [json.loads((r / "metrics.json").read_text()) for r in runs]
    assert configs[0]["val_history"] != configs[1]["val_history"], "the seeds must differ"
    assert "test/acc" in result.stdout and "+-" in result.stdout


@pytest.mark.slow
def test_kfold_script_runs_every_fold_and_summarises(tiny_data_dir):
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "kfold.py"),
         "--config", MLP, "--folds", "2",
         "--", "--data.init_args.data_dir", str(tiny_data_dir),
         "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    root = Path("logs/fashion_mnist/mlp-kfold")
    runs = sorted(root.glob("version_*"))
    assert [r.name for r in runs] == ["version_0", "version_1"]
    folds = [
        json.loads((r / "config.yaml").read_text().split("fold: ")[1].split()[0]) for r in runs
    ]
    assert folds == [0, 1]
    report = json.loads((root / "kfold.json").read_text())
    accs = [json.loads((r / "metrics.json").read_text())["best_val"]["val/acc"] for r in runs]
    assert report["mean_std"]["val/acc"][0] == pytest.approx(sum(accs) / 2)
    assert "fold 1:" in result.stdout


@pytest.mark.slow
def test_results_script_builds_tables_curves_and_the_readme_section(tiny_data_dir):
    for experiment, seed in (("plain", 0), ("group-seeds", 1), ("group-seeds", 2)):
        proj(["fit", "--config", MLP, *tiny_data_args(tiny_data_dir), *QUIET,
              "--trainer.max_epochs", "2", "--experiment", experiment,
              "--seed_everything", str(seed)])  # fmt: skip
    Path("README.md").write_text("# x\n<!-- results:begin -->\nold\n<!-- results:end -->\nend\n")
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "results.py"), "--out", "docs/results",
         "--page", "README.md", "--targets", "0", "1.01"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    table, timing = Path("docs/results/results.md").read_text().split("Time to accuracy")
    timing = timing.split("Training curves")[0]
    rows = [
        line
        for line in table.splitlines()
        if line.startswith("| plain") or line.startswith("| group-seeds |")
    ]
    assert len(rows) == 4  # three runs and one group
    tests = [
        json.loads(p.read_text())["test"]["test/acc"]
        for p in sorted(Path("logs/group-seeds").glob("*/metrics.json"))
    ]
    mean = sum(tests) / 2
    group = next(r for r in rows if "| seeds |" in r)
    assert f"{mean:.4f} +- " in group and "| 2 |" in group
    assert "| NeuralNetwork | 669,706 | 2 |" in rows[0]
    assert "| test | balanced acc | macro f1 | fit time |" in table  # a classifier's own
    plain = json.loads(next(Path("logs/plain").glob("*/metrics.json")).read_text())["test"]
    assert f"| {plain['test/balanced_acc']:.4f} | {plain['test/macro_f1']:.4f} |" in rows[0]
    for name in ("plain", "group-seeds"):
        png = Path("docs/results") / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # time to accuracy: target 0 is met at the first validation, 1.01 never; a seed set
    # gets one row, the median over its seeds
    def first_validation(experiment: str) -> list[float]:
        files = sorted(Path("logs", experiment).glob("*/metrics.json"))
        return [json.loads(f.read_text())["val_history"][0]["seconds"] for f in files]

    assert f"| plain | {first_validation('plain')[0]:.0f} s | - |" in timing
    seeds = sorted(first_validation("group-seeds"))
    assert f"| group-seeds (median of 2) | {(seeds[0] + seeds[1]) / 2:.0f} s | - |" in timing
    assert Path("docs/results/time_to_accuracy.png").read_bytes()[:4] == b"\x89PNG"
    readme = Path("README.md").read_text()
    assert (
        "\nold\n" not in readme
        and "(docs/results/plain.png)" in readme
        and "(docs/results/time_to_accuracy.png)" in readme
        and readme.endswith("end\n")
    )


@pytest.mark.slow
def test_benchmark_times_every_model_both_ways(tiny_data_dir, tmp_path, monkeypatch):
    """Each model's every way (a few steps) on tiny data; the CIFAR ones on a stand-in."""
    import runpy

    benchmark = runpy.run_path(str(REPO / "scripts" / "benchmark.py"), run_name="benchmark")
    for spec in benchmark["MODELS"].values():  # the functions share this dict
        monkeypatch.setitem(spec, "val_size", 64)
    benchmark["write_standin_cifar10"](tmp_path, per_file=2000)
    cifar2 = benchmark["_datamodule"]("cifar2_net", str(tmp_path))
    train, val = cifar2.splits["train"][1], cifar2.splits["val"][1]
    assert len(train) + len(val) == 5 * 400  # classes 0 and 2: a fifth of each file
    assert len(val) == 64
    assert torch.bincount(train, minlength=2).min() > 0
    # proj finds the timer by class path
    monkeypatch.setattr(
        sys.modules["__main__"], "StepWindow", benchmark["StepWindow"], raising=False
    )
    for model in benchmark["MODELS"]:
        data_dir = str(tmp_path) if model.startswith("cifar") else str(tiny_data_dir)
        for way in benchmark["GROUPS"][model]:
            seconds_per_step = benchmark["WAYS"][way](model, data_dir, 3, 1)
            assert 0 < seconds_per_step < 10, (model, way)


def _benchmark_module() -> dict:
    import runpy

    return runpy.run_path(str(REPO / "scripts" / "benchmark.py"), run_name="benchmark")


def test_benchmark_ratios_are_medians_of_per_pair_ratios_with_their_spread(tmp_path, capsys):
    benchmark = _benchmark_module()
    times = {
        "mlp_raw": [1.0, 2.0, 1.0],
        "mlp_proj": [1.2, 2.2, 1.5],  # per pair 1.2, 1.1, 1.5
        "folder_baseline": [4.0, 4.0, 4.0],
        "folder_proj": [2.0, 1.0, 4.0],
    }
    args = argparse.Namespace(pairs=3, quick=True, photos=10, groups=["mlp", "folder"],
                              device="cpu", json=tmp_path / "b.json")  # fmt: skip
    benchmark["report"](times, args, "real", 50.0)
    result = json.loads((tmp_path / "b.json").read_text())
    assert result["pairs"] == 3
    assert result["mlp_overhead_ratio"] == 1.2 and result["mlp_overhead_ratio_spread"] == [1.1, 1.5]
    assert result["folder_speedup"] == 2.0 and result["folder_speedup_spread"] == [1.0, 4.0]
    assert result["folder_proj_images_per_second"] == 5.0  # 10 photos in the median 2 s
    assert "cnn_overhead_ratio" not in result  # not measured: not reported
    assert "| mlp_overhead_ratio | 1.200 | 1.100 - 1.500 |" in capsys.readouterr().out


@pytest.mark.slow
def test_benchmark_times_the_image_folder_every_way(tmp_path):
    benchmark = _benchmark_module()
    benchmark["write_photo_folder"](tmp_path, 12)
    assert len(list((tmp_path / "images").rglob("*.jpg"))) == 12
    assert len((tmp_path / "labels.csv").read_text().splitlines()) == 12
    for way, time_way in benchmark["FOLDER_WAYS"].items():
        measured = time_way(tmp_path)
        assert 0 < measured["seconds"] < 30, way
    assert 0 < measured["later_seconds"] < 30  # proj's: a later epoch, from its cache
    assert list(tmp_path.glob("labels.decoded-224/index.json"))


@pytest.mark.slow
def test_benchmark_runs_proj_with_every_variant_at_once(tiny_data_dir, tmp_path):
    """Every per-step variant together, in a process of their own, but `no_progress_bar`
    (it would hide the bar this reads): proj still trains, logs through torchmetrics and
    every step, without the loss guard, and the Rich bar shows train/acc."""
    code = (
        "import runpy, sys; b = runpy.run_path(sys.argv[1], run_name='benchmark');"
        "b['MODELS']['mlp']['val_size'] = 64;"
        "[change() for change, _ in b['VARIANTS'].values() if change];"
        "import proj.tasks.classifier as c; nan = float('nan');"
        "assert c.guard_loss(nan, None, 0, 'stop') is nan;"  # no check
        "extra = [a for name, (_, args) in b['VARIANTS'].items() if name != 'no_progress_bar'"
        " for a in args];"
        "print(chr(10), b['time_proj']('mlp', sys.argv[2], None, 0, extra=tuple(extra)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(REPO / "scripts" / "benchmark.py"), str(tiny_data_dir)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.strip().splitlines()[-1]) > 0
    assert "train/acc" in done.stdout  # the torchmetrics path logs it too


@pytest.mark.slow
def test_gpu_check_runs_its_cpu_path(tiny_data_dir, tmp_path):
    """The script for the first GPU machine, on the CPU for a few steps: every part runs."""
    out = tmp_path / "gpu.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gpu_check.py"), "--device", "cpu",
         "--steps", "4", "--pairs", "1", "--every", "2", "--data_dir", str(tiny_data_dir),
         "--groups", "cnn", "--json", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["device"] == "cpu" and result["benchmark"]["pairs"] == 1
    assert result["benchmark"]["cnn_overhead_ratio"] > 0
    assert result["benchmark"]["cnn_proj_over_lightning"] > 0
    assert set(result["fits"]) == {"fast", "best", "best_long"}
    chosen = preferred_precision("cpu")[0]  # each config prefers bf16 where it is native
    assert all(run["precision"] == chosen for run in result["fits"].values())
    assert all(
        run["fit_seconds"] > 0 and 0 <= run["test_acc"] <= 1 for run in result["fits"].values()
    )
    assert result["guard"]["ms_per_step_sync_every_step"] > 0
    assert "ms_per_step_flag_every_2" in result["guard"]


@pytest.mark.slow
def test_the_compile_groups_time_a_training_step_of_each_net():
    benchmark = _benchmark_module()
    for model in benchmark["COMPILE_NETS"]:
        timed = benchmark["compile_step"](model, compiled=False, steps=2)
        assert set(timed) == {"seconds"} and 0 < timed["seconds"] < 30
