"""Backpropagation through time written out by hand, for one layer in one direction.

`rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh, lengths, nonlinearity)` runs h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T
+ b_hh) over a time-major batch and returns (output (T, B, H), h_n (B, H)), exactly as the autograd loops of
`myrnn` do; its backward is BPTT, so the same numbers come from a different derivation.

It is also the lab's fast CPU path: the input projection of every step is one matrix product; the forward stores
the states in one preallocated tensor, in place, without autograd; the backward keeps only the recurrence in the
time loop (dL/dpre_t = (dL/dh_t + dL/dpre_{t+1} W_hh) * act'(pre_t)) and forms the weight gradients after it, each
as one matrix product over all steps (dL/dW_ih = dA^T X, dL/dW_hh = dA^T H_prev).

Asked for a graph of the gradient (`create_graph=True`: gradient penalties, meta-learning, Hessian-vector
products), the backward instead recomputes the layer with autograd from the saved inputs and differentiates that
with a graph, so second derivatives are exact (checked by `gradgradcheck`), at autograd's speed.

Where a hand-written backward cannot serve, `rnn_layer` hands the same equation to autograd instead
(`_autograd_layer`): inside a torch.func transform (grad, jacrev, jacfwd, jvp, hessian, vmap), under forward-mode AD
and under `torch.export`. Under `torch.jit.trace` it runs a TorchScript-compiled loop, so the trace keeps the loop
(it runs at any length) and can be saved. Outside these the check costs well under a microsecond.
"""

from __future__ import annotations

import functools

import torch
import torch.autograd.forward_ad as forward_ad
from torch import Tensor
from torch.nn import functional as F

from rnnlab.models.sequences import valid_steps


