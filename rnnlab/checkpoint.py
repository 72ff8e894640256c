"""The checkpoint a re-run resumes from: `checkpoints/last.ckpt`, written as each epoch after the first begins."""

from __future__ import annotations

from pathlib import Path

import lightning as L


class LastCheckpoint(L.Callback):
    """Save `dirpath/last.ckpt` at the start of every epoch but the first, overwriting the previous one.

    Not Lightning's ModelCheckpoint: its checkpoints are taken at an epoch's end, or after a step, and Lightning
    resumes a step-limited (max_steps) run from those into the wrong epoch, so the data sampler would skip an
    epoch's batches. Taken as an epoch starts, the checkpoint resumes exactly where the uninterrupted run was.
    """

    def __init__(self, dirpath: str) -> None:
        self.path = Path(dirpath) / "last.ckpt"

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch > 0 and not trainer.sanity_checking:
            trainer.save_checkpoint(self.path)
