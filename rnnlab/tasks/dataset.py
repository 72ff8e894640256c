"""The contract of a task read from a fixed dataset: a seeded stratified train/val/test split of examples, the
training batches a pure function of (seed, index), the majority class as baseline.

Such a task subclasses `DatasetTask`, sets the class attributes of `SyntheticTask` and implements `examples()`
(every example's inputs and labels) and, for variable-length data, `lengths`. The rest (split, batching, a test
split, baselines) is here, so a new dataset task is one class and one YAML.
"""

from __future__ import annotations

import math
from functools import cached_property

import torch
from torch.utils.data import DataLoader

from rnnlab.errors import require
from rnnlab.tasks.base import EpochSampler, StepSampler, SyntheticTask, batch_seed

SPLITS = ("train", "val", "test")


def stratified_split(labels: torch.Tensor, fractions: tuple[float, float], seed: int) -> dict[str, torch.Tensor]:
    """Indices of train/val/test: each class shuffled with `seed`, its first `fractions` (val, test) to val and test.

    Each split holds every class in the dataset's proportion (rounded; a class of >= 3 examples has one in each
    split), and the same (labels, fractions, seed) give the same split on every machine.
    """
    generator = torch.Generator().manual_seed(batch_seed(seed, "split", 0))
    parts: dict[str, list[torch.Tensor]] = {split: [] for split in SPLITS}
    for label in torch.unique(labels):
        members = torch.nonzero(labels == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        n_val, n_test = (max(1, round(f * len(members))) if len(members) >= 3 else 0 for f in fractions)
        parts["val"].append(members[:n_val])
        parts["test"].append(members[n_val : n_val + n_test])
        parts["train"].append(members[n_val + n_test :])
    return {split: torch.sort(torch.cat(found)).values for split, found in parts.items()}


class DatasetTask(SyntheticTask):
    """A classification task over a fixed set of examples, read out at each sequence's last (real) step.

    `examples()` gives `x` (N, T, input_size) float, zero past each length (or a compact form that `inputs`
    expands per batch), `y` (N,) int64 class indices, and
    `lengths` (N,) int64 or None (all T). The split is stratified by class (`val_fraction`, `test_fraction`, fixed
    by `split_seed`, not by the run's seed, so every run of a study scores the same test set). Training batch i
    takes positions i*B ... i*B+B-1 of an endless stream of seeded shuffles of the training set (one per pass), so a
    batch is still a pure function of (seed, index) and a resumed run sees the same data. `train_batches` is the
    number of batches between validations; validation and test cover their whole split (`val_batches`: null) or its
    first `val_batches` batches.
    """

    kind = "classification"
    readout = "last"
    min_seq_len = 1
    has_test_split = True
    balanced_accuracy = True
    class_names: tuple[str, ...] = ()

    def __init__(
        self,
        seq_len: int | None = None,
        batch_size: int = 64,
        train_batches: int = 50,
        val_batches: int | None = None,
        seed: int = 0,
        num_workers: int = 0,
        variable_length: bool = False,
        min_len: int | None = None,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 0,
    ) -> None:
        for key, value in (("batch_size", batch_size), ("train_batches", train_batches)):
            require(isinstance(value, int) and value >= 1, f"task.{key}", value, "an integer >= 1")
        require(
            val_batches is None or (isinstance(val_batches, int) and val_batches >= 1),
            "task.val_batches",
            val_batches,
            "null (the whole split) or an integer >= 1",
        )
        require(min_len is None, "task.min_len", min_len, f"null (task '{self.name}' reads its data's own lengths)")
        require(
            variable_length == self.supports_variable_length,
            "task.variable_length",
            variable_length,
            f"{str(self.supports_variable_length).lower()} for task '{self.name}' (set by its data)",
        )
        for key, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
            require(0 < fraction < 0.5, f"task.{key}", fraction, "a number in (0, 0.5)")
        require(isinstance(split_seed, int) and split_seed >= 0, "task.split_seed", split_seed, "an integer >= 0")
        self.batch_size, self.train_batches = batch_size, train_batches
        self.val_batches = val_batches  # type: ignore[assignment]  # None: the whole validation split (unlike the generated tasks)
        self.seed, self.num_workers, self.variable_length = seed, num_workers, variable_length
        self.val_fraction, self.test_fraction, self.split_seed = val_fraction, test_fraction, split_seed
        data = self.examples()
        self.x, self.y, self.lengths = data["x"], data["y"], data.get("lengths")
        require(
            seq_len is None or (isinstance(seq_len, int) and seq_len >= 1),
            "task.seq_len",
            seq_len,
            f"null (task '{self.name}': its data's length, {self.x.size(1)}) or an integer >= 1 (truncates)",
        )
        if seq_len is not None and seq_len < self.x.size(1):  # read only the first seq_len steps
            self.x = self.x[:, :seq_len].contiguous()
            if self.lengths is not None:
                self.lengths = self.lengths.clamp(max=seq_len)
        self.seq_len = self.min_len = self.x.size(1)
        self.output_size = len(self.class_names)
        self.split = stratified_split(self.y, (val_fraction, test_fraction), split_seed)

    # ---- what a dataset task defines -----------------------------------------------------------------------

    def examples(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def inputs(self, stored: torch.Tensor) -> torch.Tensor:
        """A batch's `x` from the rows `examples()` stored (a task may store codes and expand them here)."""
        return stored

    # ---- baselines -----------------------------------------------------------------------------------------

    @cached_property
    def class_counts(self) -> torch.Tensor:
        """Examples per class in the training split: what a model that ignores its input can know."""
        return torch.bincount(self.y[self.split["train"]], minlength=self.output_size)

    @property
    def baseline(self) -> float:
        """Cross-entropy of the best constant prediction (the training split's class frequencies) on the test split."""
        prior = (self.class_counts.double() + 1) / (self.class_counts.sum() + self.output_size)  # never log 0
        test = self.y[self.split["test"]]
        return float(-prior.log()[test].mean())

    @property
    def baseline_acc(self) -> float:  # type: ignore[override]  # a class constant on generated tasks; from the split here
        """Test accuracy of always answering the training split's majority class."""
        test = self.y[self.split["test"]]
        return float((test == self.class_counts.argmax()).double().mean())

    # ---- batches -------------------------------------------------------------------------------------------

    def split_batches(self, split: str) -> int:
        whole = math.ceil(len(self.split[split]) / self.batch_size)
        return whole if self.val_batches is None else min(whole, self.val_batches)

    def batch(self, split: str, index: int) -> dict[str, torch.Tensor]:
        if split == "train":
            rows = self._train_rows(index)
        else:
            rows = self.split[split][index * self.batch_size : (index + 1) * self.batch_size]
        batch = {"x": self.inputs(self.x[rows]), "y": self.y[rows]}
        if self.lengths is not None:
            batch["lengths"] = self.lengths[rows]
        return batch

    def _train_rows(self, index: int) -> torch.Tensor:
        train, size = self.split["train"], self.batch_size
        start = index * size
        passes = range(start // len(train), (start + size - 1) // len(train) + 1)
        stream = torch.cat([train[self._shuffle(p)] for p in passes])
        offset = start - passes[0] * len(train)
        return stream[offset : offset + size]

    def _shuffle(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(batch_seed(self.seed, "train-pass", epoch))
        return torch.randperm(len(self.split["train"]), generator=generator)

    def generate(self, generator, batch_size):
        raise TypeError(f"task '{self.name}' reads a fixed dataset: use batch(split, index)")

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", EpochSampler(self.split_batches("val"), advance=False))

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", EpochSampler(self.split_batches("test"), advance=False))

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", StepSampler(self.train_batches))
