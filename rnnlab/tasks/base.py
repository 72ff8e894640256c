"""The contract of a synthetic task: seeded generation, a known trivial baseline, torch DataLoaders.

Free of Lightning on purpose: the configuration checks build the task (its own argument checks, `min_seq_len`,
`input_size`) before the run imports Lightning, so a bad task value is answered in the time of `import torch`.
"""

from __future__ import annotations

import hashlib

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from rnnlab.errors import require


def batch_seed(seed: int, split: str, index: int) -> int:
    """A generator seed for batch `index` of `split`: independent streams, the same on every machine."""
    digest = hashlib.sha256(f"{seed}/{split}/{index}".encode()).hexdigest()
    return int(digest[:15], 16)


class SyntheticTask:
    """A sequence task generated from a seed, never downloaded.

    A batch is a pure function of (seed, split, index), so a resumed run sees the same data. The trainer is given
    `train_dataloader()` and `val_dataloader()`. Training batch i of
    epoch e has index e * train_batches + i: fresh data every epoch, yet reproducible.

    A batch is a dict: `x` (B, T, input_size) float, batch-first; `y` the targets; optionally `lengths` (B,) int64
    for variable-length sequences (positions past a length are zero), and `mask` (B, T) bool for `readout ==
    "every_step"` tasks whose loss covers only some steps.
    Subclasses set the class attributes below and implement `generate` and `baseline`; a subclass may override
    `input_size` / `output_size` per instance when they depend on its arguments.

    Variable length (tasks with `supports_variable_length`): `variable_length=True` draws each example's length
    uniformly from [min_len, seq_len] (`min_len` defaults to seq_len // 2); `sample_lengths` gives them to
    `generate`, and the batch carries them as `lengths`.
    """

    name: str = "task"
    kind: str = "regression"  # "regression" (y float) or "classification" (y int64 class indices)
    readout: str = (
        "last"  # "last": y (B, output_size) or (B,) from each sequence's last step; "every_step": y (B, T, ...)
    )
    input_size: int = 1
    output_size: int = 1  # regression: target dimension; classification: number of classes
    min_seq_len: int = 2
    supports_variable_length: bool = False
    has_test_split: bool = False  # a held-out test split the run scores once after training (test_dataloader)
    balanced_accuracy: bool = False  # classification: also log class-balanced accuracy (unbalanced classes)
    baseline_acc: float | None = None  # classification: the accuracy of the best constant answer, where known

    def __init__(
        self,
        seq_len: int = 50,
        batch_size: int = 64,
        train_batches: int = 50,
        val_batches: int = 4,
        seed: int = 0,
        num_workers: int = 0,
        variable_length: bool = False,
        min_len: int | None = None,
    ) -> None:
        require(
            isinstance(seq_len, int) and seq_len >= self.min_seq_len,
            "seq_len",
            seq_len,
            f"task '{self.name}' needs an integer >= {self.min_seq_len}",
        )
        for key, value in (("batch_size", batch_size), ("train_batches", train_batches), ("val_batches", val_batches)):
            require(isinstance(value, int) and value >= 1, f"task.{key}", value, "an integer >= 1")
        require(isinstance(variable_length, bool), "task.variable_length", variable_length, "true or false")
        require(
            not variable_length or self.supports_variable_length,
            "task.variable_length",
            variable_length,
            f"false for task '{self.name}' (fixed-length sequences only)",
        )
        if min_len is not None:
            require(variable_length, "task.min_len", min_len, "null unless task.variable_length=true")
            require(
                isinstance(min_len, int) and self.min_seq_len <= min_len <= seq_len,
                "task.min_len",
                min_len,
                f"an integer in [{self.min_seq_len}, seq_len={seq_len}] for task '{self.name}'",
            )
        self.variable_length = variable_length
        self.min_len = (
            (max(self.min_seq_len, seq_len // 2) if min_len is None else min_len) if variable_length else seq_len
        )
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

    # ---- helpers for generate -----------------------------------------------------------------------------

    def sample_lengths(self, generator: torch.Generator, batch_size: int) -> torch.Tensor:
        """Each example's length, (B,) int64: seq_len for all unless `variable_length`.

        Draws nothing from the generator for fixed-length tasks, so their batches do not depend on this option's
        existence.
        """
        if not self.variable_length:
            return torch.full((batch_size,), self.seq_len, dtype=torch.int64)
        return torch.randint(self.min_len, self.seq_len + 1, (batch_size,), generator=generator)

    def as_batch(
        self, x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor, mask: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """The batch dict of the contract: `lengths` only for variable-length batches, `mask` when given."""
        batch = {"x": x, "y": y}
        if self.variable_length:
            batch["lengths"] = lengths
        if mask is not None:
            batch["mask"] = mask
        return batch

    @staticmethod
    def uniform_below(generator: torch.Generator, high: torch.Tensor) -> torch.Tensor:
        """An integer uniform in [0, high) for each element of `high` (int64), whose bound may differ per element."""
        draw = torch.rand(high.shape, generator=generator, dtype=torch.float64)
        # float64 keeps draw * high < high for any realistic length; the clamp makes sure of it.
        return torch.minimum((draw * high).long(), high - 1)

    # ---- batches and dataloaders --------------------------------------------------------------------------

    def batch(self, split: str, index: int) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(batch_seed(self.seed, split, index))
        return self.generate(generator, self.batch_size)

    def _loader(self, split: str, sampler: Sampler) -> DataLoader:
        # Its own generator: without one, every new iterator draws its base seed from the global RNG, which also
        # drives dropout, so a resumed run (one iterator more) would draw other dropout masks.
        generator = torch.Generator().manual_seed(batch_seed(self.seed, split, -1))
        return DataLoader(
            _TaskBatches(self, split),
            batch_size=None,
            sampler=sampler,
            generator=generator,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", StepSampler(self.train_batches))

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", EpochSampler(self.val_batches, advance=False))


class _TaskBatches(Dataset):
    def __init__(self, task: SyntheticTask, split: str) -> None:
        self.task, self.split = task, split

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.task.batch(self.split, index)


class StepSampler(Sampler):
    """Training batch indices from the step reached (`start_at`) to the end of its epoch: batch s for step s.

    The index is read when the first batch is drawn, so a run resumed mid-epoch continues with the very batch the
    interrupted run would have drawn next (Lightning replays a plain sampler from the epoch's start).
    """

    def __init__(self, num_batches: int) -> None:
        self.num_batches, self.start = num_batches, 0

    def start_at(self, step: int) -> None:
        self.start = step

    def set_epoch(self, epoch: int) -> None:
        """Lightning's epoch counter is ignored: the step reached says where the data continue."""

    def __iter__(self):
        start = self.start
        yield from range(start, (start // self.num_batches + 1) * self.num_batches)

    def __len__(self) -> int:
        return self.num_batches


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


def scored_steps(readout: str, batch: dict[str, torch.Tensor], steps: int) -> torch.Tensor:
    """(B, T) bool: the steps whose output the task's loss reads -- the declaration behind "the last step that
    carries loss". `readout="last"`: each sequence's own last step; `"every_step"`: the batch's `mask` if it has one,
    else every step within each sequence's length.

    A gradient-through-time indicator measured to a step that carries no loss (lookahead's unscored tail) would
    divide by an exact zero; measured to this step it reads the network, not the task's layout.
    """
    batch_size = batch["x"].size(0)
    lengths, mask = batch.get("lengths"), batch.get("mask")
    within = torch.arange(steps).unsqueeze(0) < (
        lengths.cpu().unsqueeze(1) if lengths is not None else torch.full((batch_size, 1), steps)
    )
    if readout == "last":
        last = within.sum(dim=1) - 1
        return torch.nn.functional.one_hot(last, steps).bool()
    if mask is not None:
        return mask.cpu().bool() & within
    return within
