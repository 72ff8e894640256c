"""`torch`: nn.RNN itself, the reference every other implementation is proven against (and cuDNN on GPU)."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.models.base import MODES, STRUCTURAL, LabRNN, check_nonlinearity


class TorchRNN(nn.RNN, LabRNN):
    """`nn.RNN` plus the lab's methods: its constructor, names, state dict, attributes and forward are nn.RNN's.

    Two deliberate differences, both louder than nn.RNN: a structural attribute (`num_layers`, `hidden_size`...)
    written after construction is refused (nn.RNN takes it and fails or computes with the old layout later), and
    writing `nonlinearity` also sets `mode` (nn.RNN's forward reads only `mode`, so it would keep the old one).
    """

    def __setattr__(self, name: str, value) -> None:
        if name in STRUCTURAL and name in self.__dict__ and value != self.__dict__[name]:
            raise AttributeError(
                f"{type(self).__name__}.{name} is fixed at construction ({self.__dict__[name]!r}): it shapes the "
                f"parameters; build a new network for {name}={value!r}"
            )
        if name == "nonlinearity" and "mode" in self.__dict__:
            check_nonlinearity(value)
            super().__setattr__("mode", MODES[value])
        elif name == "mode" and "nonlinearity" in self.__dict__:
            inverse = {mode: nonlinearity for nonlinearity, mode in MODES.items()}
            if value not in inverse:
                raise ValueError(f"mode must be one of {sorted(inverse)}, got {value!r}")
            super().__setattr__("nonlinearity", inverse[value])
        super().__setattr__(name, value)

    def forward_padded(self, x: Tensor, h0: Tensor, lengths: Tensor | None):
        """The recurrence on a time-major padded batch (what a wrapper calls when it composes this as a cell)."""
        if lengths is None:
            output, h_n = nn.RNN.forward(self, x.transpose(0, 1) if self.batch_first else x, h0)
            return (output.transpose(0, 1) if self.batch_first else output), h_n
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        output, h_n = nn.RNN.forward(self, packed, h0)
        output, _ = pad_packed_sequence(output, total_length=x.size(0))
        return output, h_n
