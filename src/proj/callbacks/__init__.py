"""Lightning callbacks that the CLI adds to every run."""

from proj.callbacks.example_input import ExampleInput
from proj.callbacks.predictions import PredictionsCSV
from proj.callbacks.progress import LineProgress, ThrottledRichProgressBar
from proj.callbacks.rng_state import RNGState
from proj.callbacks.run_summary import RunSummary
from proj.callbacks.tensorboard_views import TensorBoardViews

__all__ = [
    "ExampleInput",
    "LineProgress",
    "PredictionsCSV",
    "RNGState",
    "RunSummary",
    "TensorBoardViews",
    "ThrottledRichProgressBar",
]
