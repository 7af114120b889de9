"""Train one config with several seeds and report mean +- std of its metrics.

    python scripts/seeds.py --config configs/fashion_mnist/mlp.yaml --seeds 0 1 2 -- --trainer.max_epochs 3

Each seed is an ordinary `python -m proj fit` run, in its own folder under
`logs/<experiment>-seeds/`; arguments after `--` go to every run. `--json FILE` writes
the per-seed numbers and the summary.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

from proj.cli import main as proj
from proj.runs import experiment_name, run_dirs


def summarize(per_seed: list[dict]) -> dict[str, tuple[float, float]]:
    """Mean and sample std of every metric the runs share."""
    keys = set.intersection(*(set(m) for m in per_seed))
    return {
        key: (
            statistics.mean(m[key] for m in per_seed),
            statistics.stdev(m[key] for m in per_seed) if len(per_seed) > 1 else 0.0,
        )
        for key in sorted(keys)
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    overrides = argv[argv.index("--") + 1 :] if "--" in argv else []
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", required=True, help="repeatable")
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--logs-dir", default="logs")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)

    experiment = f"{experiment_name(args.config)}-seeds"
    per_seed = []
    for seed in args.seeds:
        configs = [a for c in args.config for a in ("--config", c)]
        proj(["fit", *configs, "--seed_everything", str(seed), "--experiment", experiment,
              "--logs_dir", args.logs_dir, *overrides])  # fmt: skip
        run = run_dirs(args.logs_dir, experiment)[0]
        metrics = json.loads((run / "metrics.json").read_text())
        numbers = {**(metrics.get("best_val") or {}), **metrics.get("test", {})}
        per_seed.append({k: v for k, v in numbers.items() if "/" in k} | {"run": str(run)})

    summary = summarize([{k: v for k, v in m.items() if k != "run"} for m in per_seed])
    print(f"{experiment}: {len(args.seeds)} seeds {args.seeds}")
    for key, (mean, std) in summary.items():
        print(f"  {key:12} {mean:.4f} +- {std:.4f}")
    if args.json:
        result = {"seeds": args.seeds, "runs": per_seed, "mean_std": summary}
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
