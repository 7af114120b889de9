"""`python -m proj {fit,validate,test,predict} --config CFG`: LightningCLI with our defaults.

On top of Lightning's CLI: every run gets its own folder
`<logs_dir>/<experiment>/version_<n>/` (checkpoints, config.yaml, metrics.json and the
file loggers' output, whatever `trainer.logger` is), a ModelCheckpoint configurable under
`checkpoint.*` on the metric the task declares, `num_classes` from the DataModule into the
model and its net where they take it (proj.num_classes), `--ckpt_path best|last` resolved
from the run folders (so it works in a new process), and after `fit` a test of the best
checkpoint and a `metrics.json`. Any LightningModule and LightningDataModule can be named.

Runs are safe to start side by side and to resume: a run's folder is reserved
atomically; `fit --ckpt_path` with a checkpoint of this experiment continues in that
checkpoint's folder; a run that fails before its first step leaves no folder behind;
input errors are printed as one message, without a traceback.
"""

import logging
import os
import shutil
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
from jsonargparse import ArgumentParser, Namespace
from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
    ModelSummary,
)
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, _InstantiatorFn
from lightning.pytorch.loggers import Logger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from lightning.pytorch.utilities.model_helpers import is_overridden

# Imported so that `--model ImageClassifier`, `--data FashionMNISTDataModule` and
# `--model.net FashionCNN` work as short names and `--help` lists them.
from proj import data, models, tasks  # noqa: F401
from proj.callbacks import (
    CompileNet,
    CompileOptions,
    ExampleInput,
    LineProgress,
    MonitorCheck,
    PredictionsCSV,
    PredictionsFile,
    RNGState,
    RunSummary,
    TensorBoardViews,
    ThrottledRichProgressBar,
)
from proj.completion import print_completion
from proj.data import ImageDataModule
from proj.errors import ConfigError, ProjError, brief
from proj.num_classes import configured_class, fill_num_classes, link_net_num_classes
from proj.parser import (
    PROG,
    ProjArgumentParser,
    config_files,
    with_stacked_loggers,
    yaml_syntax_error,
)
from proj.precision import preferred_precision
from proj.runs import (
    checkpoint_file,
    experiment_name,
    read_checkpoint,
    reserve_version,
    version_of_checkpoint,
)
from proj.tasks import ImageClassifier
from proj.trackers import (
    csv_rows_before,
    record_in_trackers,
    record_run_ids,
    recorded_run_ids,
    restore_csv_rows,
)
from proj.trainer import RunTrainer
from proj.trusted_checkpoint import check_classes, check_weights_fit, needs_config, run_config


