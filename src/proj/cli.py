"""`python -m proj {fit,validate,test,predict} --config CFG`: LightningCLI with our defaults.

On top of Lightning's CLI: every run gets its own TensorBoard folder
`<logs_dir>/<experiment>/version_<n>/`, a ModelCheckpoint configurable under
`checkpoint.*`, `num_classes` linked from the DataModule into the model and its net,
`--ckpt_path best|last` resolved from the run folders (so it works in a new process),
and after `fit` a test of the best checkpoint and a `metrics.json`.
"""

import sys
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from proj.callbacks import RunSummary
from proj.runs import RunNotFoundError, experiment_name, resolve_checkpoint


class ProjCLI(LightningCLI):
    def __init__(self, args: list[str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("trainer_defaults", {})
        kwargs["trainer_defaults"].setdefault(
            "callbacks", [LearningRateMonitor(logging_interval="epoch"), RunSummary()]
        )
        super().__init__(
            L.LightningModule,
            L.LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            auto_configure_optimizers=False,
            args=args,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument(
            "--experiment",
            type=str | None,
            default=None,
            help="Run folder name under logs_dir (default: the config's path inside configs/).",
        )
        parser.add_argument("--logs_dir", type=str, default="logs", help="Where run folders go.")
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/acc",
                "checkpoint.mode": "max",
                "checkpoint.save_last": True,
            }
        )
        parser.link_arguments(
            "data.num_classes", "model.init_args.num_classes", apply_on="instantiate"
        )
        parser.link_arguments(
            "data.num_classes", "model.init_args.net.init_args.num_classes", apply_on="instantiate"
        )

    def _prepare_subcommand_parser(self, klass: type, subcommand: str, **kwargs: Any):
        parser = super()._prepare_subcommand_parser(klass, subcommand, **kwargs)
        if subcommand == "fit":
            parser.add_argument(
                "--test_after_fit",
                type=bool,
                default=True,
                help="After fit, test the best checkpoint and add the result to metrics.json.",
            )
        return parser

    @property
    def _subconfig(self) -> Any:
        subcommand = self.config.get("subcommand")
        return self.config[subcommand] if subcommand else self.config

    def _experiment(self) -> str:
        return self._subconfig.experiment or experiment_name(self._subconfig.config or [])

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        super().parse_arguments(parser, args)
        # Resolved here, before Lightning reads the model's hyperparameters from the
        # checkpoint file, so `best`/`last` behave exactly like the path they stand for.
        config = self._subconfig
        ckpt_path = config.get("ckpt_path")
        if ckpt_path not in (None, "best", "last") and not Path(ckpt_path).is_file():
            parser.error(f"--ckpt_path {ckpt_path}: no such file (or use 'best' / 'last')")
        if ckpt_path in ("best", "last"):
            try:
                resolved = resolve_checkpoint(config.logs_dir, self._experiment(), ckpt_path)
            except RunNotFoundError as err:
                parser.error(str(err))
            print(f"--ckpt_path {ckpt_path} -> {resolved}", file=sys.stderr)
            config.ckpt_path = str(resolved)

    def before_instantiate_classes(self) -> None:
        if self._subconfig.trainer.get("fast_dev_run"):
            # Lightning 2.6 still writes last.ckpt (into the working directory) at the end
            # of a fast_dev_run, which is meant to save nothing.
            self._subconfig.checkpoint.save_last = False

    def _dump_config(self) -> None:
        super()._dump_config()
        # The dump leaves out a net's init_args when num_classes, a link target, was its
        # only one; Lightning's hparams recording then has nowhere to put the linked value.
        net = self.config_dump.get("model", {}).get("init_args", {}).get("net")
        if isinstance(net, dict) and "class_path" in net:
            net.setdefault("init_args", {})

    def instantiate_trainer(self, **kwargs: Any) -> L.Trainer:
        if self._subconfig.trainer.get("logger") in (None, True):
            kwargs["logger"] = TensorBoardLogger(
                save_dir=self._subconfig.logs_dir, name=self._experiment(), default_hp_metric=False
            )
        return super().instantiate_trainer(**kwargs)

    def after_fit(self) -> None:
        if not self._subconfig.test_after_fit or self.trainer.interrupted:
            return
        best = self.trainer.checkpoint_callback and self.trainer.checkpoint_callback.best_model_path
        if not best:
            rank_zero_warn(
                "No best checkpoint was saved (fast_dev_run?): testing the current weights."
            )
        else:
            rank_zero_info(f"Testing the best checkpoint: {best}")
        self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path=best or None)


def main(args: list[str] | None = None) -> None:
    ProjCLI(args=args)
