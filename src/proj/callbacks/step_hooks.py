"""Per-batch callback hooks that a callback leaves as Lightning's no-ops are not dispatched."""

from collections.abc import Iterable

from lightning.pytorch.callbacks import Callback

PER_BATCH_HOOKS = (
    "on_train_batch_start",
    "on_train_batch_end",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_before_zero_grad",
    "on_validation_batch_start",
    "on_validation_batch_end",
    "on_test_batch_start",
    "on_test_batch_end",
    "on_predict_batch_start",
    "on_predict_batch_end",
)


def skip_noop_batch_hooks(callbacks: Iterable[Callback]) -> None:
    """Set each per-batch hook that a callback's class does not override to None.

    Lightning dispatches every hook to every callback, each inside a profiler context,
    whether it does anything or not: with a run's dozen callbacks about 25 us a hook, five
    hooks a training step -- a few percent of a small model's step. Its dispatcher calls a
    hook only if it is callable, so a None on the instance skips the no-op entirely.
    """
    for callback in callbacks:
        for hook in PER_BATCH_HOOKS:
            if getattr(type(callback), hook) is getattr(Callback, hook):
                setattr(callback, hook, None)
