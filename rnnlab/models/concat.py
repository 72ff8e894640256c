"""`concat`: seed 002's variant — one weight on the concatenation [x_t; h_{t-1}] and one bias per layer and direction.

    h_t = act([x_t, h_{t-1}] W^T + b),   W = [W_ih | W_hh] of shape (hidden, input + hidden),  b = b_ih + b_hh

The same function as nn.RNN in another parameterisation. Everything but the step and the parameters is MyRNN's:
loop orders, the hand-written backward (fed views of W), dropout, bidirectional and packed input.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.models.myrnn import MyRNN


class ConcatRNN(MyRNN):
    """A drop-in for `torch.nn.RNN` with parameters `weight_l{k}[_reverse]` = [W_ih | W_hh] and `bias_l{k}[_reverse]`.

    The state-dict methods translate from and to nn.RNN's layout: loading concatenates the weights and sums the
    biases; exporting gives the sum as bias_ih and zeros as bias_hh.
    """

    def _create_parameters(self) -> None:
        for layer in range(self.num_layers):
            for suffix in self.direction_suffixes():
                size = (self.hidden_size, self.layer_input_size(layer) + self.hidden_size)
                self.register_parameter(f"weight_l{layer}{suffix}", nn.Parameter(torch.empty(size)))
                if self.bias:
                    self.register_parameter(f"bias_l{layer}{suffix}", nn.Parameter(torch.empty(self.hidden_size)))

    def reset_parameters(self) -> None:
        """nn.RNN's default init for W, and for b the sum of two such biases, so the function matches nn.RNN's."""
        super().reset_parameters()
        bound = 1.0 / self.hidden_size**0.5
        for name, param in self.named_parameters():
            if name.startswith("bias"):
                with torch.no_grad():
                    param.add_(torch.empty_like(param).uniform_(-bound, bound))

    def _concat_names(self, layer: int, suffix: str) -> tuple[str, str]:
        return f"weight_l{layer}{suffix}", f"bias_l{layer}{suffix}"

    def layer_weights(self, layer: int, suffix: str) -> tuple[Tensor, Tensor, Tensor | None, None]:
        """(W_ih, W_hh, b, None) as views of W, for the layer-major and hand-written paths."""
        weight_name, bias_name = self._concat_names(layer, suffix)
        weight = getattr(self, weight_name)
        input_size = self.layer_input_size(layer)
        bias = getattr(self, bias_name) if self.bias else None
        return weight[:, :input_size], weight[:, input_size:], bias, None

    def cell(self, x_t: Tensor, h: Tensor, layer: int, suffix: str = "") -> Tensor:
        """One step: h_t = act([x_t, h_{t-1}] W^T + b)."""
        weight_name, bias_name = self._concat_names(layer, suffix)
        combined = torch.cat([x_t, h], dim=-1)
        pre_activation = combined @ getattr(self, weight_name).T
        if self.bias:
            pre_activation = pre_activation + getattr(self, bias_name)
        return self.activation(pre_activation)

    # ---- nn.RNN's layout -------------------------------------------------------------------------------------

    def load_torch_state_dict(self, state_dict: dict[str, Tensor]) -> None:
        expected, given = set(self.torch_parameter_names()), set(state_dict)
        if expected != given:
            raise RuntimeError(
                f"load_torch_state_dict: expected nn.RNN keys {sorted(expected)}; missing {sorted(expected - given)}, "
                f"unexpected {sorted(given - expected)}"
            )
        own = {}
        for layer in range(self.num_layers):
            for suffix in self.direction_suffixes():
                weight_name, bias_name = self._concat_names(layer, suffix)
                own[weight_name] = torch.cat(
                    [state_dict[f"weight_ih_l{layer}{suffix}"], state_dict[f"weight_hh_l{layer}{suffix}"]], dim=1
                )
                if self.bias:
                    own[bias_name] = state_dict[f"bias_ih_l{layer}{suffix}"] + state_dict[f"bias_hh_l{layer}{suffix}"]
        self.load_state_dict(own, strict=True)

    def torch_state_dict(self) -> dict[str, Tensor]:
        return self._in_torch_layout({name: param.detach() for name, param in self.named_parameters()}, zero_hh=True)

    def torch_grad_dict(self) -> dict[str, Tensor | None]:
        """Chain rule through W = [W_ih | W_hh], b = b_ih + b_hh: the split of dL/dW, and dL/db_ih = dL/db_hh = dL/db."""
        return self._in_torch_layout({name: param.grad for name, param in self.named_parameters()}, zero_hh=False)

    def _in_torch_layout(self, tensors: dict[str, Tensor | None], zero_hh: bool) -> dict[str, Tensor | None]:
        """Split each W into (W_ih, W_hh); b goes to bias_ih and, as zeros (values) or itself (gradients), bias_hh."""
        out: dict[str, Tensor | None] = {}
        for layer in range(self.num_layers):
            input_size = self.layer_input_size(layer)
            for suffix in self.direction_suffixes():
                weight_name, bias_name = self._concat_names(layer, suffix)
                weight = tensors[weight_name]
                out[f"weight_ih_l{layer}{suffix}"] = None if weight is None else weight[:, :input_size].clone()
                out[f"weight_hh_l{layer}{suffix}"] = None if weight is None else weight[:, input_size:].clone()
                if self.bias:
                    bias = tensors[bias_name]
                    out[f"bias_ih_l{layer}{suffix}"] = None if bias is None else bias.clone()
                    out[f"bias_hh_l{layer}{suffix}"] = (
                        None if bias is None else torch.zeros_like(bias) if zero_hh else bias.clone()
                    )
        return out
