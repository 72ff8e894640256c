"""`stacked` and `bidirectional`: nn.RNN composed of one-layer, one-direction networks of any registered cell.

`StackedRNN`: layer k+1 reads layer k's output (both directions concatenated), with dropout between layers, exactly
as nn.RNN; `h_n` is every layer's final state in nn.RNN's order. `BidirectionalRNN`: the same stack whose every
layer is a `DirectionPair`, a network run forwards and another over each sequence reversed within its own length
(on a variable-length batch the reverse starts at each sequence's last real step, not at the padding), their
outputs concatenated. The layers are whole implementations (`cell=`), so these wrappers prove that the stacking
and the directions, not only the recurrence, are what nn.RNN does.

The whole owns the parameters, under nn.RNN's names (`weight_hh_l1_reverse`; a concat cell's layout keeps its
own kinds, `weight_l1_reverse`), so everything that acts on a module's parameter by name — parametrize, prune,
weight_norm and spectral_norm, weight dropout, functional_call, optimizers, state dicts — acts on nn.RNN's name and
reaches the layer it names. The cells stay in the module tree (`layers.1.forward_network`) and hold no parameters:
at each forward the whole evaluates each weight once (a parametrization once per forward) and lends it to the cell
that runs it, as a plain attribute under the cell's own name (`weight_hh_l0`), for the duration of the forward.
"""

from __future__ import annotations

import weakref
from contextlib import contextmanager
from typing import ClassVar, cast

import torch
from torch import Tensor, nn

from rnnlab.models import concat, naming
from rnnlab.models.base import LabRNN, RNNBase
from rnnlab.models.sequences import reverse_padded
from rnnlab.models.single_networks import CELLS, cell_class


class ComposedRNN(RNNBase):
    """A network of one-layer, one-direction cells; subclasses list them in `cells()` as (layer, suffix, cell)."""

    fixed_attributes = (*RNNBase.fixed_attributes, "cell")

    def cells(self) -> list[tuple[int, str, LabRNN]]:
        raise NotImplementedError

    @property
    def torch_layout(self) -> bool:  # type: ignore[override]  # a class constant on LabRNN, its cell's here
        return self.__dict__.get("cell_class", LabRNN).torch_layout

    @property
    def torch_named_parameters(self) -> bool:  # type: ignore[override]  # a class constant on LabRNN, its cell's here
        return self.__dict__.get("cell_class", LabRNN).torch_named_parameters

    def written(self, name: str, value) -> None:
        if name == "nonlinearity" and "_modules" in self.__dict__:  # the cells compute it: they must follow
            for module in self.modules():
                if module is not self and isinstance(module, LabRNN):
                    module.nonlinearity = value

    def flatten_parameters(self) -> None:
        """The parameters are the whole's separate tensors, lent to the cells at each forward: nothing to pack (a
        `torch` cell on cuDNN then runs on unpacked weights, as nn.RNN does after `weight_norm`)."""


