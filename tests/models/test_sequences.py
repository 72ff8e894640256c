"""Helpers for time-major, zero-padded batches of variable-length sequences."""

import torch

from rnnlab.models.sequences import reverse_padded, valid_steps


def test_reverse_padded_reverses_within_length_and_is_its_own_inverse():
    x = torch.arange(12.0).view(4, 3, 1)  # T=4, B=3
    lengths = torch.tensor([4, 2, 3])
    r = reverse_padded(x, lengths)
    assert r[:, 0, 0].tolist() == [9.0, 6.0, 3.0, 0.0]
    assert r[:, 1, 0].tolist() == [4.0, 1.0, 7.0, 10.0]  # padding (steps 2, 3) stays in place
    assert r[:, 2, 0].tolist() == [8.0, 5.0, 2.0, 11.0]
    assert torch.equal(reverse_padded(r, lengths), x)


def test_valid_steps_marks_each_sequences_own_steps():
    mask = valid_steps(torch.tensor([2, 3, 1]), 3)
    assert mask.shape == (3, 3, 1)
    assert mask[..., 0].T.tolist() == [[True, True, False], [True, True, True], [True, False, False]]
    assert valid_steps(None, 3) is None
