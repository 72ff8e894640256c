"""Interchangeable RNN implementations, each a drop-in for `torch.nn.RNN` and proven equal to it.

`IMPLEMENTATIONS` maps a name to its class; `python -m rnnlab.parity` checks every entry against nn.RNN.
"""

from rnnlab.models.base import RNNBase
from rnnlab.models.bidirectional import BidirectionalRNN
from rnnlab.models.concat import ConcatRNN
from rnnlab.models.myrnn import MyRNN
from rnnlab.models.stacked import StackedRNN
from rnnlab.models.torch_rnn import TorchRNN

IMPLEMENTATIONS: dict[str, type[RNNBase]] = {
    "torch": TorchRNN,
    "myrnn": MyRNN,
    "concat": ConcatRNN,
    "stacked": StackedRNN,
    "bidirectional": BidirectionalRNN,
}

__all__ = ["IMPLEMENTATIONS", "BidirectionalRNN", "ConcatRNN", "MyRNN", "RNNBase", "StackedRNN", "TorchRNN"]
