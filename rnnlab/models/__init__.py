"""Interchangeable RNN implementations, each a drop-in for `torch.nn.RNN` and proven equal to it.

`IMPLEMENTATIONS` maps a name to its class: the single networks of `single_networks.CELLS` and the wrappers composed of
them; `python -m rnnlab.parity` checks every entry against nn.RNN, its numbers and its whole public surface.
"""

from rnnlab.models.base import LabRNN, RNNBase
from rnnlab.models.composed import BidirectionalRNN, StackedRNN
from rnnlab.models.concat import ConcatRNN
from rnnlab.models.myrnn import MyRNN
from rnnlab.models.single_networks import CELLS
from rnnlab.models.torch_rnn import TorchRNN

IMPLEMENTATIONS: dict[str, type[LabRNN]] = {**CELLS, "stacked": StackedRNN, "bidirectional": BidirectionalRNN}

__all__ = [
    "CELLS",
    "IMPLEMENTATIONS",
    "BidirectionalRNN",
    "ConcatRNN",
    "LabRNN",
    "MyRNN",
    "RNNBase",
    "StackedRNN",
    "TorchRNN",
]
