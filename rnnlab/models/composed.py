"""`stacked` and `bidirectional`: nn.RNN composed of one-layer, one-direction networks of any registered cell.

`StackedRNN`: layer k+1 reads layer k's output (both directions concatenated), with dropout between layers, exactly
as nn.RNN; `h_n` is every layer's final state in nn.RNN's order. `BidirectionalRNN`: the same stack whose every
layer is a `DirectionPair`, a network run forwards and another over each sequence reversed within its own length
(on a variable-length batch the reverse starts at each sequence's last real step, not at the padding), their
outputs concatenated. The layers are whole implementations (`cell=`), so these wrappers prove that the stacking
and the directions, not only the recurrence, are what nn.RNN does.

The whole speaks nn.RNN's names: the cell running layer k, direction d is, under its own names `{kind}_l0`, the
whole's `{kind}_l{k}{suffix}`. `state_dict()` and `load_state_dict()` use those names (concat cells keep their own
kinds, `weight`/`bias`), attributes `rnn.weight_hh_l1` read the cell's parameter, and `torch_state_dict()` goes
through each cell's own mapping; `named_parameters()` keeps the module tree (`layers.1.weight_hh_l0`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.models import naming
from rnnlab.models.base import LabRNN, RNNBase
from rnnlab.models.sequences import reverse_padded
from rnnlab.models.single_networks import CELLS, cell_class


class ComposedRNN(RNNBase):
    """A network of one-layer, one-direction cells; subclasses list them in `cells()` as (layer, suffix, cell)."""

    torch_named_parameters = False  # they are the module tree's: layers.1.weight_hh_l0

    def cells(self) -> list[tuple[int, str, LabRNN]]:
        raise NotImplementedError

    @property
    def torch_layout(self) -> bool:
        return all(cell.torch_layout for _, _, cell in self.cells())

    def __setattr__(self, name: str, value) -> None:
        if name == "cell" and name in self.__dict__ and value != self.__dict__[name]:
            raise AttributeError(
                f"{type(self).__name__}.cell is fixed at construction ({self.__dict__[name]!r}): "
                f"its layers are built of it; build a new network for cell={value!r}"
            )
        super().__setattr__(name, value)
        if name == "nonlinearity" and "_modules" in self.__dict__:  # the cells compute it: they must follow
            for module in self.modules():
                if module is not self and isinstance(module, LabRNN):
                    module.nonlinearity = value

    # ---- nn.RNN's layout, through each cell's own mapping -----------------------------------------------------

    def load_torch_state_dict(self, state_dict: dict[str, Tensor]) -> None:
        expected, given = self.torch_parameter_names(), list(state_dict)
        if set(given) != set(expected):
            missing = [name for name in expected if name not in state_dict]
            unexpected = [name for name in given if name not in expected]
            raise RuntimeError(
                f"Error(s) in loading an nn.RNN state_dict into {type(self).__name__}: "
                f"missing keys {missing}, unexpected keys {unexpected}"
            )
        for layer, suffix, cell in self.cells():
            cell.load_torch_state_dict(
                {name: state_dict[naming.rename(name, layer, suffix)] for name in cell.torch_parameter_names()}
            )

    def torch_state_dict(self) -> dict[str, Tensor]:
        return self._gather(lambda cell: cell.torch_state_dict())

    def torch_grad_dict(self) -> dict[str, Tensor | None]:
        return self._gather(lambda cell: cell.torch_grad_dict())

    def _gather(self, per_cell) -> dict:
        merged = {}
        for layer, suffix, cell in self.cells():
            merged |= {naming.rename(name, layer, suffix): value for name, value in per_cell(cell).items()}
        return {name: merged[name] for name in self.torch_parameter_names()}  # nn.RNN's order

    def own_names(self) -> dict[str, tuple[LabRNN, str]]:
        """Each state-dict name of the whole (nn.RNN's, or a concat cell's kinds) -> (cell, the cell's own name)."""
        return {
            naming.rename(key, layer, suffix): (cell, key)
            for layer, suffix, cell in self.cells()
            for key in cell.state_dict(keep_vars=True)
        }

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            parsed = naming.parse(name)
            if parsed is None or not self.__dict__.get("_modules"):  # not a parameter name, or no cells built yet
                raise
        for layer, suffix, cell in self.cells():  # weight_hh_l1 is the cell of layer 1's weight_hh_l0
            if (parsed.layer, parsed.suffix) == (layer, suffix):
                try:
                    return getattr(cell, naming.rename(name, 0, ""))
                except AttributeError as error:
                    raise AttributeError(f"{type(self).__name__}.{name} is layer {layer}'s cell's: {error}") from None
        raise AttributeError(
            f"{type(self).__name__} has no {name}: it has {self.num_layers} layer(s) and "
            f"{self.num_directions} direction(s)"
        )

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """Each layer and direction's parameters, from its cell: nn.RNN's four, or a concat cell's two."""
        return [cell.all_weights[0] for _, _, cell in self.cells()]

    def flatten_parameters(self) -> None:
        """Each cell's own: a `torch` cell on cuDNN packs its weights; the others have nothing to pack."""
        for _, _, cell in self.cells():
            cell.flatten_parameters()

    def reset_parameters(self) -> None:
        """Each cell's own default initialisation (nn.RNN's, for every registered cell)."""
        for _, _, cell in self.cells():
            cell.reset_parameters()


class DirectionPair(ComposedRNN):
    """One layer: a one-layer, single-direction network of `cell` forwards, and (bidirectional) one in reverse."""

    def __init__(
        self,
        input_size,
        hidden_size,
        nonlinearity="tanh",
        bias=True,
        bidirectional=True,
        cell: str = "torch",
        device=None,
        dtype=None,
    ):
        super().__init__(
            input_size, hidden_size, 1, nonlinearity, bias, bidirectional=bidirectional, device=device, dtype=dtype
        )
        network = cell_class(cell)
        self.forward_network = network(input_size, hidden_size, 1, nonlinearity, bias, device=device, dtype=dtype)
        self.reverse_network = (
            network(input_size, hidden_size, 1, nonlinearity, bias, device=device, dtype=dtype)
            if bidirectional
            else None
        )

    def cells(self):
        return [
            (0, suffix, network)
            for suffix, network in zip(self.direction_suffixes(), (self.forward_network, self.reverse_network))
        ]

    def forward_padded(self, x: Tensor, h0: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        output, h_n = self.forward_network.forward_padded(x, h0[:1], lengths)
        if not self.bidirectional:
            return output, h_n
        reversed_output, reversed_h_n = self.reverse_network.forward_padded(reverse_padded(x, lengths), h0[1:], lengths)
        output = torch.cat([output, reverse_padded(reversed_output, lengths)], dim=-1)
        return output, torch.cat([h_n, reversed_h_n])


class _CellVariants:
    """`variants` computed from the registry when read, so a newly registered cell appears automatically."""

    def __get__(self, instance, owner) -> dict[str, dict]:
        return {f"cell={name}": {"cell": name} for name in CELLS}


class StackedRNN(ComposedRNN):
    """nn.RNN as layers of one-layer networks of the cell named `cell` (default `torch`); dropout between layers.

    With `bidirectional=True` (or always, in `BidirectionalRNN`) each layer is a `DirectionPair`. Extra keyword
    argument: `cell`, any name in `rnnlab.models.single_networks.CELLS`.
    """

    variants = _CellVariants()
    #: Build every layer as a DirectionPair, even with one direction (BidirectionalRNN).
    direction_pairs = False

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
        cell: str = "torch",
    ):
        super().__init__(
            input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional, device, dtype
        )
        self.cell = cell
        self.cell_class = cell_class(cell)
        self.layers = nn.ModuleList(self.make_layer(layer) for layer in range(num_layers))
        # the whole's state dict in nn.RNN's names (see the module docstring), both ways
        self.register_state_dict_post_hook(_to_own_names)
        self.register_load_state_dict_pre_hook(_from_own_names)

    def make_layer(self, layer: int) -> RNNBase:
        """Layer `layer`: a one-layer network of `cell` (time-major, no dropout), or a pair of them."""
        if self.bidirectional or self.direction_pairs:
            return DirectionPair(
                self.layer_input_size(layer),
                self.hidden_size,
                self.nonlinearity,
                self.bias,
                bidirectional=self.bidirectional,
                cell=self.cell,
                **self.factory_kwargs,
            )
        return self.cell_class(
            self.layer_input_size(layer), self.hidden_size, 1, self.nonlinearity, self.bias, **self.factory_kwargs
        )

    def cells(self):
        found = []
        for k, layer in enumerate(self.layers):
            found += (
                [(k, suffix, cell) for _, suffix, cell in layer.cells()]
                if isinstance(layer, DirectionPair)
                else [(k, "", layer)]
            )
        return found

    def forward_padded(self, x: Tensor, h0: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        directions = self.num_directions
        h_n = []
        for layer, network in enumerate(self.layers):
            output, h = network.forward_padded(x, h0[layer * directions : (layer + 1) * directions], lengths)
            h_n.append(h)
            x = self.dropout_between_layers(output, layer)
        return x, torch.cat(h_n)

    def tree_names(self, torch_names: bool = False) -> dict[str, str]:
        """Each state-dict name of the whole -> its key in the module tree (`weight_hh_l1` -> `layers.1.weight_hh_l0`).

        With `torch_names`, nn.RNN's names too, mapped to each cell's nn.RNN names: a concat cell translates those
        itself when loading, as a ConcatRNN does.
        """
        paths = {id(module): path for path, module in self.named_modules()}
        names = {own: f"{paths[id(cell)]}.{key}" for own, (cell, key) in self.own_names().items()}
        if torch_names:
            names |= {
                naming.rename(name, layer, suffix): f"{paths[id(cell)]}.{name}"
                for layer, suffix, cell in self.cells()
                for name in cell.torch_parameter_names()
            }
        return names

    def extra_repr(self) -> str:
        return super().extra_repr() + f", cell={self.cell!r}"


class BidirectionalRNN(StackedRNN):
    """nn.RNN as layers of direction pairs: each layer runs `cell` forwards and over the reversed sequences.

    Same constructor and defaults as nn.RNN plus `cell`. `bidirectional=False` keeps the pairs but runs the
    forward direction only, so every nn.RNN configuration is valid (its default, like nn.RNN's, is False).
    """

    direction_pairs = True


def _to_own_names(module: StackedRNN, state_dict, prefix, local_metadata) -> None:
    """Rename the module-tree keys of `module` to the whole's names, in place and in nn.RNN's order."""
    for own, tree in module.tree_names().items():
        state_dict[prefix + own] = state_dict.pop(prefix + tree)


def _from_own_names(module: StackedRNN, state_dict, prefix, *_) -> None:
    """Accept the whole's names, nn.RNN's (for every cell) or the module-tree keys when loading."""
    for own, tree in module.tree_names(torch_names=True).items():
        if prefix + own in state_dict:
            state_dict[prefix + tree] = state_dict.pop(prefix + own)
