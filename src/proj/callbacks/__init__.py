"""Lightning callbacks that the CLI adds to every run."""

from proj.callbacks.predictions import PredictionsCSV
from proj.callbacks.progress import ThrottledRichProgressBar
from proj.callbacks.rng_state import RNGState
from proj.callbacks.run_summary import RunSummary

__all__ = ["PredictionsCSV", "RNGState", "RunSummary", "ThrottledRichProgressBar"]
