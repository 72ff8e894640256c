"""`bidirectional`: run a single-direction network forwards and over each sequence reversed, and concatenate.

Seed 003's BiRNN (one layer) and StackedBiRNN (layers of them). The reverse network reads each sequence
reversed within its own length, so on a variable-length batch it starts at that sequence's last real step, not at
the padding; its output is reversed back, so step t of both directions describes input step t.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor

from rnnlab.models.base import RNNBase
from rnnlab.models.sequences import reverse_padded
from rnnlab.models.stacked import ComposedRNN, StackedRNN, cell_class


class DirectionPair(ComposedRNN):
    """One layer: a one-layer, single-direction network of `cell` forwards, and (bidirectional) one in reverse.

    nn.RNN's names map as weight_ih_l0 -> the forward network's weight_ih_l0, weight_ih_l0_reverse -> the
    reverse network's weight_ih_l0 (and so on for each parameter), through the networks' own torch_* methods.
    """

    def __init__(self, input_size, hidden_size, nonlinearity="tanh", bias=True, bidirectional=True,
                 cell: str = "torch"):
        super().__init__(input_size, hidden_size, 1, nonlinearity, bias, bidirectional=bidirectional)
        network = cell_class(cell)
        self.forward_network = network(input_size, hidden_size, 1, nonlinearity, bias)
        self.reverse_network = network(input_size, hidden_size, 1, nonlinearity, bias) if bidirectional else None

    def directions(self) -> dict[str, RNNBase]:
        """nn.RNN's name suffix of each direction, and the network that runs it."""
        return dict(zip(self.direction_suffixes(), (self.forward_network, self.reverse_network)))

    def forward_padded(self, x: Tensor, h0: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        output, h_n = self.forward_network.forward_padded(x, h0[:1], lengths)
        if not self.bidirectional:
            return output, h_n
        reversed_output, reversed_h_n = self.reverse_network.forward_padded(reverse_padded(x, lengths), h0[1:],
                                                                            lengths)
        output = torch.cat([output, reverse_padded(reversed_output, lengths)], dim=-1)
        return output, torch.cat([h_n, reversed_h_n])

    def parts(self):
        return [(network, partial(_direction, suffix=suffix), partial(_with_suffix, suffix=suffix))
                for suffix, network in self.directions().items()]


def _direction(state_dict: dict, suffix: str) -> dict:
    """One direction's entries of a one-layer nn.RNN state dict, named as a single-direction network's."""
    if suffix:
        return {name[: -len(suffix)]: value for name, value in state_dict.items() if name.endswith(suffix)}
    return {name: value for name, value in state_dict.items() if not name.endswith("_reverse")}


def _with_suffix(names_to_values: dict, suffix: str) -> dict:
    return {name + suffix: value for name, value in names_to_values.items()}


class BidirectionalRNN(StackedRNN):
    """nn.RNN as layers of direction pairs: each layer runs `cell` forwards and over the reversed sequences.

    Same constructor and defaults as nn.RNN plus `cell` (any registered single-network implementation, default
    `torch`). `bidirectional=False` keeps the wrapper but runs the forward direction only, so every nn.RNN
    configuration is valid and the class stays a drop-in (its default, like nn.RNN's, is False).
    """

    def make_layer(self, layer: int) -> RNNBase:
        return DirectionPair(self.layer_input_size(layer), self.hidden_size, self.nonlinearity, self.bias,
                             bidirectional=self.bidirectional, cell=self.cell)