class ProjCLI(LightningCLI):
    current: ClassVar["ProjCLI | None"] = None  # for main() to clean up after a failure

    def __init__(
        self, args: list[str] | None = None, callbacks: Sequence[Callback] = (), **kwargs: Any
    ) -> None:
        """`callbacks`: objects added to the trainer's (for scripts), not written to the
        run's config."""
        ProjCLI.current = self
        self.reserved_run: Path | None = None
        self.created_dirs: list[Path] = []
        self.resume_version: int | None = None
        self.run_version: int | None = None
        self.resume_step = 0
        self.checkpoint: dict[str, Any] | None = None  # --ckpt_path's, read at parse
        kwargs.setdefault("trainer_defaults", {})
        # last.ckpt, rewritten after every epoch for resuming. Lightning 2.6's save_last
        # only rewrites it when a new best is saved, so a resume could lose many epochs.
        latest = ModelCheckpoint(
            filename="last", monitor=None, save_top_k=1, enable_version_counter=False
        )
        kwargs["trainer_defaults"].setdefault(
            "callbacks",
            [
                LearningRateMonitor(logging_interval="epoch"),
                RunSummary(),
                RNGState(),
                ExampleInput(),
                latest,
                *callbacks,
            ],
        )
        parser_kwargs = kwargs.setdefault("parser_kwargs", {})
        parser_kwargs.setdefault("prog", PROG)
        for subcommand, text in _CKPT_PATH_EPILOG.items():
            parser_kwargs.setdefault(subcommand, {}).setdefault("epilog", text)
        super().__init__(
            L.LightningModule,
            L.LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            auto_configure_optimizers=False,
            parser_class=ProjArgumentParser,
            trainer_class=RunTrainer,
            args=args,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument(
            "--experiment",
            type=str | None,
            default=None,
            help="Run folder name under logs_dir (default: the config's path inside configs/, "
            "else its path from the working directory, without .yaml; a run's saved "
            "config.yaml records it).",
        )
        parser.add_argument("--logs_dir", type=str, default="logs", help="Where run folders go.")
        # On every subcommand, so that a run's saved config.yaml works with all of them.
        parser.add_argument(
            "--test_after_fit",
            type=bool,
            default=True,
            help="fit only: test the best checkpoint after fit, into metrics.json.",
        )
        parser.add_argument(
            "--top_k", type=int, default=1, help="predict only: classes per row in predictions.csv."
        )
        parser.add_argument(
            "--prefer_bf16",
            type=bool,
            default=False,
            help="bf16 autocast where the hardware computes bf16 natively, else float32 (or "
            "float16 autocast on a GPU without bf16); an explicit trainer.precision wins.",
        )
        parser.add_argument(
            "--compile",
            type=CompileOptions | None,
            default=None,
            help="torch.compile the model's net (configs/trainer/compile.yaml); off: null.",
        )
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.add_lightning_class_args(TensorBoardViews, "views")
        # checkpoint.monitor unset: the model's declared monitor (see _choose_monitor)
        parser.set_defaults({"checkpoint.save_last": False})  # last.ckpt has its own callback
        link_net_num_classes(parser)

    @property
    def _subconfig(self) -> Any:
        subcommand = self.config.get("subcommand")
        return self.config[subcommand] if subcommand else self.config

    def _experiment(self) -> str:
        return self._subconfig.experiment or experiment_name(self._subconfig.config or [])

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        argv = sys.argv[1:] if args is None else list(args)
        if argv[:1] == ["--print_shtab"]:
            print_completion(parser, argv[1:])
        for path in config_files(argv):
            if message := yaml_syntax_error(path):
                parser.error(message)
        stacked = with_stacked_loggers(argv)
        implied = _with_run_config(stacked, parser)
        super().parse_arguments(parser, args if implied == argv else implied)
        # Recorded in the run's config.yaml, so rerunning that file continues this experiment.
        self._subconfig.experiment = self._experiment()
        config = self._subconfig
        ckpt_path = config.get("ckpt_path")
        if ckpt_path is not None:
            try:
                # `best`/`last` resolved from the run folders, so they work in any process
                ckpt_path = config.ckpt_path = str(
                    checkpoint_file(ckpt_path, config.logs_dir, self._experiment())
                )
                self.checkpoint = read_checkpoint(ckpt_path)  # its tensors memory-mapped
                check_classes(ckpt_path, self.checkpoint, config.as_dict())
            except ProjError as err:
                parser.error(str(err))
            self.resume_step = int(self.checkpoint.get("global_step", 0))
            if self.config.get("subcommand") == "fit":
                self.resume_version = version_of_checkpoint(
                    ckpt_path, config.logs_dir, self._experiment()
                )

    def _parse_ckpt_path(self) -> None:
        """Lightning's rebuilds the model from the checkpoint's hyperparameters, importing
        whatever classes they name. Here the config builds it, and parse_arguments has
        compared the checkpoint's classes with the config's (proj.trusted_checkpoint).
        Private; tests/test_trusted_checkpoint.py's canaries fail if Lightning renames it."""

    def before_instantiate_classes(self) -> None:
        trainer = self._subconfig.trainer
        if self._subconfig.prefer_bf16 and trainer.get("precision") is None:
            trainer.precision, why = preferred_precision(trainer.get("accelerator"))
            rank_zero_info(f"precision: {trainer.precision} ({why})")
        if trainer.get("fast_dev_run"):
            # Lightning 2.6 still writes last.ckpt (into the working directory) at the end
            # of a fast_dev_run, which is meant to save nothing.
            self._subconfig.checkpoint.save_last = False
        if trainer.get("overfit_batches") and trainer.get("callbacks"):
            # Memorising a few batches runs to max_epochs; a config's other callbacks
            # (finetuning, say) stay, so the check trains what the config trains.
            kept = [c for c in trainer.callbacks if not _is_class(c, EarlyStopping)]
            if len(kept) < len(trainer.callbacks):
                rank_zero_info("overfit_batches: the config's EarlyStopping is left out")
            trainer.callbacks = kept

    def instantiate_classes(self) -> None:
        """Lightning's, with the DataModule built first: its num_classes goes into the
        model's config (only where the model and its net take it) before the model is built."""
        failure = None
        try:
            data = self._build_data()
            fill_num_classes(self._subconfig.model, data)
            self._choose_monitor()
            self._redump_config()
            config = self.config.clone()
            subconfig = config[self.subcommand] if self.subcommand else config
            subconfig.data = data  # an object passes through jsonargparse as it is: built once
            # the run folder, given to the configured loggers before jsonargparse builds
            # them; only in this copy: config.yaml stays rerunnable as a new run
            self.run_version = self._run_version()
            self._place_loggers(subconfig.trainer.get("logger"))
            self.config_init = self.parser.instantiate_classes(config)
        except Exception as err:
            # jsonargparse reports a constructor's error inside a union-type error with
            # the whole argument dump: an input error becomes its own one line; a bug (in
            # the user's net, say) is raised as itself, its traceback down to their line
            failure = _input_error(err) or _chain(err)[-1]
        if failure is not None:
            raise failure  # outside the except block: no chain back to jsonargparse's report
        self.datamodule = data
        self.model = self._get(self.config_init, "model")
        if self.checkpoint is not None:
            check_weights_fit(self._subconfig.ckpt_path, self.checkpoint, self.model)
        self.trainer = self.instantiate_trainer()

    def _redump_config(self) -> None:
        """Lightning records a model's hyperparameters (which checkpoints keep and
        load_from_checkpoint rebuilds from) from `config_dump`, made once: remake it now
        that num_classes is in, with the net's too, which a dump leaves out as a link target.
        Private; tests/test_cli.py's canary checks a checkpoint's hyperparameters."""
        vars(self).pop("config_dump", None)
        self._dump_config()
        net = self._subconfig.model.get("init_args", Namespace()).get("net")
        net_dump = self.config_dump.get("model", {}).get("init_args", {}).get("net")
        if isinstance(net_dump, dict) and "num_classes" in (net.get("init_args") or {}):
            net_dump.setdefault("init_args", {})["num_classes"] = net.init_args.num_classes

    def _build_data(self) -> L.LightningDataModule | None:
        entry = self._subconfig.get("data")
        if entry is None:
            return None
        parser = ArgumentParser(exit_on_error=False)
        parser.add_subclass_arguments(L.LightningDataModule, "data", required=False)
        # Lightning's own instantiator, as the CLI's parser has it: it records the class path
        # in the DataModule's hyperparameters. Private; tests/test_cli.py's canary checks it.
        parser.add_instantiator(_InstantiatorFn(cli=self, key="data"), L.LightningDataModule)
        return parser.instantiate_classes(Namespace(data=entry)).data

    def _choose_monitor(self) -> None:
        """checkpoint.monitor, when not given: what the model's class declares as its
        `monitor` (name, mode), else val/loss (min), checked when first logged."""
        checkpoint = self._subconfig.checkpoint
        self.monitor_guessed = False
        if checkpoint.monitor is not None:
            return
        declared = getattr(configured_class(self._subconfig.model.class_path), "monitor", None)
        if declared is None:
            declared, self.monitor_guessed = ("val/loss", "min"), True
        checkpoint.monitor, checkpoint.mode = declared

    def instantiate_trainer(self, **kwargs: Any) -> L.Trainer:
        config = self._subconfig
        version = self.run_version
        run_dir = self._run_dir(version)
        kwargs["logger"] = self._loggers() or False
        if not kwargs["logger"]:  # it raises without a logger to log to
            self.trainer_defaults["callbacks"] = [
                c for c in self.trainer_defaults["callbacks"]
                if not isinstance(c, LearningRateMonitor)
            ]  # fmt: skip
        extra: list[Callback] = [MonitorCheck(guessed=self.monitor_guessed)]
        if config.get("compile") is not None:
            extra.append(CompileNet(CompileOptions(**vars(config.compile))))
        if self.config.get("subcommand") == "predict":
            # class names and probabilities are the classifier's; any other task's outputs
            # are kept as they are
            classifies = isinstance(self.model, ImageClassifier)
            extra.append(PredictionsCSV(top_k=config.top_k) if classifies else PredictionsFile())
        callbacks = config.trainer.get("callbacks") or []
        configured = [str(getattr(c, "class_path", c)) for c in callbacks]
        if config.trainer.get("enable_progress_bar") is not False and not any(
            "ProgressBar" in c for c in configured
        ):
            # a redrawn bar on a terminal; lines that read top to bottom in a log file
            extra.append(ThrottledRichProgressBar() if sys.stdout.isatty() else LineProgress())
        if config.trainer.get("enable_model_summary") is not False and not any(
            "ModelSummary" in c for c in configured
        ):
            extra.append(ModelSummary(max_depth=3))  # down to the layers, with their shapes
        self.trainer_defaults["callbacks"] = [*self.trainer_defaults["callbacks"], *extra]
        trainer = super().instantiate_trainer(**kwargs)
        if not config.trainer.get("fast_dev_run"):
            trainer.uses_run_dir = True
            if version is not None:  # rank 0: the others get both by broadcast
                trainer.run_dir = str(run_dir)
                for checkpoint in trainer.checkpoint_callbacks:
                    checkpoint.dirpath = checkpoint.dirpath or str(run_dir / "checkpoints")
        return trainer

    def _run_dir(self, version: int | None) -> Path:
        return Path(self._subconfig.logs_dir) / self._experiment() / f"version_{version}"

    def _place_loggers(self, setting: Any) -> None:
        """Into the configured loggers' init_args: the run folder. TensorBoard and CSV write
        it as their version, W&B its files inside it, MLflow names its run after it."""
        version = self.run_version
        resumed = (
            recorded_run_ids(self._run_dir(version)) if self.resume_version is not None else {}
        )
        for entry in setting if isinstance(setting, list) else [setting]:
            path, init_args = str(_get(entry, "class_path")), _get(entry, "init_args")
            if init_args is None:
                continue
            if path.endswith(("TensorBoardLogger", "CSVLogger")):
                placed = self._file_logger_args(tensorboard=path.endswith("TensorBoardLogger"))
                for key, value in placed.items():
                    init_args[key] = value
            elif path.endswith("WandbLogger") and version is not None:
                init_args.save_dir = str(self._run_dir(version))  # wandb/ in the run folder
                if "wandb" in resumed and not init_args.get("id"):  # the same W&B run
                    init_args.id = resumed["wandb"]["id"]
                    entry.dict_kwargs = {**(_get(entry, "dict_kwargs") or {}), "resume": "allow"}
            elif path.endswith("MLFlowLogger") and version is not None:
                if init_args.get("experiment_name") in (None, "lightning_logs"):
                    init_args.experiment_name = self._experiment()
                init_args.run_name = init_args.get("run_name") or f"version_{version}"
                if "mlflow" in resumed and not init_args.get("run_id"):  # the same MLflow run
                    init_args.run_id = resumed["mlflow"]["run_id"]

    def _file_logger_args(self, tensorboard: bool) -> dict[str, Any]:
        """TensorBoard's or CSV's arguments that make the run folder their version."""
        args: dict[str, Any] = {
            "save_dir": self._subconfig.logs_dir,
            "name": self._experiment(),
            "version": self.run_version,
        }
        if tensorboard:
            args["default_hp_metric"] = False  # TensorBoardViews logs hparams
            if self.resume_version is not None:
                # TensorBoard drops what the interrupted run logged from the checkpoint's
                # step, so the curves carry no step twice.
                args["purge_step"] = self.resume_step
        return args

    def _loggers(self) -> list[Logger]:
        """The loggers jsonargparse built from the config (placed by _place_loggers), or
        the default, TensorBoard in the run folder."""
        setting = self._subconfig.trainer.get("logger")
        if setting is False:
            return []
        if setting in (None, True):
            return [TensorBoardLogger(**self._file_logger_args(tensorboard=True))]
        built = self._get(self.config_init, "trainer")["logger"]
        return built if isinstance(built, list) else [built]

    def _run_version(self) -> int | None:
        config = self._subconfig
        if self.resume_version is not None:
            # Continue in the checkpoint's own folder; keep its config.yaml, add this one's.
            run = Path(config.logs_dir) / self._experiment() / f"version_{self.resume_version}"
            resumes = len(list(run.glob("config.resume*.yaml")))
            self.save_config_kwargs["config_filename"] = f"config.resume{resumes + 1}.yaml"
            return self.resume_version
        if config.trainer.get("fast_dev_run") or _launched_rank() != 0:
            return None  # fast_dev_run writes nothing; other ranks log into rank 0's folder
        root = Path(config.logs_dir) / self._experiment()
        self.created_dirs = [p for p in (root, *root.parents) if not p.exists()]  # deepest first
        version = reserve_version(config.logs_dir, self._experiment())
        self.reserved_run = root / f"version_{version}"
        return version

    def discard_unstarted_run(self) -> None:
        """Remove the folder this process reserved (and the empty folders above it that
        it created) if training never took a step."""
        trainer = getattr(self, "trainer", None)
        if self.reserved_run is None or (trainer is not None and trainer.global_step > 0):
            return
        if (self.reserved_run / "checkpoints").exists():
            return
        shutil.rmtree(self.reserved_run, ignore_errors=True)
        for folder in self.created_dirs:
            try:
                folder.rmdir()  # only if still empty: another run may have started there
            except OSError:
                break

    def before_fit(self) -> None:
        if self.run_version is None:  # fast_dev_run, or not rank 0
            return
        run_dir = self._run_dir(self.run_version)
        if self.resume_version is not None:
            restore_csv_rows(self.trainer.loggers, csv_rows_before(run_dir, self.resume_step))
        record_run_ids(self.trainer.loggers, run_dir)  # now: a killed run has them too

    def after_fit(self) -> None:
        self._test_after_fit()
        if self.trainer.is_global_zero and self.trainer.run_dir:
            checkpoint = self.trainer.checkpoint_callback
            best = checkpoint.best_model_path if checkpoint else ""
            record_in_trackers(self.trainer.loggers, Path(self.trainer.run_dir), best)

    def _test_after_fit(self) -> None:
        if not self._subconfig.test_after_fit or self.trainer.interrupted:
            return
        if reason := _why_no_test(self.model, self.datamodule):
            rank_zero_info(f"No test after fit: {reason}")
            return
        best = self.trainer.checkpoint_callback and self.trainer.checkpoint_callback.best_model_path
        if not best:
            rank_zero_warn(
                "No best checkpoint was saved (fast_dev_run?): testing the current weights."
            )
        else:
            rank_zero_info(f"Testing the best checkpoint: {best}")
        self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path=best or None)


