"""Resuming exactly: the training data of a resumed run continue where the interrupted run stopped."""

from __future__ import annotations

import lightning as L


class StepAligned(L.Callback):
    """Align the data and the logged steps with the optimizer steps taken, so a resumed run repeats the original.

    The training sampler's epoch becomes the number of whole epochs trained (global_step // batches per epoch).

    Lightning sets it from its own epoch counter, which a run resumed from an epoch-end checkpoint under max_steps
    advances one too far (it replays the finished epoch's end as an empty epoch), so the resumed run would skip an
    epoch's batches. Counting from the optimizer steps taken, a task's batch index is always step-exact. The same
    replay shifts the step Lightning logs at by one; without gradient accumulation that step is the global step.
    """

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loader = trainer.train_dataloader
        sampler = getattr(loader, "sampler", None)
        if hasattr(sampler, "set_epoch") and trainer.num_training_batches:
            sampler.set_epoch(trainer.global_step // int(trainer.num_training_batches))
        if trainer.accumulate_grad_batches == 1:
            trainer.fit_loop.epoch_loop._batches_that_stepped = trainer.global_step  # Lightning's logging step
