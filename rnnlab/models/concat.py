"""`concat`: nn.RNN's equation — one weight on the concatenation [x_t; h_{t-1}] and one bias per layer and direction.

    h_t = act([x_t, h_{t-1}] W^T + b),   W = [W_ih | W_hh] of shape (hidden, input + hidden),  b = b_ih + b_hh

The same function as nn.RNN in another parameterisation. Everything but the step and the parameters is MyRNN's:
loop orders, the hand-written backward (fed views of W), dropout, bidirectional and packed input.
"""

from __future__ import annotations

from typing import TypeVar

import torch
from torch import Tensor, nn

from rnnlab.models import naming
from rnnlab.models.myrnn import MyRNN

OWN_KINDS = ("weight", "bias")


class ConcatRNN(MyRNN):
    """A drop-in for `torch.nn.RNN` with parameters `weight_l{k}[_reverse]` = [W_ih | W_hh] and `bias_l{k}[_reverse]`.

    The state-dict methods translate from and to nn.RNN's layout: loading concatenates the weights and sums the
    biases; exporting gives the sum as bias_ih and zeros as bias_hh.
    """

    torch_layout = False  # one weight [W_ih | W_hh] and one bias per layer and direction
    torch_named_parameters = False

    def _create_parameters(self) -> None:
        # load_state_dict(nn_rnn.state_dict()) works as on nn.RNN: its keys are translated into this layout
        self.register_translation_hook(translate_torch_keys)
        self._parameters = ExplainedParameters(self)
        for names in self._own_names():
            for name in names:
                kind, layer, _ = naming.parts(name)
                shape = (
                    (self.hidden_size, self.layer_input_size(layer) + self.hidden_size)
                    if kind == "weight"
                    else (self.hidden_size,)
                )
                self.register_parameter(name, nn.Parameter(torch.empty(shape, **self.factory_kwargs)))

    def _own_names(self) -> list[list[str]]:
        """weight_l{k}[_reverse] and bias_l{k}[_reverse], per layer and direction, in nn.RNN's order."""
        return naming.all_weights_names(
            self.num_layers, self.bidirectional, self.bias, OWN_KINDS if self.bias else OWN_KINDS[:1]
        )

    def reset_parameters(self) -> None:
        """nn.RNN's default init for W, and for b the sum of two such biases, so the function matches nn.RNN's."""
        super().reset_parameters()
        bound = 1.0 / self.hidden_size**0.5
        for name, param in self.named_parameters():
            if name.startswith("bias"):
                with torch.no_grad():
                    param.add_(torch.empty_like(param).uniform_(-bound, bound))

    def _concat_names(self, layer: int, suffix: str) -> tuple[str, str]:
        return naming.name("weight", layer, suffix), naming.name("bias", layer, suffix)

    def layer_weights(self, layer: int, suffix: str) -> tuple[Tensor, Tensor, Tensor | None, None]:
        """(W_ih, W_hh, b, None) as views of W, for the layer-major and hand-written paths."""
        weight_name, bias_name = self._concat_names(layer, suffix)
        weight = getattr(self, weight_name)
        input_size = self.layer_input_size(layer)
        bias = getattr(self, bias_name) if self.bias else None
        return weight[:, :input_size], weight[:, input_size:], bias, None

    def step(self, x_t: Tensor, h: Tensor, layer: int, suffix: str = "") -> Tensor:
        """One step: h_t = act([x_t, h_{t-1}] W^T + b)."""
        weight_name, bias_name = self._concat_names(layer, suffix)
        combined = torch.cat([x_t, h], dim=-1)
        pre_activation = combined @ getattr(self, weight_name).T
        if self.bias:
            pre_activation = pre_activation + getattr(self, bias_name)
        return self.activation(pre_activation)

    # ---- nn.RNN's layout -------------------------------------------------------------------------------------

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The parameters per layer and direction: [weight_l{k}, bias_l{k}] (nn.RNN's has four; this layout two)."""
        return [[getattr(self, name) for name in names] for names in self._own_names()]

    def own_parameter_names(self) -> list[str]:
        return [name for names in self._own_names() for name in names]

    def load_torch_state_dict(self, state_dict: dict[str, Tensor]) -> None:
        load_torch_state_dict(self, state_dict)

    def torch_state_dict(self) -> dict[str, Tensor]:
        return in_torch_layout(self, {name: param.detach() for name, param in self.named_parameters()}, zero_hh=True)

    def torch_grad_dict(self) -> dict[str, Tensor | None]:
        """Chain rule through W = [W_ih | W_hh], b = b_ih + b_hh: the split of dL/dW, and dL/db_ih = dL/db_hh = dL/db."""
        return in_torch_layout(self, {name: param.grad for name, param in self.named_parameters()}, zero_hh=False)


class ExplainedParameters(dict):
    """A module's `_parameters` in concat's layout: a lookup of nn.RNN's name (`module._parameters["weight_hh_l0"]`,
    as legacy spectral_norm does) raises a KeyError explaining the layout instead of naming the key alone."""

    def __init__(self, network):
        super().__init__()
        self.owner = type(network).__name__

    def __missing__(self, key):
        parsed = naming.parse(key)
        if parsed is not None and naming.is_torch_parameter_name(key):
            raise KeyError(
                f"{self.owner} has no {key}: it keeps one weight [W_ih | W_hh] ({naming.name('weight', *parsed[1:])})"
                f" and one bias b_ih + b_hh ({naming.name('bias', *parsed[1:])}) per layer and direction"
            )
        raise KeyError(key)


# ---- concat's layout <-> nn.RNN's, for a ConcatRNN and for a wrapper of concat cells (any LabRNN in this layout) --


def load_torch_state_dict(network, state_dict: dict[str, Tensor]) -> None:
    expected, given = set(network.torch_parameter_names()), set(state_dict)
    if expected != given:
        raise RuntimeError(
            f"load_torch_state_dict: expected nn.RNN keys {sorted(expected)}; missing {sorted(expected - given)}, "
            f"unexpected {sorted(given - expected)}"
        )
    network.load_state_dict(from_torch_layout(network, state_dict), strict=True)


def from_torch_layout(network, state_dict: dict[str, Tensor], prefix: str = "") -> dict[str, Tensor]:
    """[W_ih | W_hh] and b_ih + b_hh from nn.RNN's tensors (those under `prefix`)."""
    own = {}
    for layer in range(network.num_layers):
        for suffix in network.direction_suffixes():
            ih, hh = (state_dict[prefix + naming.name(kind, layer, suffix)] for kind in naming.WEIGHT_KINDS)
            own[prefix + naming.name("weight", layer, suffix)] = torch.cat([ih, hh], dim=1)
            if network.bias:
                b_ih, b_hh = (state_dict[prefix + naming.name(kind, layer, suffix)] for kind in naming.BIAS_KINDS)
                own[prefix + naming.name("bias", layer, suffix)] = b_ih + b_hh
    return own


# The weights (Tensor) or their gradients (a Tensor, or None before any backward): the layout keeps which
MaybeTensor = TypeVar("MaybeTensor", Tensor, Tensor | None)


def in_torch_layout(network, tensors: dict[str, MaybeTensor], zero_hh: bool) -> dict[str, MaybeTensor]:
    """Split each W into (W_ih, W_hh); b goes to bias_ih and, as zeros (values) or itself (gradients), bias_hh."""
    out: dict[str, MaybeTensor] = {}
    for layer in range(network.num_layers):
        input_size = network.layer_input_size(layer)
        for suffix in network.direction_suffixes():
            weight = tensors[naming.name("weight", layer, suffix)]
            ih, hh = (naming.name(kind, layer, suffix) for kind in naming.WEIGHT_KINDS)
            out[ih] = None if weight is None else weight[:, :input_size].clone()
            out[hh] = None if weight is None else weight[:, input_size:].clone()
            if network.bias:
                bias = tensors[naming.name("bias", layer, suffix)]
                b_ih, b_hh = (naming.name(kind, layer, suffix) for kind in naming.BIAS_KINDS)
                out[b_ih] = None if bias is None else bias.clone()
                out[b_hh] = None if bias is None else torch.zeros_like(bias) if zero_hh else bias.clone()
    return out


def translate_torch_keys(network, state_dict, prefix, *_) -> None:
    """A state dict in nn.RNN's layout (all its keys under `prefix`) is rewritten into concat's, in place."""
    torch_keys = [prefix + name for name in network.torch_parameter_names()]
    if not all(key in state_dict for key in torch_keys):
        return  # concat's own layout, or a partial dict: the strict check names what is missing
    own = from_torch_layout(network, state_dict, prefix)
    for key in torch_keys:
        del state_dict[key]
    state_dict.update(own)
