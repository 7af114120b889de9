"""LightningModules: how a net is trained, evaluated and used for prediction."""

from proj.tasks.classifier import ImageClassifier
from proj.tasks.regressor import Regressor

__all__ = ["ImageClassifier", "Regressor"]
