"""Sequential parity (XOR of all bits) and its marked-bits variant (Martens & Sutskever 2011's XOR problem)."""

from __future__ import annotations

import math

import torch

from rnnlab.errors import require
from rnnlab.models.sequences import length_mask
from rnnlab.tasks.base import SyntheticTask
from rnnlab.tasks.registry import register_task


@register_task
class XorTask(SyntheticTask):
    """Classify the parity (XOR) of a sequence's bits: all of them, or only the `num_marked` marked ones.

    Input (T, 2): a random 0/1 bit and a 0/1 marker saying whether the bit counts (all ones for plain parity).
    Target: the XOR of the counted bits, read at each sequence's last step; 2 classes. `num_marked=2` is the
    temporal XOR problem (two far-apart bits, like the adding problem); `num_marked=None` is sequential parity,
    which needs the state to flip at every 1 and so gets hard quickly with length.
    Baseline: the parity of fair bits is a fair bit, so the best constant predictor scores log 2.
    """

    name = "xor"
    kind = "classification"
    readout = "last"
    input_size = 2
    output_size = 2
    min_seq_len = 1
    supports_variable_length = True

    def __init__(self, num_marked: int | None = None, **kwargs) -> None:
        require(
            num_marked is None or (isinstance(num_marked, int) and num_marked >= 1),
            "task.num_marked",
            num_marked,
            "null (every bit counts) or an integer >= 1",
        )
        self.num_marked = num_marked
        if num_marked is not None:
            self.min_seq_len = num_marked  # every example must hold its marked bits
        super().__init__(**kwargs)

    def generate(self, generator, batch_size):
        T = self.seq_len
        lengths = self.sample_lengths(generator, batch_size)
        inside = length_mask(lengths, T)
        bits = torch.randint(0, 2, (batch_size, T), generator=generator) * inside
        if self.num_marked is None:
            marked = inside
        else:
            # The num_marked smallest of uniform keys over the valid steps: distinct positions, uniformly chosen.
            keys = torch.rand(batch_size, T, generator=generator).masked_fill(~inside, 2.0)
            positions = keys.topk(self.num_marked, dim=1, largest=False).indices
            marked = torch.zeros(batch_size, T, dtype=torch.bool).scatter(1, positions, True)
        y = (bits * marked).sum(dim=1) % 2
        x = torch.stack([bits.float(), marked.float()], dim=-1)
        return self.as_batch(x, y, lengths)

    @property
    def baseline(self) -> float:
        return math.log(2.0)