class RNNLayerBPTT(torch.autograd.Function):
    """One RNN layer and direction with a hand-written BPTT backward; see the module docstring."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, lengths, nonlinearity):
        steps, batch, input_size = x.shape
        hidden = w_hh.size(0)
        bias = _sum_biases(b_ih, b_hh)
        flat_x = x.reshape(steps * batch, input_size)
        if bias is None:
            states = torch.mm(flat_x, w_ih.t())
        else:
            states = torch.addmm(bias, flat_x, w_ih.t())
        states = states.view(steps, batch, hidden)  # x_t W_ih^T + b for all t; each step finishes its slice in place
        activate_ = torch.tanh_ if nonlinearity == "tanh" else torch.relu_
        valid = valid_steps(lengths, steps, x.device)
        w_hh_t = w_hh.t()
        h = h0
        for t in range(steps):
            state = states[t]
            state.addmm_(h, w_hh_t)
            activate_(state)
            if valid is not None:  # past its length a sequence keeps its last state
                torch.where(valid[t], state, h, out=state)
            h = state
        output = states if valid is None else states.masked_fill(~valid, 0.0)
        ctx.nonlinearity = nonlinearity
        ctx.has_bias = (b_ih is not None, b_hh is not None)
        ctx.save_for_backward(x, h0, w_ih, w_hh, b_ih, b_hh, states, valid)
        return output, h.clone()

    @staticmethod
    def backward(ctx, grad_output, grad_h_n):
        x, h0, w_ih, w_hh, b_ih, b_hh, states, valid = ctx.saved_tensors
        if torch.is_grad_enabled():  # autograd runs a backward with grad mode on exactly when create_graph=True
            return _backward_with_graph(ctx, (x, h0, w_ih, w_hh, b_ih, b_hh), valid, grad_output, grad_h_n)
        steps, batch, input_size = x.shape
        hidden = w_hh.size(0)
        # act'(pre_t) comes from the stored state h_t = act(pre_t): tanh' = 1 - h_t^2, relu' = [h_t > 0]. aten's own
        # fused backward kernels apply it in one pass, written straight into dL/dpre_t's slot.
        if ctx.nonlinearity == "tanh":

            def activation_backward(grad, t):
                torch.ops.aten.tanh_backward.grad_input(grad, states[t], grad_input=grad_pre[t])
        else:

            def activation_backward(grad, t):
                torch.ops.aten.threshold_backward.grad_input(grad, states[t], 0, grad_input=grad_pre[t])

        if valid is not None:
            grad_output = grad_output.masked_fill(~valid, 0.0)  # the output is zero past each length

        grad_pre = torch.empty_like(states)  # dL/dpre_t for every t: the only thing the time loop must produce
        grad_h = grad_h_n + grad_output[-1]  # dL/dh_t for t = T-1: from h_n and from the last output
        for t in range(steps - 1, -1, -1):
            activation_backward(grad_h, t)  # dL/dpre_t = dL/dh_t * act'(pre_t)
            grad_from_output = grad_output[t - 1] if t > 0 else torch.zeros_like(grad_h)
            if valid is not None:  # past its length the state was copied, not computed: dL/dh_t passes on unchanged
                grad_pre[t].masked_fill_(~valid[t], 0.0)
                grad_from_output = grad_from_output + grad_h.masked_fill(valid[t], 0.0)
            grad_h = torch.addmm(grad_from_output, grad_pre[t], w_hh)  # dL/dh_{t-1} = dL/dpre_t W_hh + output's

        flat_grad_pre = grad_pre.view(steps * batch, hidden)
        need = ctx.needs_input_grad
        grad_x = grad_w_ih = grad_w_hh = grad_b = None
        if need[0]:
            grad_x = torch.mm(flat_grad_pre, w_ih).view(steps, batch, input_size)
        if need[2]:
            grad_w_ih = torch.mm(flat_grad_pre.t(), x.reshape(steps * batch, input_size))
        if need[3]:
            # sum over t of dL/dpre_t^T h_{t-1}: h_{-1} = h0 apart, the rest one product over the stored states
            previous = states[:-1].reshape((steps - 1) * batch, hidden)
            grad_w_hh = torch.addmm(grad_pre[0].t() @ h0, flat_grad_pre[batch:].t(), previous)
        grad_b_ih = grad_b_hh = None
        if need[4] or need[5]:  # dL/db_ih = dL/db_hh = sum dL/dpre; each its own tensor, so no two .grad share storage
            grad_b = flat_grad_pre.sum(0)
            grad_b_ih = grad_b if need[4] else None
            grad_b_hh = (grad_b.clone() if need[4] else grad_b) if need[5] else None
        return grad_x, grad_h if need[1] else None, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh, None, None


def _backward_with_graph(
    ctx,
    inputs: tuple[Tensor, Tensor, Tensor, Tensor, Tensor | None, Tensor | None],  # x, h0, w_ih, w_hh, b_ih, b_hh
    valid: Tensor | None,
    grad_output: Tensor,
    grad_h_n: Tensor,
) -> tuple:
    """The first derivative as a differentiable graph: the layer recomputed by autograd from the saved inputs (the
    originals, so the graph reaches them) and differentiated with create_graph=True."""
    needed = [(i, tensor) for i, tensor in enumerate(inputs) if tensor is not None and ctx.needs_input_grad[i]]
    output, h_n = _autograd_layer(*inputs, valid, ctx.nonlinearity)
    grads = torch.autograd.grad(
        (output, h_n), [tensor for _, tensor in needed], (grad_output, grad_h_n), create_graph=True, allow_unused=True
    )
    result: list[Tensor | None] = [None] * 8  # one per argument of forward; lengths and nonlinearity have none
    for (i, _), grad in zip(needed, grads):
        result[i] = grad
    return tuple(result)


def _autograd_layer(x, h0, w_ih, w_hh, b_ih, b_hh, valid, nonlinearity) -> tuple[Tensor, Tensor]:
    """The forward of `RNNLayerBPTT` with out-of-place autograd ops: the same function, differentiable twice."""
    activation = torch.tanh if nonlinearity == "tanh" else torch.relu
    projected = F.linear(x, w_ih, _sum_biases(b_ih, b_hh))
    h, outputs = h0, []
    for t, p_t in enumerate(projected.unbind(0)):
        h_t = activation(p_t + h @ w_hh.t())
        h = h_t if valid is None else torch.where(valid[t], h_t, h)
        outputs.append(h)
    output = torch.stack(outputs)
    return (output if valid is None else output.masked_fill(~valid, 0.0)), h


def _sum_biases(b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor | None:
    if b_ih is None or b_hh is None:
        return b_ih if b_hh is None else b_hh
    return b_ih + b_hh


def rnn_layer(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    lengths: Tensor | None,
    nonlinearity: str,
) -> tuple[Tensor, Tensor]:
    """One layer and direction over x (T, B, I) from h0 (B, H): (output (T, B, H), h_n (B, H)), BPTT backward.

    Past a sequence's length (lengths: (B,) int64, or None) its state is frozen and its output is zero. Under a
    transform, forward-mode AD, export or tracing the same equation runs another way (see the module docstring).
    """
    if torch.jit.is_tracing():
        return traced_layer(x, h0, w_ih, w_hh, b_ih, b_hh, lengths, nonlinearity)
    if autograd_needed():
        return _autograd_layer(x, h0, w_ih, w_hh, b_ih, b_hh, valid_steps(lengths, x.size(0), x.device), nonlinearity)
    return RNNLayerBPTT.apply(x, h0, w_ih, w_hh, b_ih, b_hh, lengths, nonlinearity)


def autograd_needed() -> bool:
    """True where only autograd's own derivatives serve: a torch.func transform, forward-mode AD, torch.export."""
    return (
        torch._C._are_functorch_transforms_active() or forward_ad._current_level >= 0 or torch.compiler.is_exporting()
    )


def traced_layer(x, h0, w_ih, w_hh, b_ih, b_hh, lengths, nonlinearity: str) -> tuple[Tensor, Tensor]:
    """The layer for `torch.jit.trace`: a TorchScript loop, which the trace records as a loop (any length, savable)."""
    valid = valid_steps(lengths, x.size(0), x.device)
    return _scripted_layer()(x, h0, w_ih, w_hh, _sum_biases(b_ih, b_hh), valid, nonlinearity == "relu")


@functools.cache
def _scripted_layer():
    """Compiled on first use (tracing only), so importing the models pays nothing for it."""

    def layer(
        x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, bias: Tensor | None, valid: Tensor | None, relu: bool
    ) -> tuple[Tensor, Tensor]:
        projected = F.linear(x, w_ih, bias)
        h = h0
        outputs: list[Tensor] = []
        for t in range(projected.size(0)):
            pre = projected[t] + torch.mm(h, w_hh.t())
            h_t = torch.relu(pre) if relu else torch.tanh(pre)
            if valid is not None:
                h_t = torch.where(valid[t], h_t, h)
            h = h_t
            outputs.append(h)
        output = torch.stack(outputs)
        if valid is not None:
            output = output.masked_fill(~valid, 0.0)
        return output, h

    return torch.jit.script(layer)
