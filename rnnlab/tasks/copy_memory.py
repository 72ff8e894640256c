"""The copy-memory problem (Hochreiter & Schmidhuber 1997; Arjovsky, Shah & Bengio 2016)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from rnnlab.errors import require
from rnnlab.tasks.base import SyntheticTask
from rnnlab.tasks.registry import register_task

BLANK = 0  # classes: 0 blank, 1..num_symbols the symbols, num_symbols + 1 the delimiter


@register_task
class CopyMemoryTask(SyntheticTask):
    """Remember `copy_len` symbols across a delay of `seq_len` steps, then reproduce them after a delimiter.

    Input, one-hot over num_symbols + 2 classes, T = seq_len + 2 * copy_len steps (Arjovsky et al.'s layout):
    `copy_len` symbols drawn uniformly from 1..num_symbols, seq_len - 1 blanks, the delimiter, copy_len blanks.
    Target at every step: blank for the first seq_len + copy_len steps, then the copy_len symbols.

    Baseline: the literature's "memoryless" one, copy_len * log(num_symbols) / T -- blank for sure during the
    first seq_len + copy_len steps, uniform over the symbols for the last copy_len. It is the best predictor that
    ignores the input symbols (it still knows the step), not a single constant: no constant does as well.
    """

    name = "copy_memory"
    kind = "classification"
    readout = "every_step"
    input_size = 10
    output_size = 10
    min_seq_len = 1

    def __init__(self, num_symbols: int = 8, copy_len: int = 3, **kwargs) -> None:
        for key, value in (("num_symbols", num_symbols), ("copy_len", copy_len)):
            require(isinstance(value, int) and value >= 1, f"task.{key}", value, "an integer >= 1")
        super().__init__(**kwargs)
        self.num_symbols, self.copy_len = num_symbols, copy_len
        self.input_size = self.output_size = num_symbols + 2

    @property
    def total_len(self) -> int:
        return self.seq_len + 2 * self.copy_len

    def generate(self, generator, batch_size):
        n, T = self.copy_len, self.total_len
        symbols = torch.randint(1, self.num_symbols + 1, (batch_size, n), generator=generator)
        tokens = torch.full((batch_size, T), BLANK, dtype=torch.int64)
        tokens[:, :n] = symbols
        tokens[:, T - n - 1] = self.num_symbols + 1
        y = torch.full((batch_size, T), BLANK, dtype=torch.int64)
        y[:, T - n :] = symbols
        x = F.one_hot(tokens, self.input_size).float()
        return {"x": x, "y": y}

    @property
    def baseline(self) -> float:
        return self.copy_len * math.log(self.num_symbols) / self.total_len
