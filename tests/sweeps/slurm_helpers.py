"""A slow-down the Slurm tests inject into real jobs, so a job is still running when it is requeued. Test-only."""

import os
import time

import lightning as L

STEP_SLEEP = "RNNLAB_TEST_STEP_SLEEP"  # seconds per optimizer step, from the environment (sbatch passes it on)


class Slow(L.Callback):
    """Sleep $RNNLAB_TEST_STEP_SLEEP seconds after each training step; nothing else changes."""

    def __init__(self) -> None:
        self.seconds = float(os.environ.get(STEP_SLEEP) or 0)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        time.sleep(self.seconds)