# Lightning's own --ckpt_path help describes its in-process `best` and cloud keywords.
_CKPT_PATH_EPILOG = {
    "fit": "--ckpt_path resumes from a checkpoint: 'last' (or 'best') of the newest run of "
    "this experiment on disk, or a file. A checkpoint of this experiment continues in its "
    "own run folder.",
    **dict.fromkeys(
        ("validate", "test", "predict"),
        "--ckpt_path names the weights: 'best' (by checkpoint.monitor) or 'last' of the "
        "newest run of this experiment that has one, found in "
        "logs_dir/<experiment>/version_<n>/ by any process, or a checkpoint file.",
    ),
}


_SUBCOMMANDS = ("fit", "validate", "test", "predict")


def _with_run_config(argv: list[str], parser: LightningArgumentParser) -> list[str]:
    """`--ckpt_path` given without a config (no --config, no --model): the config.yaml of
    the run folder the checkpoint lies in comes first, so that file, not the checkpoint,
    names the classes; the checkpoint's path resolved in place."""
    if argv[:1] not in ([s] for s in _SUBCOMMANDS) or any(
        arg.startswith(("--config", "--model")) or arg == "-c" for arg in argv
    ):
        return argv
    options = _option_values(argv[1:])
    if "--ckpt_path" not in options:
        return argv
    try:
        found = checkpoint_file(
            options["--ckpt_path"], options.get("--logs_dir", "logs"), options.get("--experiment")
        )
        config = run_config(found)
        if config is None:
            raise needs_config(found)
    except ProjError as err:
        parser.error(str(err))
    print(
        f"--ckpt_path without --config: the model and data as {config} builds them", file=sys.stderr
    )
    rest = list(argv[1:])
    for i, arg in enumerate(rest):
        if arg == "--ckpt_path" and i + 1 < len(rest):
            rest[i + 1] = str(found)
        elif arg.startswith("--ckpt_path="):
            rest[i] = f"--ckpt_path={found}"
    return [argv[0], "--config", str(config), *rest]


