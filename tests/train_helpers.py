"""Helpers the training tests hand to the CLI (it imports them from the repository root)."""

import os

import lightning as L


class ExitAfterSteps(L.Callback):
    """Kill the process after `steps` optimizer steps, as a crash or a cluster's time limit would."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step >= self.steps:
            os._exit(3)
