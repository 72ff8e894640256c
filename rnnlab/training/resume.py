"""Resuming exactly: the training data and the logged steps of a resumed run continue where the run stopped.

The one place rnnlab writes Lightning's private state. `_batches_that_stepped` is the step Lightning logs at; on
restart Lightning re-derives it from the loop counters, off by one for a checkpoint saved at an epoch's end
(lightning/pytorch/loops/training_epoch_loop.py, `_TrainingEpochLoop.reset`: "batches_that_stepped is never set
prior to saving a checkpoint"; the counter came with https://github.com/Lightning-AI/pytorch-lightning/pull/13467
and #13645). The guard below
refuses, loudly, a Lightning whose loop no longer has that counter, rather than logging at silently wrong steps.
"""

from __future__ import annotations

import lightning as L
from lightning.pytorch.loops.training_epoch_loop import _TrainingEpochLoop
from packaging.version import Version

# The Lightning releases whose private step counter this module sets (the lower bound is pyproject.toml's).
LIGHTNING_CHECKED = (Version("2.6"), Version("2.7"))
PRIVATE_COUNTER = "_batches_that_stepped"


def check_lightning(version: str = L.__version__, loop: type[object] = _TrainingEpochLoop) -> None:
    """Raise RuntimeError unless this Lightning is one whose private logging-step counter StepAligned may set."""
    low, high = LIGHTNING_CHECKED
    if not low <= Version(version) < high or PRIVATE_COUNTER not in loop.__init__.__code__.co_names:
        raise RuntimeError(
            f"rnnlab.training.resume sets Lightning's private {loop.__name__}.{PRIVATE_COUNTER}, checked for "
            f"lightning >={low},<{high}; this is lightning {version}. Check that the counter still exists and "
            f"still means the logged step (tests/training/test_resume.py), then widen LIGHTNING_CHECKED."
        )


class StepAligned(L.Callback):
    """Align the training data and the logged steps with the optimizer steps taken.

    The training sampler (rnnlab.tasks.base.StepSampler) starts at the step reached, so batch s is drawn for
    step s whether the run was resumed at an epoch's end, mid-epoch, or not at all. Without gradient
    accumulation, Lightning's logging step is set to the global step for the same reason.
    """

    def __init__(self) -> None:
        check_lightning()

    def _start_data_at_step(self, trainer: L.Trainer) -> None:
        start_at = getattr(getattr(trainer.train_dataloader, "sampler", None), "start_at", None)
        if start_at is not None:
            start_at(trainer.global_step)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start_data_at_step(trainer)  # a run resumed mid-epoch gets no on_train_epoch_start for that epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start_data_at_step(trainer)

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        # Here, after Lightning's restart bookkeeping (which runs after on_train_epoch_start), the counter of an
        # uninterrupted run equals the global step.
        if trainer.accumulate_grad_batches == 1:
            setattr(trainer.fit_loop.epoch_loop, PRIVATE_COUNTER, trainer.global_step)
