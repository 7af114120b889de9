"""proj: a Lightning training template for the models and datasets of a PyTorch course."""

__version__ = "0.1.0"
