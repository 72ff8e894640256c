"""`stacked`: a multi-layer network composed of single-layer networks of any registered implementation.

Seed 003's StackedRNN. Layer k+1 reads layer k's output (both directions concatenated), with dropout between
layers, exactly as nn.RNN; `h_n` is every layer's final state in nn.RNN's order. The layers are whole
implementations (`cell=`), so this wrapper proves that stacking, not the recurrence, matches nn.RNN.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Callable

import torch
from torch import Tensor, nn

from rnnlab.models.base import RNNBase

_LAYER = re.compile(r"_l(\d+)")


def cell_names() -> list[str]:
    """The registered single-network implementations a wrapper may compose (every one but the wrappers)."""
    from rnnlab.models import IMPLEMENTATIONS  # the registry imports this module: look it up when asked

    return [name for name, cls in IMPLEMENTATIONS.items() if not issubclass(cls, StackedRNN)]


def cell_class(cell: str) -> type[RNNBase]:
    """The implementation registered as `cell`; a ValueError naming the allowed cells otherwise."""
    from rnnlab.models import IMPLEMENTATIONS

    allowed = cell_names()
    if cell not in allowed:
        raise ValueError(f"cell: unknown or not a single network: {cell!r}; allowed: {', '.join(allowed)}")
    return IMPLEMENTATIONS[cell]


def rename_layer(names_to_values: dict, old: int, new: int) -> dict:
    """Rename nn.RNN parameter names of layer `old` (weight_ih_l{old}_reverse...) to layer `new`."""
    renamed = {}
    for name, value in names_to_values.items():
        match = _LAYER.search(name)
        if match and int(match.group(1)) == old:
            renamed[f"{name[: match.start()]}_l{new}{name[match.end():]}"] = value
    return renamed


class ComposedRNN(RNNBase):
    """A network made of part networks, each itself in nn.RNN's layout under its own names.

    Subclasses list their `parts()`: (network, into_part, from_part), where into_part renames the whole's nn.RNN
    names to the part's and from_part renames back. Loading, exporting and the gradients then go through each
    part's own torch_* methods, so a part with another parameterisation (concat) keeps its own mapping.
    """

    def parts(self) -> list[tuple[RNNBase, Callable[[dict], dict], Callable[[dict], dict]]]:
        raise NotImplementedError

    def load_torch_state_dict(self, state_dict: dict[str, Tensor]) -> None:
        expected, given = self.torch_parameter_names(), list(state_dict)
        if set(given) != set(expected):
            missing = [name for name in expected if name not in state_dict]
            unexpected = [name for name in given if name not in expected]
            raise RuntimeError(
                f"Error(s) in loading an nn.RNN state_dict into {type(self).__name__}: "
                f"missing keys {missing}, unexpected keys {unexpected}"
            )
        for network, into_part, _ in self.parts():
            network.load_torch_state_dict(into_part(state_dict))

    def torch_state_dict(self) -> dict[str, Tensor]:
        return self._gather(lambda network: network.torch_state_dict())

    def torch_grad_dict(self) -> dict[str, Tensor | None]:
        return self._gather(lambda network: network.torch_grad_dict())

    def _gather(self, per_network) -> dict:
        merged = {}
        for network, _, from_part in self.parts():
            merged.update(from_part(per_network(network)))
        return {name: merged[name] for name in self.torch_parameter_names()}  # nn.RNN's order


class _CellVariants:
    """`variants` computed from the registry when read, so a newly registered cell appears automatically."""

    def __get__(self, instance, owner) -> dict[str, dict]:
        return {f"cell={name}": {"cell": name} for name in cell_names()}


class StackedRNN(ComposedRNN):
    """nn.RNN as layers of single-layer networks of the implementation named `cell` (default `torch`).

    With `bidirectional=True` each layer is a forward and a reverse network of `cell` (bidirectional.py's
    `DirectionPair`). Extra keyword argument: `cell`, any registered implementation but the wrappers.
    """

    variants = _CellVariants()

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, cell: str = "torch"):
        super().__init__(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional)
        self.cell = cell
        self.cell_class = cell_class(cell)
        self.layers = nn.ModuleList(self.make_layer(layer) for layer in range(num_layers))

    def make_layer(self, layer: int) -> RNNBase:
        """Layer `layer`: a one-layer network, in both directions when bidirectional, time-major, no dropout."""
        if self.bidirectional:
            from rnnlab.models.bidirectional import DirectionPair  # bidirectional.py builds on this module

            return DirectionPair(self.layer_input_size(layer), self.hidden_size, self.nonlinearity, self.bias,
                                 bidirectional=True, cell=self.cell)
        return self.cell_class(self.layer_input_size(layer), self.hidden_size, 1, self.nonlinearity, self.bias)

    def forward_padded(self, x: Tensor, h0: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        directions = self.num_directions
        h_n = []
        for layer, network in enumerate(self.layers):
            output, h = network.forward_padded(x, h0[layer * directions : (layer + 1) * directions], lengths)
            h_n.append(h)
            x = self.dropout_between_layers(output, layer)
        return x, torch.cat(h_n)

    def parts(self):
        """Layer k's weight_ih_l{k}... are its network's weight_ih_l0..."""
        return [(network, partial(rename_layer, old=layer, new=0), partial(rename_layer, old=0, new=layer))
                for layer, network in enumerate(self.layers)]

    def extra_repr(self) -> str:
        return super().extra_repr() + f", cell={self.cell!r}"
