"""The adding problem (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015)."""

from __future__ import annotations

import torch

from rnnlab.tasks.base import SyntheticTask


class AddingTask(SyntheticTask):
    """Sum the two values marked in a long sequence: the marks sit one in each half, far apart in time.

    Input (T, 2): a value drawn from U(0, 1) and a 0/1 marker. Target: the sum of the two marked values.
    Baseline: always predicting 1, the mean of the sum, gives MSE = Var(U + U) = 2/12 ~ 0.167.
    """

    name = "adding"
    kind = "regression"
    readout = "last"
    input_size = 2
    output_size = 1
    min_seq_len = 2

    def generate(self, generator, batch_size):
        T = self.seq_len
        values = torch.rand(batch_size, T, generator=generator)
        half = T // 2
        first = torch.randint(0, half, (batch_size,), generator=generator)
        second = torch.randint(half, T, (batch_size,), generator=generator)
        markers = torch.zeros(batch_size, T)
        rows = torch.arange(batch_size)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        x = torch.stack([values, markers], dim=-1)
        y = (values[rows, first] + values[rows, second]).unsqueeze(-1)
        return {"x": x, "y": y}

    @property
    def baseline(self) -> float:
        return 2.0 / 12.0
