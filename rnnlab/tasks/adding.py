"""The adding problem (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015)."""

from __future__ import annotations

import torch

from rnnlab.models.sequences import length_mask
from rnnlab.tasks.base import SyntheticTask
from rnnlab.tasks.registry import register_task


@register_task
class AddingTask(SyntheticTask):
    """Sum the two values marked in a long sequence: the marks sit one in each half, far apart in time.

    Input (T, 2): a value drawn from U(0, 1) and a 0/1 marker. Target: the sum of the two marked values, read at
    each sequence's last step. With `variable_length=True` the marks sit in the halves of the example's own length
    and both channels are zero past it.
    Baseline: always predicting 1, the mean of the sum, gives MSE = Var(U + U) = 2/12 ~ 0.167.
    """

    name = "adding"
    kind = "regression"
    readout = "last"
    input_size = 2
    output_size = 1
    min_seq_len = 2
    supports_variable_length = True

    def generate(self, generator, batch_size):
        T = self.seq_len
        lengths = self.sample_lengths(generator, batch_size)
        values = torch.rand(batch_size, T, generator=generator) * length_mask(lengths, T)
        half = lengths // 2
        first = self.uniform_below(generator, half)
        second = half + self.uniform_below(generator, lengths - half)
        markers = torch.zeros(batch_size, T)
        rows = torch.arange(batch_size)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        x = torch.stack([values, markers], dim=-1)
        y = (values[rows, first] + values[rows, second]).unsqueeze(-1)
        return self.as_batch(x, y, lengths)

    @property
    def baseline(self) -> float:
        return 2.0 / 12.0
