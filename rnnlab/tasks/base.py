"""The contract of a synthetic task: seeded generation, a known trivial baseline, Lightning dataloaders."""

from __future__ import annotations

import hashlib

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

SPLITS = ("train", "val", "test")


def batch_seed(seed: int, split: str, index: int) -> int:
    """A generator seed for batch `index` of `split`: independent streams, the same on every machine."""
    digest = hashlib.sha256(f"{seed}/{split}/{index}".encode()).hexdigest()
    return int(digest[:15], 16)


class SyntheticTask(L.LightningDataModule):
    """A sequence task generated from a seed, never downloaded.

    A batch is a pure function of (seed, split, index), so a resumed run sees the same data. Training batch i of
    epoch e has index e * train_batches + i: fresh data every epoch, yet reproducible.

    A batch is a dict: `x` (B, T, input_size) float, batch-first; `y` the targets; optionally `lengths` (B,) int64
    for variable-length sequences (positions past a length are zero), and `mask` (B, T) bool for `readout ==
    "every_step"` tasks whose loss covers only some steps.
    Subclasses set the class attributes below and implement `generate` and `baseline`.
    """

    name: str = "task"
    kind: str = "regression"  # "regression" (y float) or "classification" (y int64 class indices)
    readout: str = "last"  # "last": y (B, output_size) or (B,) from each sequence's last step; "every_step": y (B, T, ...)
    input_size: int = 1
    output_size: int = 1  # regression: target dimension; classification: number of classes
    min_seq_len: int = 2

    def __init__(self, seq_len: int = 50, batch_size: int = 64, train_batches: int = 50, val_batches: int = 4,
                 seed: int = 0, num_workers: int = 0) -> None:
        super().__init__()
        if not isinstance(seq_len, int) or seq_len < self.min_seq_len:
            raise ValueError(f"seq_len={seq_len!r} is too short for task '{self.name}': it needs seq_len >= "
                             f"{self.min_seq_len}")
        for key, value in (("batch_size", batch_size), ("train_batches", train_batches),
                           ("val_batches", val_batches)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"task.{key} must be an integer >= 1, got {value!r}")
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.train_batches = train_batches
        self.val_batches = val_batches
        self.seed = seed
        self.num_workers = num_workers

    # ---- what a task defines ------------------------------------------------------------------------------

    def generate(self, generator: torch.Generator, batch_size: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @property
    def baseline(self) -> float:
        """The loss of the best constant predictor: the score a model that learned nothing gets."""
        raise NotImplementedError

    # ---- batches and dataloaders --------------------------------------------------------------------------

    def batch(self, split: str, index: int) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(batch_seed(self.seed, split, index))
        return self.generate(generator, self.batch_size)

    def _loader(self, split: str, sampler: Sampler) -> DataLoader:
        return DataLoader(_TaskBatches(self, split), batch_size=None, sampler=sampler,
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", EpochSampler(self.train_batches))

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", EpochSampler(self.val_batches, advance=False))

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", EpochSampler(self.val_batches, advance=False))


class _TaskBatches(Dataset):
    def __init__(self, task: SyntheticTask, split: str) -> None:
        self.task, self.split = task, split

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.task.batch(self.split, index)


class EpochSampler(Sampler):
    """Batch indices e * n ... e * n + n - 1 for epoch e (Lightning calls `set_epoch`); fixed if not `advance`."""

    def __init__(self, num_batches: int, advance: bool = True) -> None:
        self.num_batches, self.advance, self.epoch = num_batches, advance, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        start = self.epoch * self.num_batches if self.advance else 0
        return iter(range(start, start + self.num_batches))

    def __len__(self) -> int:
        return self.num_batches
