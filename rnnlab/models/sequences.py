"""Helpers for time-major, zero-padded batches of variable-length sequences."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence


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


def _packed_positions(batch_sizes: Tensor) -> tuple[Tensor, Tensor]:
    """For each row of a packed batch's data, its step t and its place b in the sorted batch."""
    steps = torch.arange(len(batch_sizes)).repeat_interleave(batch_sizes)
    starts = (torch.cumsum(batch_sizes, 0) - batch_sizes).repeat_interleave(batch_sizes)
    return steps, torch.arange(len(steps)) - starts


def pad_packed(packed: PackedSequence) -> tuple[Tensor, Tensor]:
    """`pad_packed_sequence(packed)` (time-major, zero-padded, the caller's batch order; and the lengths) written
    with indexing alone, so it runs under torch.func transforms and forward-mode AD as any other op does."""
    batch_sizes = packed.batch_sizes
    steps, places = _packed_positions(batch_sizes)
    rows = torch.zeros(len(batch_sizes), int(batch_sizes[0]), dtype=torch.long)
    rows[steps, places] = torch.arange(len(steps))
    valid = torch.zeros_like(rows, dtype=torch.bool)
    valid[steps, places] = True
    data = packed.data.to(packed.data.device)
    padded = data[rows.to(data.device)]  # (T, B, ...): each sequence's rows; padding reads row 0, zeroed below
    mask = valid.to(data.device).view(*valid.shape, *([1] * (data.dim() - 1)))
    padded = torch.where(mask, padded, torch.zeros((), dtype=data.dtype, device=data.device))
    lengths = valid.sum(0)
    if packed.unsorted_indices is not None:
        padded = padded.index_select(1, packed.unsorted_indices)
        lengths = lengths.index_select(0, packed.unsorted_indices.cpu())
    return padded, lengths


def pack_like(output: Tensor, like: PackedSequence) -> PackedSequence:
    """Pack a time-major padded output (the caller's batch order) with exactly the batch sizes and orderings of
    the input `like`; indexing alone, as `pad_packed`."""
    if like.sorted_indices is not None:
        output = output.index_select(1, like.sorted_indices)
    steps, places = _packed_positions(like.batch_sizes)
    data = output[steps.to(output.device), places.to(output.device)]
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)
