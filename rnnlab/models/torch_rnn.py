"""`torch`: nn.RNN itself, the reference every other implementation is proven against (and cuDNN on GPU)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.models.base import MODES, NONLINEARITY_OF_MODE, LabRNN, RNNBase, run_in_python


class TorchRNN(nn.RNN, LabRNN):
    """`nn.RNN` plus the lab's methods: its constructor, names, state dict, attributes and forward are nn.RNN's.

    Two deliberate differences, both louder than nn.RNN: a structural attribute (`num_layers`, `hidden_size`...)
    written after construction is refused (nn.RNN takes it and fails or computes with the old layout later), and
    writing `nonlinearity` also sets `mode` (nn.RNN's forward reads only `mode`, so it would keep the old one).
    """

    __jit_unused_properties__ = ["all_weights", "num_directions"]  # declared as nn.RNN declares it

    def __setattr__(self, name: str, value) -> None:
        """`LabRNN.checked_write`, the policy of every implementation; `mode` and `nonlinearity` kept in step."""
        value = self.checked_write(name, value)
        if name == "nonlinearity" and "mode" in self.__dict__:
            super().__setattr__("mode", MODES[value])
        elif name == "mode" and "nonlinearity" in self.__dict__:
            super().__setattr__("nonlinearity", NONLINEARITY_OF_MODE[value])
        super().__setattr__(name, value)

    # TorchScript compiles this def from its source annotations, so they must read Tensor -> (Tensor, Tensor), narrower
    # than nn.RNN's overloads (a PackedSequence is run all the same: nn.RNN.forward takes it). The ignore must end the
    # line: TorchScript reads any other `# type:` comment on it as the signature.
    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        """nn.RNN's forward; under `torch.jit.script` of a module holding this one, a call back into it (nn.RNN's
        TorchScript overloads are keyed to the class nn.RNN and do not reach a subclass)."""
        if torch.jit.is_scripting():
            return run_in_python(self._script_id, input, hx)
        return nn.RNN.forward(self, input, hx)

    def _forward(self, input, hx):
        return nn.RNN.forward(self, input, hx)

    forward.__annotations__ = RNNBase.forward.__annotations__

    def forward_padded(self, x: Tensor, h0: Tensor, lengths: Tensor | None):
        """The recurrence on a time-major padded batch (what a wrapper calls when it composes this as a cell)."""
        if lengths is None:
            output, h_n = nn.RNN.forward(self, x.transpose(0, 1) if self.batch_first else x, h0)
            return (output.transpose(0, 1) if self.batch_first else output), h_n
        packed_output, h_n = nn.RNN.forward(self, pack_padded_sequence(x, lengths, enforce_sorted=False), h0)
        output, _ = pad_packed_sequence(packed_output, total_length=x.size(0))
        return output, h_n
