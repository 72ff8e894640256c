"""A probe that sees every layer and every step: the network re-run step by step from its nn.RNN-layout weights.

The implementations (nn.RNN and cuDNN above all) return only the top layer's output, and the gradient with respect
to an output tensor is only its direct part: the recurrence runs inside the kernel. Vanishing and exploding live in
the total derivative dL/dh_t, through the later steps and the layers above. Every implementation is proven
numerically equal to nn.RNN, so the equations of nn.RNN, evaluated on `rnn.torch_state_dict()` with each state h_t
its own autograd node, compute the same network and expose every dL/dh_t.

The probe never touches the model's parameters, gradients or random streams: it reads detached weights, runs
without dropout (it measures the network, not one dropout mask), and differentiates only with respect to its own
states (`torch.autograd.grad` with explicit inputs).

It computes in float64 whatever the model's dtype: a gradient that vanishes to 1e-300 over a long sequence is then
still a number (float32 would flush it to zero below 1e-38, and the first/last ratio would read the dtype's floor
as a measurement). The head that turns the output into the loss is evaluated in float64 too, through
`torch.func.functional_call` on float64 copies of the module's parameters: the module itself is never changed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.diagnostics.observed import ObservedModule, ObservedRNN
from rnnlab.models import naming
from rnnlab.models.sequences import length_mask, reverse_padded, valid_steps


@dataclass
class ProbeResult:
    """Each layer's output h (B, T, D * H), zero past each length, and the total derivative dL/dh (B, T, D * H).

    Both directions of a bidirectional layer are concatenated in input time order, as in nn.RNN's output.
    `grads` is None when the probe ran without gradients; `lengths` is None when every sequence has length T.
    """

    outputs: list[Tensor]
    grads: list[Tensor] | None
    lengths: Tensor | None


@contextlib.contextmanager
def eval_mode(module: nn.Module):
    """Evaluate without dropout, then give every submodule back its own train/eval mode."""
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        yield
    finally:
        for m, training in modes.items():
            m.training = training


def _recurrence(x: Tensor, state: dict[str, Tensor], layer: int, suffix: str, rnn: ObservedRNN) -> list[Tensor]:
    """h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) on time-major x (T, B, I): the states, one per step.

    Past a sequence's length the states are never read (its outputs are zeroed, h_n is not used), so they get no
    gradient and need no masking.
    """
    w_ih, w_hh, *biases = (state[naming.name(kind, layer, suffix)] for kind in naming.kinds(rnn.bias))
    pre = x @ w_ih.T
    for bias in biases:
        pre = pre + bias
    w_hh_t = w_hh.T
    act = torch.tanh if rnn.nonlinearity == "tanh" else torch.relu
    h = pre.new_zeros(pre.shape[1:])
    states = []
    for pre_t in pre.unbind(0):
        h = act(pre_t + h @ w_hh_t)
        states.append(h)
    return states


class _LossOf(nn.Module):
    """`module.loss_from_rnn_output` as a forward, so that `functional_call` can evaluate it on other parameters."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module: Any = module  # an RNNModule: its loss_from_rnn_output, which nn.Module's typing cannot see

    def forward(self, output: Tensor, batch: dict) -> Tensor:
        return self.module.loss_from_rnn_output(output, batch)


def _loss(module: nn.Module, output: Tensor, batch: dict) -> Tensor:
    """The training loss of `output` (`module` an ObservedModule), in `output`'s dtype: the module's parameters
    cast to it, the module untouched."""
    params = {
        f"module.{name}": p.detach().to(output.dtype) if p.is_floating_point() else p.detach()
        for name, p in module.named_parameters()
    }
    batch = {k: v.to(output.dtype) if torch.is_tensor(v) and v.is_floating_point() else v for k, v in batch.items()}
    return torch.func.functional_call(_LossOf(module), params, (output, batch), strict=False)


def probe(
    pl_module: ObservedModule, batch: dict, with_grads: bool = True, dtype: torch.dtype = torch.float64
) -> ProbeResult:
    """Run `batch` through the network step by step in `dtype`; with `with_grads`, also dL/dh_t of every layer.

    dL/dh_t is the total derivative of the training loss (`pl_module.loss_from_rnn_output` on the top layer's
    output) with respect to layer k's state at step t: through the later steps of the recurrence and the layers
    above, exactly what backpropagation through time carries.
    """
    if not isinstance(pl_module, nn.Module):  # its parameters are substituted through torch.func.functional_call
        raise TypeError(f"probe needs the observed module to be an nn.Module, got {type(pl_module).__name__}")
    rnn = pl_module.rnn
    state = {k: v.detach().to(dtype) for k, v in rnn.torch_state_dict().items()}
    x = batch["x"].to(dtype).transpose(0, 1)  # time-major (T, B, I)
    # A leaf that requires grad puts every state in the graph; its own gradient is never asked for.
    x = x.detach().requires_grad_(with_grads)
    lengths = batch.get("lengths")
    lengths = None if lengths is None else lengths.cpu()
    valid = valid_steps(lengths, x.size(0), x.device)
    outputs, states = [], []  # per layer: (T, B, D*H); per layer and direction: T states (B, H)
    with eval_mode(pl_module), torch.enable_grad() if with_grads else torch.no_grad():
        for k in range(rnn.num_layers):
            forward = _recurrence(x, state, k, "", rnn)
            directions = [torch.stack(forward)]
            states.append(forward)
            if rnn.bidirectional:
                backward = _recurrence(reverse_padded(x, lengths), state, k, naming.REVERSE, rnn)
                directions.append(reverse_padded(torch.stack(backward), lengths))
                states.append(backward)
            x = torch.cat(directions, dim=-1)
            x = x if valid is None else x * valid
            outputs.append(x)
        top = outputs[-1].transpose(0, 1)
        grads = None
        if with_grads:
            flat = [h for direction in states for h in direction]
            flat_grads = torch.autograd.grad(
                _loss(pl_module, top, batch), flat, allow_unused=True, materialize_grads=True
            )
            grads = _per_layer(flat_grads, rnn, lengths, x.size(0))
    return ProbeResult([o.detach().transpose(0, 1) for o in outputs], grads, lengths)


def _per_layer(flat_grads, rnn: ObservedRNN, lengths, steps) -> list[Tensor]:
    """Regroup the per-step gradients into one (B, T, D * H) tensor per layer, in input time order."""
    grads = []
    for k in range(rnn.num_layers):
        start = k * rnn.num_directions * steps
        directions = [torch.stack(flat_grads[start : start + steps])]
        if rnn.bidirectional:
            directions.append(reverse_padded(torch.stack(flat_grads[start + steps : start + 2 * steps]), lengths))
        grads.append(torch.cat(directions, dim=-1).transpose(0, 1))
    return grads


def valid_mask(result: ProbeResult) -> Tensor | None:
    """(B, T) bool, True at the steps within each sequence's length; None when all are full length."""
    if result.lengths is None:
        return None
    out = result.outputs[0]
    return length_mask(result.lengths, out.size(1), out.device)
