"""Every run under logs/ in one markdown table, repeated runs summarised, curves drawn to PNG.

    python scripts/results.py                      # writes results/results.md and the PNGs
    python scripts/results.py --out docs/results --page docs/results.md

The table has a row per run (its `metrics.json`): experiment, version, model, parameters,
epochs, best validation and test metric, fit time. Runs of a seed set (`scripts/seeds.py`,
experiments ending in `-seeds`), a fold set (`-kfold`) or a sweep (`-sweep`) are also
summarised as mean +- std with their best run. For the newest run of each experiment the
loss and accuracy curves per epoch, read from its TensorBoard events, go to a PNG. The
time to reach each `--targets` validation accuracy is given per experiment, and for a seed
set as the median over its seeds (with how many reached it, when not all did).
`--page FILE` replaces what is between `<!-- results:begin -->` and
`<!-- results:end -->` in FILE with the tables and links to the PNGs.
"""

import argparse
import json
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from proj.plots import time_to_accuracy_figure, training_curves_figure

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
GROUP_KINDS = {"-seeds": "seeds", "-kfold": "folds", "-sweep": "sweep"}
CURVE_TAGS = ("train/loss_epoch", "val/loss", "train/acc", "val/acc")


@dataclass
class Run:
    experiment: str
    version: int
    folder: Path
    metrics: dict[str, Any]

    def best_val(self) -> tuple[str, float] | None:
        """The checkpoint's best epoch; for a run stopped early (a pruned trial), its best
        epoch so far from the per-epoch history."""
        best = self.metrics.get("best_val")
        history = self.metrics.get("val_history") or []
        if not best and history:
            if all("val/acc" in e for e in history):
                best = max(history, key=lambda e: e["val/acc"])
            elif all("val/loss" in e for e in history):
                best = min(history, key=lambda e: e["val/loss"])
        return _headline(best or {}, "val")

    def test(self) -> tuple[str, float] | None:
        return _headline(self.metrics.get("test") or {}, "test")


def _headline(metrics: dict[str, float], stage: str) -> tuple[str, float] | None:
    """The stage's accuracy, else its loss (a regressor), as (name, value)."""
    for key in (f"{stage}/acc", f"{stage}/loss"):
        if key in metrics:
            return key, metrics[key]
    return None


def collect(logs_dir: Path) -> list[Run]:
    runs = []
    for path in sorted(logs_dir.glob("**/version_*/metrics.json")):
        folder = path.parent
        try:
            metrics = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            print(f"skipped {path}: not valid JSON ({err})", file=sys.stderr)
            continue
        experiment = folder.parent.relative_to(logs_dir).as_posix()
        runs.append(Run(experiment, int(folder.name.split("_")[1]), folder, metrics))
    return sorted(runs, key=lambda r: (r.experiment, r.version))


def _number(pair: tuple[str, float] | None) -> str:
    if pair is None:
        return "-"
    name, value = pair
    return f"{value:.4f}" if name.endswith("acc") else f"{value:.4f} ({name.split('/')[1]})"


CLASS_METRICS = ("test/balanced_acc", "test/macro_f1")  # an ImageClassifier's, for imbalance


def runs_table(runs: list[Run]) -> str:
    """A row per run; balanced accuracy and macro F1 columns when any run has them."""
    extra = [k for k in CLASS_METRICS if any(k in (r.metrics.get("test") or {}) for r in runs)]
    names = "".join(f" {k.split('/')[1].replace('_', ' ')} |" for k in extra)
    lines = [
        f"| experiment | run | model | params | epochs | best val | test |{names} fit time |",
        "|---|---:|---|---:|---:|---:|---:|" + "---:|" * len(extra) + "---:|",
    ]
    for run in runs:
        m = run.metrics
        seconds = m.get("fit_seconds")
        test = m.get("test") or {}
        cells = "".join(f" {test[k]:.4f} |" if k in test else " - |" for k in extra)
        lines.append(
            f"| {run.experiment} | {run.version} | {m.get('model', '-')} | {m.get('params', 0):,} "
            f"| {m.get('epochs', '-')} | {_number(run.best_val())} | {_number(run.test())} |"
            f"{cells} {f'{seconds:.0f} s' if seconds is not None else '-'} |"
        )
    return "\n".join(lines)


