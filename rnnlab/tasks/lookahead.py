"""A task that needs future context: at every step, name the symbol `offset` steps ahead."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from rnnlab.errors import require
from rnnlab.models.sequences import length_mask
from rnnlab.tasks.base import SyntheticTask
from rnnlab.tasks.registry import register_task


@register_task
class LookaheadTask(SyntheticTask):
    """Output at step t the input symbol at step t + offset: a bidirectional RNN can, a unidirectional one cannot.

    Input: i.i.d. symbols uniform over `num_symbols`, one-hot. Target at every step t: the class of x_{t+offset};
    `mask` keeps the steps where t + offset lies inside the sequence (its own length when `variable_length`).
    A negative offset asks for a past symbol instead (a delayed echo), which a unidirectional RNN can learn:
    the pair makes the contrast between the directions visible.
    Baseline: the targets are uniform and independent of everything before them, so the best constant scores
    log(num_symbols) -- and so does every unidirectional model when offset > 0.
    """

    name = "lookahead"
    kind = "classification"
    readout = "every_step"
    input_size = 4
    output_size = 4
    min_seq_len = 2
    supports_variable_length = True

    def __init__(self, offset: int = 2, num_symbols: int = 4, **kwargs) -> None:
        require(
            isinstance(offset, int) and not isinstance(offset, bool) and offset != 0,
            "task.offset",
            offset,
            "a non-zero integer (> 0 looks ahead, < 0 looks back)",
        )
        require(isinstance(num_symbols, int) and num_symbols >= 2, "task.num_symbols", num_symbols, "an integer >= 2")
        self.offset, self.num_symbols = offset, num_symbols
        self.input_size = self.output_size = num_symbols
        self.min_seq_len = abs(offset) + 1  # at least one step must have a target
        super().__init__(**kwargs)

    def generate(self, generator, batch_size):
        T, d = self.seq_len, self.offset
        lengths = self.sample_lengths(generator, batch_size)
        inside = length_mask(lengths, T)
        symbols = torch.randint(0, self.num_symbols, (batch_size, T), generator=generator)
        x = F.one_hot(symbols, self.num_symbols).float() * inside.unsqueeze(-1)
        y = torch.zeros_like(symbols)
        mask = torch.zeros_like(inside)
        if d > 0:
            y[:, :-d] = symbols[:, d:]
            mask[:, :-d] = inside[:, d:]  # the target's step t + d must lie inside the sequence
        else:
            y[:, -d:] = symbols[:, :d]
            mask[:, -d:] = inside[:, -d:]
        y = y * mask
        return self.as_batch(x, y, lengths, mask)

    @property
    def baseline(self) -> float:
        return math.log(self.num_symbols)
