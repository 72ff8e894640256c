"""Weight and gradient histograms: how the distributions of the parameters and their gradients evolve."""

from __future__ import annotations

import lightning as L

from rnnlab.diagnostics.base import EveryNSteps, summary_writer
from rnnlab.record import tags


class Histograms(EveryNSteps):
    """Write `weights/<name>` and `grads/<name>` histograms every `every_n_steps` optimizer steps.

    Taken in `on_before_optimizer_step`: the weights this step's gradient was computed at, and the gradient before
    clipping. Needs a TensorBoardLogger; without one it does nothing.
    """

    def __init__(self, every_n_steps: int = 100) -> None:
        super().__init__(every_n_steps)

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer) -> None:
        writer = summary_writer(trainer)
        if writer is None or not self.due(trainer):
            return
        for name, param in pl_module.named_parameters():
            writer.add_histogram(tags.weight_histogram(name), param.detach(), trainer.global_step)
            if param.grad is not None:
                writer.add_histogram(tags.grad_histogram(name), param.grad.detach(), trainer.global_step)
