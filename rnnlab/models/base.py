"""The base every implementation shares: nn.RNN's arguments, its checks, and its input layouts.

Like `torch/nn/modules/rnn.py`, one base class owns argument checking and layout handling, so that an
implementation only writes `forward_padded`: the recurrence on a time-major, zero-padded batch.
"""

from __future__ import annotations

import numbers
from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

NONLINEARITIES = ("tanh", "relu")


def check_rnn_arguments(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout) -> None:
    """Refuse what nn.RNN refuses, with a message that names the argument and what was expected."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero, got {value}")
    for name, value in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError(
            f"dropout should be a number in range [0, 1] representing the probability of an element being "
            f"zeroed, got {dropout!r}"
        )


class RNNBase(nn.Module):
    """A drop-in for `torch.nn.RNN`: same constructor, same `forward(input, h0=None)`, same errors.

    Subclasses implement `forward_padded(x, h0, lengths)` on a time-major zero-padded batch; this class turns
    unbatched, batch-first and packed input into that form and the result back. Subclasses whose parameters are
    not named as nn.RNN's override `load_torch_state_dict`, `torch_state_dict` and `torch_grad_dict`.
    """

    #: Named presets of this implementation's own keyword arguments (loop order, backward pass, cell...).
    #: `python -m rnnlab.parity` proves every one of them equal to nn.RNN.
    variants: ClassVar[dict[str, dict]] = {"default": {}}

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        check_rnn_arguments(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout)
        if not isinstance(bidirectional, bool):
            raise TypeError(f"bidirectional should be of type bool, got: {type(bidirectional).__name__}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.nonlinearity = nonlinearity
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional

    # ---- layout facts every implementation needs -------------------------------------------------------------

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def layer_input_size(self, layer: int) -> int:
        """Layer 0 reads the input; layer k > 0 reads layer k-1's output, both directions concatenated."""
        return self.input_size if layer == 0 else self.hidden_size * self.num_directions

    def direction_suffixes(self) -> tuple[str, ...]:
        return ("", "_reverse")[: self.num_directions]

    def torch_parameter_names(self) -> list[str]:
        """nn.RNN's parameter names, in its order (layer, direction, then W_ih, W_hh, b_ih, b_hh)."""
        names = []
        for layer in range(self.num_layers):
            for suffix in self.direction_suffixes():
                names += [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                if self.bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
        return names

    def activation(self, pre_activation: Tensor) -> Tensor:
        return torch.tanh(pre_activation) if self.nonlinearity == "tanh" else torch.relu(pre_activation)

    def dropout_between_layers(self, layer_output: Tensor, layer: int) -> Tensor:
        """nn.RNN drops out each layer's output except the last layer's, and only in training."""
        if self.dropout > 0 and self.training and layer < self.num_layers - 1:
            return nn.functional.dropout(layer_output, self.dropout, training=True)
        return layer_output

    # ---- nn.RNN's state-dict layout --------------------------------------------------------------------------

    def load_torch_state_dict(self, state_dict: dict[str, Tensor]) -> None:
        """Take the `state_dict()` of an nn.RNN of the same configuration."""
        self.load_state_dict(state_dict, strict=True)

    def torch_state_dict(self) -> dict[str, Tensor]:
        """The weights as the `state_dict()` of an equivalent nn.RNN."""
        return dict(self.state_dict())

    def torch_grad_dict(self) -> dict[str, Tensor | None]:
        """The gradient of the last backward with respect to the equivalent nn.RNN's parameters, by name.

        Where an implementation reparameterises nn.RNN (concat's one bias b = b_ih + b_hh), this is the chain
        rule through that map (dL/db_ih = dL/db_hh = dL/db), so it compares directly with nn.RNN's gradients.
        """
        return {name: param.grad for name, param in self.named_parameters()}

    # ---- forward ---------------------------------------------------------------------------------------------

    def forward_padded(self, x: Tensor, h0: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        """The recurrence on a time-major batch.

        x: (T, B, input_size), zero-padded past each sequence's length; h0: (num_layers * D, B, hidden_size);
        lengths: (B,) int64 on the CPU, or None when every sequence has length T.
        Returns output (T, B, D * hidden_size), zero past each length, and h_n (num_layers * D, B, hidden_size),
        each sequence's state at its own last step, in both directions.
        """
        raise NotImplementedError

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None):
        """nn.RNN's forward: (output, h_n) for 2-D, 3-D (`batch_first` honoured) or packed input."""
        packed = isinstance(input, PackedSequence)
        if packed:
            x, lengths = pad_packed_sequence(input)
            unbatched = False
            if hx is not None and hx.dim() != 3:
                raise RuntimeError(f"For packed input, hx should be 3-D but got {hx.dim()}-D tensor")
        else:
            if input.dim() not in (2, 3):
                raise ValueError(f"RNN: Expected input to be 2D or 3D, got {input.dim()}D tensor instead")
            unbatched = input.dim() == 2
            if unbatched:
                if hx is not None and hx.dim() != 2:
                    raise RuntimeError(
                        f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D tensor"
                    )
                x = input.unsqueeze(1)
                hx = None if hx is None else hx.unsqueeze(1)
            else:
                if hx is not None and hx.dim() != 3:
                    raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
                x = input.transpose(0, 1) if self.batch_first else input
            lengths = None

        self._check_input(x)
        expected_h0 = (self.num_layers * self.num_directions, x.size(1), self.hidden_size)
        if hx is None:
            hx = x.new_zeros(expected_h0)
        elif tuple(hx.shape) != expected_h0:
            raise RuntimeError(f"Expected hidden size {expected_h0}, got {list(hx.shape)}")

        output, h_n = self.forward_padded(x, hx, lengths)

        if packed:
            return _pack_like(output, lengths, input), h_n
        if unbatched:
            return output.squeeze(1), h_n.squeeze(1)
        return (output.transpose(0, 1) if self.batch_first else output), h_n

    def _check_input(self, x: Tensor) -> None:
        weight = next(self.parameters(), None)
        if weight is not None and x.dtype != weight.dtype:
            raise ValueError(
                f"RNN input dtype ({x.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({weight.dtype}), or convert model: model.to({x.dtype})"
            )
        if x.size(-1) != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {x.size(-1)}"
            )

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        text += f", nonlinearity={self.nonlinearity!r}, bias={self.bias}, batch_first={self.batch_first}"
        return text + f", dropout={self.dropout}, bidirectional={self.bidirectional}"


def _pack_like(output: Tensor, lengths: Tensor, like: PackedSequence) -> PackedSequence:
    """Pack a time-major padded output with exactly the batch sizes and orderings of the input `like`."""
    if like.sorted_indices is not None:
        output = output.index_select(1, like.sorted_indices)
        lengths = lengths.index_select(0, like.sorted_indices.cpu())
    data = pack_padded_sequence(output, lengths, enforce_sorted=True).data
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)
