"""LightningModules: how a net is trained, evaluated and used for prediction."""

from proj.tasks.classifier import ImageClassifier
from proj.tasks.regressor import Regressor
from proj.tasks.schedules import WarmupCosineLR

__all__ = ["ImageClassifier", "Regressor", "WarmupCosineLR"]
