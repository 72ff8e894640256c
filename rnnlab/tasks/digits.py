"""scikit-learn's 8x8 handwritten digits read as a sequence: row by row, or pixel by pixel (permuted MNIST's kin)."""

from __future__ import annotations

import torch

from rnnlab.errors import require
from rnnlab.tasks.dataset import DatasetTask
from rnnlab.tasks.optional import require_package
from rnnlab.tasks.registry import register_task

MODES = ("rows", "pixels")


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 1,797 images (N, 8, 8) with values 0..16 and their labels, as shipped inside scikit-learn."""
    require_package("scikit-learn", "by task 'digits' (its data ship inside it)", module="sklearn")
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    return torch.tensor(data.images, dtype=torch.float32), torch.tensor(data.target, dtype=torch.int64)


@register_task
class DigitsTask(DatasetTask):
    """Classify a handwritten digit (10 classes) read as 8 steps of 8 pixels (`mode=rows`) or 64 steps of one
    (`mode=pixels`, in a fixed random order with `permute=true`, seeded by `permutation_seed`).

    Pixels are scaled to [0, 1] (the data's 0..16 / 16). Split 80/10/10 stratified by digit; metrics: accuracy
    and class-balanced accuracy. Baseline: the majority class scores ~0.10 (the classes are balanced).
    """

    name = "digits"
    class_names = tuple(str(d) for d in range(10))

    def __init__(
        self,
        mode: str = "rows",
        permute: bool = False,
        permutation_seed: int = 0,
        train_batches: int = 100,  # batches between validations
        **kwargs,
    ) -> None:
        require(mode in MODES, "task.mode", mode, f"one of {', '.join(MODES)}")
        require(isinstance(permute, bool), "task.permute", permute, "true or false")
        require(not permute or mode == "pixels", "task.permute", permute, "false unless task.mode=pixels")
        self.mode, self.permute, self.permutation_seed = mode, permute, permutation_seed
        self.input_size = 8 if mode == "rows" else 1
        super().__init__(train_batches=train_batches, **kwargs)

    def examples(self) -> dict[str, torch.Tensor]:
        images, labels = load_digits()
        images = images / 16.0
        if self.mode == "rows":
            return {"x": images, "y": labels}
        pixels = images.flatten(1)
        if self.permute:
            order = torch.randperm(64, generator=torch.Generator().manual_seed(self.permutation_seed))
            pixels = pixels[:, order]
        return {"x": pixels.unsqueeze(-1), "y": labels}
