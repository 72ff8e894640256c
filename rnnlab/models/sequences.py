"""Helpers for time-major, zero-padded batches of variable-length sequences."""

from __future__ import annotations

import torch
from torch import Tensor


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of x (T, B, ...) within its own length; the padding stays at the end.

    The reverse direction of a variable-length sequence starts at that sequence's last real step, not at the
    padding. The operation is its own inverse.
    """
    if lengths is None:
        return x.flip(0)
    steps = torch.arange(x.size(0), device=x.device).unsqueeze(1)  # (T, 1)
    lengths = lengths.to(x.device).unsqueeze(0)  # (1, B)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)  # (T, B)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, index)


def length_mask(lengths: Tensor, max_len: int, device=None) -> Tensor:
    """A (B, T) boolean mask, True where step t lies within sequence b's length: the lab's one sequence mask.

    Batch-first, as the tasks' batches and the LightningModule's outputs; `valid_steps` is its time-major view.
    """
    return torch.arange(max_len, device=device).unsqueeze(0) < lengths.to(device).unsqueeze(1)


def valid_steps(lengths: Tensor | None, max_len: int, device=None) -> Tensor | None:
    """`length_mask` time-major, (T, B, 1), as the implementations' loops read it; None without lengths."""
    if lengths is None:
        return None
    return length_mask(lengths, max_len, device).T.unsqueeze(-1)
