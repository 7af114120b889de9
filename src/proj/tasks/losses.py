"""Any torch.nn loss for a classifier, each fed what it takes.

A classifier's net gives logits and its data integer labels (or class probabilities, after
MixUp/CutMix). NLLLoss and KLDivLoss take log-probabilities, so they get
`log_softmax(logits)`; BCEWithLogitsLoss, MultiLabelSoftMarginLoss and KLDivLoss take a
target per class, so they get one-hot labels (or the mixed probabilities as they are);
anything else (CrossEntropyLoss, MultiMarginLoss, a loss of your own) gets the logits and
the labels as they come.
"""

import torch
from torch import nn
from torch.nn import functional as F

from proj.errors import ConfigError

TAKES_LOG_PROBS = (nn.NLLLoss, nn.KLDivLoss)
TAKES_ONE_HOT = (nn.BCEWithLogitsLoss, nn.MultiLabelSoftMarginLoss, nn.KLDivLoss)
TAKES_INDICES_ONLY = (nn.NLLLoss, nn.MultiMarginLoss)  # no class probabilities as targets


def classification_loss(
    loss: nn.Module, logits: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """`loss` of a batch, its inputs and targets in the form it takes."""
    inputs = logits.log_softmax(dim=1) if isinstance(loss, TAKES_LOG_PROBS) else logits
    targets = labels
    if isinstance(loss, TAKES_ONE_HOT) and labels.ndim == 1:
        targets = F.one_hot(labels, logits.shape[1]).to(logits.dtype)
    return loss(inputs, targets)


def takes_soft_targets(loss: nn.Module) -> bool:
    """False for the losses that take class indices only: MixUp/CutMix cannot feed them."""
    return not isinstance(loss, TAKES_INDICES_ONLY)


def set_class_weights(loss: nn.Module, weights: torch.Tensor) -> None:
    """The per-class weights into the loss's own `weight` (what CrossEntropyLoss, NLLLoss,
    MultiMarginLoss and the BCE-style losses weigh classes by)."""
    if not hasattr(loss, "weight"):
        cls = type(loss)
        raise ConfigError(
            f"model.class_weights: {cls.__module__}.{cls.__qualname__} has no class `weight` "
            "to put them in"
        )
    current = loss.weight
    if isinstance(current, torch.Tensor) and current.shape == weights.shape:
        with torch.no_grad():
            current.copy_(weights)  # in place: the buffer keeps its device and dtype
        return
    try:
        loss.register_buffer("weight", weights.clone())  # saved in checkpoints with the model
    except KeyError as err:
        raise ConfigError(
            f"model.class_weights: {type(loss).__qualname__}.weight is not a buffer"
        ) from err


def balanced_weights(counts: torch.Tensor) -> torch.Tensor:
    """n / (k * n_c): each class weighs as much in the loss as every other (scikit-learn's
    'balanced')."""
    counts = counts.double()
    return (counts.sum() / (len(counts) * counts)).float()
