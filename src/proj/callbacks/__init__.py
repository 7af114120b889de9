"""Lightning callbacks: those the CLI adds to every run, and those a config may add."""

from proj.callbacks.channels_last import ChannelsLast
from proj.callbacks.compile_net import CompileNet, CompileOptions
from proj.callbacks.ema import EMA
from proj.callbacks.example_input import ExampleInput
from proj.callbacks.initial_weights import InitialWeights
from proj.callbacks.monitor_check import MonitorCheck
from proj.callbacks.prediction_file import PredictionsFile
from proj.callbacks.predictions import PredictionsCSV
from proj.callbacks.progress import LineProgress, ThrottledRichProgressBar
from proj.callbacks.rng_state import RNGState
from proj.callbacks.run_summary import RunSummary
from proj.callbacks.tensorboard_views import TensorBoardViews

__all__ = [
    "EMA",
    "ChannelsLast",
    "CompileNet",
    "CompileOptions",
    "ExampleInput",
    "InitialWeights",
    "LineProgress",
    "MonitorCheck",
    "PredictionsCSV",
    "PredictionsFile",
    "RNGState",
    "RunSummary",
    "TensorBoardViews",
    "ThrottledRichProgressBar",
]