def _option_values(args: list[str]) -> dict[str, str]:
    """{'--name': value} of `--name value` and `--name=value` arguments."""
    values = {}
    for i, arg in enumerate(args):
        if arg.startswith("--") and "=" in arg:
            name, value = arg.split("=", 1)
            values[name] = value
        elif arg.startswith("--") and i + 1 < len(args):
            values[arg] = args[i + 1]
    return values


def _why_no_test(model: L.LightningModule, datamodule: L.LightningDataModule | None) -> str:
    """Why the after-fit test cannot run ('' when it can)."""
    if not is_overridden("test_step", model):
        return f"{type(model).__name__} has no test_step"
    if datamodule is None or not is_overridden("test_dataloader", datamodule):
        if not is_overridden("test_dataloader", model):
            return "no test_dataloader in the model or the data"
        return ""
    if isinstance(datamodule, ImageDataModule):
        return datamodule.missing_split("test") or ""
    return ""


def _get(entry: Any, key: str) -> Any:
    """A key of a config entry, a dict or a jsonargparse Namespace."""
    return entry.get(key) if isinstance(entry, dict | Namespace) else getattr(entry, key, None)


def _is_class(config: Any, cls: type) -> bool:
    """Whether a callback given in a config (a class_path entry or an object) is a `cls`."""
    if isinstance(config, cls):
        return True
    class_path = str(getattr(config, "class_path", ""))
    return class_path.rsplit(".", 1)[-1] == cls.__name__


