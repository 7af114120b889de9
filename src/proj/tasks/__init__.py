"""LightningModules: how a net is trained, evaluated and used for prediction."""

from proj.tasks.classifier import ImageClassifier

__all__ = ["ImageClassifier"]
