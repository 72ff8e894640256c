"""The run's progress bar, counted in optimizer steps: `step 230/500`, the training loss, the last validation loss
and the task's baseline, so a glance says how far the run is and whether it learns anything."""

from __future__ import annotations

import math
import sys

import lightning as L
from lightning.pytorch.callbacks.progress import ProgressBar
from tqdm.auto import tqdm

from rnnlab.record import tags
from rnnlab.record.formatting import significant


class StepProgressBar(ProgressBar):
    """One bar over the run's `max_steps` (Lightning's own bars count batches per epoch, and a run measured in steps
    has no epoch count: `Epoch 9/-2`). Validation draws no bar of its own; its loss appears on the training bar.

    `refresh_every` steps between redraws keeps the bar's cost off a fast step.
    """

    def __init__(self, refresh_every: int = 10) -> None:
        super().__init__()
        if not isinstance(refresh_every, int) or refresh_every < 1:
            raise ValueError(f"StepProgressBar: refresh_every must be an integer >= 1, got {refresh_every!r}")
        self.refresh_every = refresh_every
        self._enabled = True
        self.bar: tqdm | None = None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def postfix(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str:
        """`loss 0.1234  val 0.0456  baseline 0.1667`: the latest values Lightning holds."""
        metrics = trainer.callback_metrics
        parts = []
        for label, name in (("loss", tags.TRAIN_LOSS), ("val", tags.VAL_LOSS), ("acc", tags.VAL_ACC)):
            if name in metrics and math.isfinite(value := float(metrics[name])):
                parts.append(f"{label} {significant(value)}")
            elif name in metrics:
                parts.append(f"{label} {value}")
        baseline = getattr(pl_module, "baseline", None)
        if baseline is not None:
            parts.append(f"baseline {significant(baseline)}")
        return "  ".join(parts)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._enabled:
            return
        total = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else None
        self.bar = tqdm(
            total=total,
            initial=trainer.global_step,
            file=sys.stderr,
            dynamic_ncols=True,
            leave=True,
            bar_format="step {n_fmt}/{total_fmt} {bar:20} {desc} [{elapsed}<{remaining}]",
        )

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int
    ) -> None:
        if self.bar is not None and (
            trainer.global_step % self.refresh_every == 0 or trainer.global_step == trainer.max_steps
        ):
            self._draw(trainer, pl_module)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.bar is not None and not trainer.sanity_checking:
            self._draw(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.bar is not None:
            self._draw(trainer, pl_module)
            self.bar.close()
            self.bar = None

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.bar is None:
            return
        self.bar.n = trainer.global_step
        self.bar.set_description_str(self.postfix(trainer, pl_module), refresh=False)
        self.bar.refresh()