class DirectionPair(ComposedRNN):
    """One layer: a one-layer, single-direction network of `cell` forwards, and (bidirectional) one in reverse."""

    __jit_ignored_attributes__: ClassVar[list[str]] = ["forward_network", "reverse_network"]

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
        self.cell_class = network = cell_class(cell)
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
        if self.reverse_network is None:  # built without a reverse direction (bidirectional is fixed)
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
    #: TorchScript compiles `forward` only (which calls Python), not the cells, which hold no weights of their own
    __jit_ignored_attributes__: ClassVar[list[str]] = ["layers"]

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
        for whole, cell_, key in self.lent_names():  # the cells' parameters become the whole's (module docstring)
            parameter = cell_._parameters.pop(key)
            _place(cell_, key, None)
            self.register_parameter(whole, parameter)
        if not self.torch_layout:  # load_state_dict(nn_rnn.state_dict()) works as on a ConcatRNN
            self.register_translation_hook(concat.translate_torch_keys)
            explained = concat.ExplainedParameters(self)
            explained.update(self._parameters)
            self._parameters = explained

    def make_layer(self, layer: int) -> LabRNN:
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

    def _networks(self) -> list[LabRNN]:
        """The layers, as `make_layer` built them (nn.ModuleList types its entries nn.Module)."""
        return cast("list[LabRNN]", list(self.layers))

    def cells(self) -> list[tuple[int, str, LabRNN]]:
        found: list[tuple[int, str, LabRNN]] = []
        for k, layer in enumerate(self._networks()):
            found += (
                [(k, suffix, cell) for _, suffix, cell in layer.cells()]
                if isinstance(layer, DirectionPair)
                else [(k, "", layer)]
            )
        return found

    def lent_names(self) -> list[tuple[str, LabRNN, str]]:
        """(the whole's parameter name, the cell that reads it, the cell's own name), in nn.RNN's order."""
        return [
            (naming.rename(key, layer, suffix), cell, key)
            for layer, suffix, cell in self.cells()
            for key in cell.own_parameter_names()
        ]

    @contextmanager
    def lent(self, tensors: dict[str, Tensor] | None = None):
        """Each cell reads the whole's tensors (default: its parameters, each read once) under its own names while
        the block runs, so a cell can be run on its own there; outside, the cells hold no weights."""
        names = self.lent_names()
        if tensors is None:
            tensors = {whole: getattr(self, whole) for whole, _, _ in names}
        try:
            for whole, cell, key in names:
                _place(cell, key, tensors[whole])
            yield
        finally:
            for _, cell, key in names:
                _place(cell, key, None)

    def forward_padded(self, x: Tensor, h0: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        directions = self.num_directions
        h_n = []
        # each weight read once per forward: a parametrization is evaluated once, whatever the cells do with it
        with self.lent():
            for layer, network in enumerate(self._networks()):
                output, h = network.forward_padded(x, h0[layer * directions : (layer + 1) * directions], lengths)
                h_n.append(h)
                x = self.dropout_between_layers(output, layer)
        return x, torch.cat(h_n)

    def reset_parameters(self) -> None:
        """Each cell's own default initialisation (nn.RNN's, for every registered cell), on the whole's parameters."""
        for layer, suffix, cell in self.cells():
            keys = cell.own_parameter_names()
            for key in keys:
                object.__delattr__(cell, key)
                cell._parameters[key] = self._parameters[naming.rename(key, layer, suffix)]
            try:
                cell.reset_parameters()
            finally:
                for key in keys:
                    cell._parameters.pop(key)
                    _place(cell, key, None)

    # ---- nn.RNN's layout: the parameters' own, or concat's mapping -------------------------------------------

    def load_torch_state_dict(self, state_dict: dict[str, Tensor]) -> None:
        if self.torch_layout:
            return super().load_torch_state_dict(state_dict)
        concat.load_torch_state_dict(self, state_dict)

    def torch_state_dict(self) -> dict[str, Tensor]:
        if self.torch_layout:
            return super().torch_state_dict()
        return concat.in_torch_layout(self, {n: p.detach() for n, p in self.named_parameters()}, zero_hh=True)

    def torch_grad_dict(self) -> dict[str, Tensor | None]:
        if self.torch_layout:
            return super().torch_grad_dict()
        return concat.in_torch_layout(self, {n: p.grad for n, p in self.named_parameters()}, zero_hh=False)

    def own_parameter_names(self) -> list[str]:
        return [whole for whole, _, _ in self.lent_names()]

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The parameters per layer and direction: nn.RNN's four, or a concat cell's two."""
        return [
            [getattr(self, naming.rename(key, layer, suffix)) for key in cell.own_parameter_names()]
            for layer, suffix, cell in self.cells()
        ]

    def extra_repr(self) -> str:
        return super().extra_repr() + f", cell={self.cell!r}"


class BidirectionalRNN(StackedRNN):
    """nn.RNN as layers of direction pairs: each layer runs `cell` forwards and over the reversed sequences.

    Same constructor and defaults as nn.RNN plus `cell`. `bidirectional=False` keeps the pairs but runs the
    forward direction only, so every nn.RNN configuration is valid (its default, like nn.RNN's, is False).
    """

    direction_pairs = True


def _place(cell: nn.Module, key: str, tensor: Tensor | None) -> None:
    """Set a cell's weight as a plain attribute, bypassing parameter registration; on an nn.RNN cell its
    `_flat_weights` too, and the references it compares them with, so its forward does not re-flatten (on cuDNN,
    copy into one buffer) tensors it does not own."""
    object.__setattr__(cell, key, tensor)
    if isinstance(cell, nn.RNNBase) and key in cell._flat_weights_names:
        index = cell._flat_weights_names.index(key)
        cell._flat_weights[index] = tensor
        # torch declares references to Parameters; it only compares their identity with the weights it runs on
        cell._flat_weight_refs[index] = None if tensor is None else weakref.ref(tensor)  # type: ignore[arg-type]  # a lent tensor, not a Parameter
