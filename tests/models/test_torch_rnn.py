"""`torch`: nn.RNN itself, with the lab's methods; what a wrapper calls when it composes it as a cell."""

import torch
from torch.nn.utils.rnn import pack_padded_sequence

from rnnlab.models import TorchRNN


def test_torch_wrapper_forward_padded_matches_packed_nn_rnn():
    torch.manual_seed(0)
    model = TorchRNN(3, 4, num_layers=2, bidirectional=True).double()
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    lengths = torch.tensor([3, 5, 2])
    x = x * (torch.arange(5).unsqueeze(1) < lengths).unsqueeze(-1)
    out, h = model.forward_padded(x, torch.zeros(4, 3, 4, dtype=torch.float64), lengths)
    ref_out, ref_h = torch.nn.RNN.forward(model, pack_padded_sequence(x, lengths, enforce_sorted=False))
    assert torch.allclose(h, ref_h, atol=1e-12)
    assert out[3:, 0].abs().sum() == 0 and out[2:, 2].abs().sum() == 0
