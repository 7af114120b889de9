"""Lightning callbacks that the CLI adds to every run."""

from proj.callbacks.run_summary import RunSummary

__all__ = ["RunSummary"]