def _mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.4f} +- {std:.4f}"


def _group_kind(experiment: str) -> str | None:
    """ "seeds", "folds" or "sweep" for an experiment of repeated runs; None for a single one."""
    return next((kind for suffix, kind in GROUP_KINDS.items() if experiment.endswith(suffix)), None)


def groups_table(runs: list[Run]) -> str | None:
    """Seed sets, fold sets and sweeps: mean +- std over their runs and the best one.

    Runs cut off before their first validation (no best val) are not counted.
    """
    groups: dict[str, list[Run]] = {}
    for run in runs:
        if _group_kind(run.experiment):
            groups.setdefault(run.experiment, []).append(run)
    if not groups:
        return None
    lines = [
        "| experiment | kind | runs | best val, mean +- std | test, mean +- std | best run (val) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for experiment, members in groups.items():
        kind = _group_kind(experiment)
        vals = [(r, r.best_val()) for r in members if r.best_val()]
        tests = [r.test()[1] for r in members if r.test()]
        best = ""
        if vals:
            maximize = vals[0][1][0].endswith("acc")
            run, (_, value) = (max if maximize else min)(vals, key=lambda rv: rv[1][1])
            best = f"version_{run.version} ({value:.4f})"
        lines.append(
            f"| {experiment} | {kind} | {len(vals)} | {_mean_std([v[1] for _, v in vals])} "
            f"| {_mean_std(tests)} | {best} |"
        )
    return "\n".join(lines)


def curves(folder: Path) -> dict[str, list[tuple[float, float]]]:
    """Epoch-level scalars of a run from its TensorBoard events, against the epoch number."""
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    tags = set(events.Tags().get("scalars", []))
    epoch_at = {e.step: e.value for e in events.Scalars("epoch")} if "epoch" in tags else {}
    found = {}
    for tag in CURVE_TAGS:
        if tag in tags:
            points = events.Scalars(tag)
            found[tag] = [(epoch_at.get(p.step, i), p.value) for i, p in enumerate(points)]
    return found


def _newest(runs: list[Run]) -> dict[str, Run]:
    newest: dict[str, Run] = {}
    for run in runs:
        newest[run.experiment] = run  # runs are sorted by version
    return newest


def _png(out: Path, name: str) -> Path:
    return out / f"{re.sub(r'[^0-9A-Za-z_.-]+', '_', name)}.png"


def draw_curves(runs: list[Run], out: Path) -> dict[str, Path]:
    """A PNG of the newest run of each experiment; {experiment: png}."""
    pictures = {}
    for experiment, run in _newest(runs).items():
        found = curves(run.folder)
        if not any(found.values()):
            continue
        png = _png(out, experiment)
        figure = training_curves_figure(found, title=f"{experiment} version_{run.version}")
        figure.savefig(png, dpi=100)
        pictures[experiment] = png
    return pictures


def accuracy_over_time(run: Run) -> list[tuple[float, float]]:
    """(fit seconds, val/acc) after each validation; empty where the run recorded neither."""
    history = run.metrics.get("val_history") or []
    return [(e["seconds"], e["val/acc"]) for e in history if "seconds" in e and "val/acc" in e]


def accuracy_curves(runs: list[Run]) -> dict[str, list[tuple[float, float]]]:
    """(seconds, val/acc) of the newest run of each experiment that is not a seed set,
    fold set or sweep, where it recorded them."""
    curves = {
        experiment: accuracy_over_time(run)
        for experiment, run in _newest(runs).items()
        if _group_kind(experiment) is None
    }
    return {experiment: points for experiment, points in curves.items() if points}


def seed_set_curves(runs: list[Run]) -> dict[str, list[list[tuple[float, float]]]]:
    """{seed set: one (seconds, val/acc) curve per run}: a seed set is timed over its seeds."""
    sets: dict[str, list[list[tuple[float, float]]]] = {}
    for run in runs:
        points = accuracy_over_time(run)
        if _group_kind(run.experiment) == "seeds" and points:
            sets.setdefault(run.experiment, []).append(points)
    return sets


def _time_to(curves: list[list[tuple[float, float]]], target: float) -> str:
    """The median over `curves` of the seconds to reach `target`, and how many reached it
    when not all did."""
    reached = [next((sec for sec, acc in c if acc >= target), None) for c in curves]
    seconds = [sec for sec in reached if sec is not None]
    if not seconds:
        return "-"
    shown = f"{statistics.median(seconds):.0f} s"
    return shown if len(seconds) == len(curves) else f"{shown} ({len(seconds)}/{len(curves)})"


def time_to_accuracy_table(
    curves: dict[str, list[tuple[float, float]]],
    targets: list[float],
    seed_sets: dict[str, list[list[tuple[float, float]]]] | None = None,
) -> str | None:
    """Fit seconds until val/acc first reached each target: a row per curve, and a row per
    seed set with the median over its seeds (its best val/acc: the mean of theirs)."""
    rows = {experiment: [points] for experiment, points in curves.items()}
    rows |= {f"{name} (median of {len(c)})": c for name, c in (seed_sets or {}).items()}
    if not rows or not targets:
        return None
    header = " | ".join(f"val/acc >= {t:g}" for t in targets)
    lines = [
        f"| experiment | {header} | best val/acc |",
        "|---" + "|---:" * (len(targets) + 1) + "|",
    ]
    for experiment, group in rows.items():
        reached = [_time_to(group, t) for t in targets]
        best = statistics.fmean(max(acc for _, acc in points) for points in group)
        lines.append(f"| {experiment} | {' | '.join(reached)} | {best:.4f} |")
    return "\n".join(lines)


def draw_time_to_accuracy(
    curves: dict[str, list[tuple[float, float]]], targets: list[float], out: Path
) -> Path | None:
    if not curves:
        return None
    png = _png(out, "time_to_accuracy")
    time_to_accuracy_figure(curves, targets).savefig(png, dpi=100)
    return png


def markdown(
    runs: list[Run],
    pictures: dict[str, Path],
    timing: str | None,
    timing_plot: Path | None,
    relative_to: Path,
) -> str:
    """The tables, with `pictures` (training curves by experiment) and the timing plot
    linked relative to `relative_to`."""

    def link(png: Path) -> str:
        return png.resolve().relative_to(relative_to.resolve()).as_posix()

    parts = [runs_table(runs)]
    groups = groups_table(runs)
    if groups:
        parts += ["Repeated runs (seed sets, k-fold, sweeps):", groups]
    if timing:
        parts += ["Time to accuracy (fit seconds when validation first reached it):", timing]
        if timing_plot:
            parts.append(f"![validation accuracy against fit seconds]({link(timing_plot)})")
    if pictures:
        links = [f"[{experiment}]({link(png)})" for experiment, png in pictures.items()]
        parts.append("Training curves (newest run of each): " + ", ".join(links))
    return "\n\n".join(parts) + "\n"


def replace_section(page: Path, content: str) -> None:
    text = page.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"error: {page} has no {BEGIN} ... {END} section to fill")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    page.write_text(f"{head}{BEGIN}\n{content}{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs_dir", type=Path, default=Path("logs"))
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--page", type=Path, help="fill this file's results section")
    parser.add_argument(
        "--targets", type=float, nargs="*", default=[0.91, 0.93],
        help="validation accuracies to time (default: 0.91 0.93, Fashion-MNIST's)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    runs = collect(args.logs_dir)
    if not runs:
        print(f"error: no metrics.json under {args.logs_dir}/ (train something first)")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    pictures = draw_curves(runs, args.out)
    curves = accuracy_curves(runs)
    timing = time_to_accuracy_table(curves, args.targets, seed_set_curves(runs))
    plot = draw_time_to_accuracy(curves, args.targets, args.out)
    page = markdown(runs, pictures, timing, plot, args.out)
    (args.out / "results.md").write_text(page)
    print(page)
    if args.page:
        replace_section(args.page, markdown(runs, pictures, timing, plot, args.page.parent))
        print(f"updated {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
