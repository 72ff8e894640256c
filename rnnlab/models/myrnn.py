"""`myrnn`: the loop-based RNN done right — nn.RNN's equations in plain loops.

    h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)

The default path is that equation, one step at a time, differentiated by autograd, a whole layer at a time (for
layer: for t), so the input part x_t W_ih^T + b_ih of every step is one matrix product before the loop. Two options
change how, never what, it computes:

- `loop_order="time"`: for t: for layer, the order of most hand-written RNNs, each step's input projected inside the loop (the
  variant `time-major`; on 2 CPU threads about 1.3-1.5x nn.RNN's time where layer-major is about 1.1x).
- `backward="manual"`: each layer and direction is one `rnnlab.models.bptt.RNNLayerBPTT` with BPTT written out
  (layer-major by construction): the fast path.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnlab.models import naming
from rnnlab.models.base import RNNBase
from rnnlab.models.bptt import rnn_layer
from rnnlab.models.sequences import reverse_padded, valid_steps

LOOP_ORDERS = ("time", "layer")
BACKWARDS = ("autograd", "manual")


class MyRNN(RNNBase):
    """A drop-in for `torch.nn.RNN` written as loops over its equation; parameters carry nn.RNN's names.

    Extra keyword arguments: `loop_order` ("layer": for layer: for t, the default; "time": for t: for layer, the
    order of most hand-written RNNs) and `backward` ("autograd", the default; "manual": hand-written BPTT, needs loop_order="layer").
    A bidirectional layer reads the whole output of the layer below, so with bidirectional=True the layers run
    one after the other whatever the loop order; "time" then only means one `step` call per time step.
    """

    variants: ClassVar[dict[str, dict]] = {
        "default": {},
        "time-major": {"loop_order": "time"},
        "fast": {"loop_order": "layer", "backward": "manual"},
    }

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
        *,
        loop_order: str = "layer",
        backward: str = "autograd",
    ):
        super().__init__(
            input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional, device, dtype
        )
        check_options(loop_order, backward)
        self.loop_order = loop_order
        self.backward = backward
        self._create_parameters()
        self.reset_parameters()

    def check_option(self, name: str, value) -> None:
        """`loop_order` and `backward` are read at each forward: written later, they take effect if valid."""
        if name in ("loop_order", "backward") and "backward" in self.__dict__:
            check_options(**({"loop_order": self.loop_order, "backward": self.backward} | {name: value}))

    # ---- parameters: nn.RNN's names, so the base's state-dict and gradient layouts work unchanged --------------

    def _create_parameters(self) -> None:
        shapes = {
            "weight_hh": (self.hidden_size, self.hidden_size),
            "bias_ih": (self.hidden_size,),
            "bias_hh": (self.hidden_size,),
        }
        for names in naming.all_weights_names(self.num_layers, self.bidirectional, self.bias):
            for name in names:
                kind, layer, _ = naming.parts(name)
                shape = (self.hidden_size, self.layer_input_size(layer)) if kind == "weight_ih" else shapes[kind]
                self.register_parameter(name, nn.Parameter(torch.empty(shape, **self.factory_kwargs)))

    def reset_parameters(self) -> None:
        """nn.RNN's own default: every parameter uniform in (-1/sqrt(hidden), 1/sqrt(hidden))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            nn.init.uniform_(param, -bound, bound)

    def layer_weights(self, layer: int, suffix: str) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """(W_ih, W_hh, b_ih, b_hh) of one layer and direction; biases None when bias=False."""
        found = [getattr(self, naming.name(kind, layer, suffix)) for kind in naming.kinds(self.bias)]
        return tuple(found) if self.bias else (*found, None, None)

    # ---- the equation ----------------------------------------------------------------------------------------

    def step(self, x_t: Tensor, h: Tensor, layer: int, suffix: str = "") -> Tensor:
        """One step: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)."""
        w_ih, w_hh, b_ih, b_hh = self.layer_weights(layer, suffix)
        # F.linear(a, W, b) is a W^T + b in one fused product (addmm)
        return self.activation(F.linear(x_t, w_ih, b_ih) + F.linear(h, w_hh, b_hh))

    # ---- the loops -------------------------------------------------------------------------------------------

    def forward_padded(self, x: Tensor, h0: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        if self.loop_order == "time" and not self.bidirectional and not torch.jit.is_tracing():
            return self._time_major(x, h0, lengths)
        return self._layer_major(x, h0, lengths)

    def _time_major(self, x: Tensor, h0: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        """for t: for layer — the order of most hand-written RNNs; each layer's state at t feeds the next layer at t."""
        valid = valid_steps(lengths, x.size(0), x.device)
        h = list(h0.unbind(0))
        outputs = []
        for t, x_t in enumerate(x.unbind(0)):  # unbind, not x[t]: its backward is one stack, not T full-size copies
            for layer in range(self.num_layers):
                h[layer] = _keep_ended(self.step(x_t, h[layer], layer), h[layer], valid, t)
                x_t = self.dropout_between_layers(h[layer], layer)
            outputs.append(h[-1])
        return _zero_past_lengths(torch.stack(outputs), valid), torch.stack(h)

    def _layer_major(self, x: Tensor, h0: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        """for layer: for direction: a sweep over time. h_n is ordered (l0 fwd, l0 bwd, l1 fwd, ...), as nn.RNN's."""
        h_n = []
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(self.direction_suffixes()):
                h = h0[layer * self.num_directions + direction]
                if suffix:  # the reverse direction runs over each sequence reversed within its own length
                    output, h = self._sweep(reverse_padded(x, lengths), h, lengths, layer, suffix)
                    output = reverse_padded(output, lengths)
                else:
                    output, h = self._sweep(x, h, lengths, layer, suffix)
                outputs.append(output)
                h_n.append(h)
            x = self.dropout_between_layers(torch.cat(outputs, dim=-1) if suffix else output, layer)
        return x, torch.stack(h_n)

    def _sweep(self, x: Tensor, h: Tensor, lengths: Tensor | None, layer: int, suffix: str) -> tuple[Tensor, Tensor]:
        """One layer in one direction over the whole sequence: (output (T, B, H), h_n (B, H))."""
        if self.backward == "manual" or torch.jit.is_tracing():  # a trace records rnn_layer's scripted loop
            return rnn_layer(x, h, *self.layer_weights(layer, suffix), lengths, self.nonlinearity)
        valid = valid_steps(lengths, x.size(0), x.device)
        outputs = []
        if self.loop_order == "time":
            for t, x_t in enumerate(x.unbind(0)):
                h = _keep_ended(self.step(x_t, h, layer, suffix), h, valid, t)
                outputs.append(h)
        else:
            w_ih, w_hh, b_ih, b_hh = self.layer_weights(layer, suffix)
            projected = F.linear(x, w_ih, b_ih)  # x_t W_ih^T + b_ih for every t in one product
            for t, p_t in enumerate(projected.unbind(0)):
                h = _keep_ended(self.activation(p_t + F.linear(h, w_hh, b_hh)), h, valid, t)
                outputs.append(h)
        return _zero_past_lengths(torch.stack(outputs), valid), h

    def extra_repr(self) -> str:
        return super().extra_repr() + f", loop_order={self.loop_order!r}, backward={self.backward!r}"


def check_options(loop_order: str, backward: str) -> None:
    if loop_order not in LOOP_ORDERS:
        raise ValueError(f"loop_order must be one of {LOOP_ORDERS}, got {loop_order!r}")
    if backward not in BACKWARDS:
        raise ValueError(f"backward must be one of {BACKWARDS}, got {backward!r}")
    if backward == "manual" and loop_order != "layer":
        raise ValueError("backward='manual' runs a whole layer at a time: it needs loop_order='layer'")


def _keep_ended(h_t: Tensor, h: Tensor, valid: Tensor | None, t: int) -> Tensor:
    """The new state where step t lies within the sequence; past its length the state stays frozen."""
    return h_t if valid is None else torch.where(valid[t], h_t, h)


def _zero_past_lengths(output: Tensor, valid: Tensor | None) -> Tensor:
    return output if valid is None else output.masked_fill(~valid, 0.0)