def _input_error(err: BaseException) -> ProjError | None:
    """The error in `err`'s chain that is about the input, as a ProjError; None if none is.

    proj's own checks raise ProjErrors; a ValueError or TypeError that an installed
    library's constructor raised (torch's AdamW on lr=-1) is about the value it was given
    too. One raised in the user's own code (their net's constructor) is a bug there: None,
    so its traceback, with their file and line, is shown.
    """
    chain = _chain(err)
    for cause in chain:
        if isinstance(cause, ProjError):
            return cause
    innermost = chain[-1]
    library_rejected = isinstance(innermost, ValueError | TypeError) and _raised_in_a_library(
        innermost
    )
    return ConfigError(brief(innermost)) if len(chain) > 1 and library_rejected else None


def _chain(err: BaseException | None) -> list[BaseException]:
    """`err` and the errors it was raised from or during, outermost first."""
    chain: list[BaseException] = []
    while err is not None and err not in chain:
        chain.append(err)
        err = err.__cause__ or err.__context__
    return chain


def _raised_in_a_library(err: BaseException) -> bool:
    """Whether the frame that raised `err` is in an installed package (site-packages)."""
    frames = traceback.extract_tb(err.__traceback__)
    return bool(frames) and any(
        part in ("site-packages", "dist-packages") for part in Path(frames[-1].filename).parts
    )


