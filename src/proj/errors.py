"""Errors that mean the input is wrong, not the code: the CLI prints them without a traceback."""


class ProjError(Exception):
    """Base of the errors whose message alone tells the user what to fix."""


class ConfigError(ProjError, ValueError):
    """A config value that is out of range or does not fit the others; the message names its key."""


class DataNotFoundError(ProjError, FileNotFoundError):
    """A dataset's files are missing and cannot be downloaded."""


class DataFormatError(ProjError, ValueError):
    """A dataset file does not hold what its format says."""


class MissingSplitError(ConfigError):
    """A DataModule has no data for the stage asked of it (no test split, say)."""


class CheckpointError(ProjError, ValueError):
    """A checkpoint or weights file that cannot be loaded safely."""


class RunNotFoundError(ProjError, FileNotFoundError):
    """No run on disk has the checkpoint that was asked for."""


class TrainingDiverged(ProjError, RuntimeError):
    """The training loss became NaN or infinite."""


def brief(err: BaseException) -> str:
    """The first line of an exception's message (at most 300 characters), or its type."""
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__
