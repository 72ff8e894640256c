"""`torch`: nn.RNN itself, the reference every other implementation is proven against (and cuDNN on GPU)."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.models.base import RNNBase


class TorchRNN(RNNBase):
    """A thin wrapper of `nn.RNN`: its forward is nn.RNN's own, untouched."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False):
        super().__init__(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional)
        self.rnn = nn.RNN(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional)

    def forward(self, input, hx=None):
        return self.rnn(input, hx)

    def forward_padded(self, x: Tensor, h0: Tensor, lengths: Tensor | None):
        # Used when a wrapper (stacked, bidirectional) composes this network as a cell.
        x = x.transpose(0, 1) if self.batch_first else x
        if lengths is None:
            output, h_n = self.rnn(x, h0)
        else:
            packed = pack_padded_sequence(x, lengths, batch_first=self.batch_first, enforce_sorted=False)
            output, h_n = self.rnn(packed, h0)
            total_length = x.size(1 if self.batch_first else 0)
            output, _ = pad_packed_sequence(output, batch_first=self.batch_first, total_length=total_length)
        return (output.transpose(0, 1) if self.batch_first else output), h_n

    def load_torch_state_dict(self, state_dict):
        self.rnn.load_state_dict(state_dict, strict=True)

    def torch_state_dict(self):
        return dict(self.rnn.state_dict())

    def torch_grad_dict(self):
        return {name: param.grad for name, param in self.rnn.named_parameters()}