class _Quiet(logging.Filter):
    """Drops Lightning's adverts and the notice our own ModelSummary callback causes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            message.startswith("💡 Tip:") or "Skipping setting a default `ModelSummary`" in message
        )


_QUIET = _Quiet()


def _launched_rank() -> int:
    """This process's global rank as its launcher (torchrun, SLURM, Lightning) set it."""
    if int(os.environ.get("NODE_RANK", "0")) > 0:
        return 1
    for variable in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):  # Lightning's order
        if variable in os.environ:
            return int(os.environ[variable])
    return 0


def run(args: list[str] | None = None, callbacks: Sequence[Callback] = ()) -> ProjCLI:
    """The command line from Python, returning the CLI: scripts read the run's trainer,
    model and datamodule from it, and may give callbacks of their own. A bad input exits
    with one line, as the command does."""
    # the same object each call: added once however often scripts call run()
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_QUIET)
    try:
        with warnings.catch_warnings():
            # scripts pass `args` while their own arguments are in sys.argv: intended here
            warnings.filterwarnings("ignore", message=".*args parameter is intended to run")
            return ProjCLI(args=args, callbacks=callbacks)
    except BaseException as err:
        if ProjCLI.current is not None:
            ProjCLI.current.discard_unstarted_run()
        if not isinstance(err, ProjError) or os.environ.get("PROJ_DEBUG") == "1":
            raise  # PROJ_DEBUG=1: the whole chain of any error
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)


def main(args: list[str] | None = None) -> None:
    """The training command line: `python -m proj fit|validate|test|predict ...`."""
    run(args)
