"""Backpropagation through time written out by hand, for one layer in one direction.

`rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh, lengths, nonlinearity)` runs h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T
+ b_hh) over a time-major batch and returns (output (T, B, H), h_n (B, H)), exactly as the autograd loops of
`myrnn` do; its backward is BPTT, so the same numbers come from a different derivation.

It is also the lab's fast CPU path: the input projection of every step is one matrix product; the forward stores
the states in one preallocated tensor, in place, without autograd; the backward keeps only the recurrence in the
time loop (dL/dpre_t = (dL/dh_t + dL/dpre_{t+1} W_hh) * act'(pre_t)) and forms the weight gradients after it, each
as one matrix product over all steps (dL/dW_ih = dA^T X, dL/dW_hh = dA^T H_prev).
"""

from __future__ import annotations

import torch
from torch import Tensor

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
        ctx.save_for_backward(x, h0, w_ih, w_hh, states, valid)
        return output, h.clone()

    @staticmethod
    def backward(ctx, grad_output, grad_h_n):
        x, h0, w_ih, w_hh, states, valid = ctx.saved_tensors
        steps, batch, input_size = x.shape
        hidden = w_hh.size(0)
        # act'(pre_t) from the stored states: tanh' = 1 - h^2, relu' = [h > 0]; zero where a sequence has ended,
        # because there the state was copied, not computed.
        if ctx.nonlinearity == "tanh":
            slope = 1.0 - states * states
        else:
            slope = (states > 0).to(states.dtype)
        if valid is not None:
            slope = slope.masked_fill_(~valid, 0.0)
            grad_output = grad_output.masked_fill(~valid, 0.0)  # the output is zero there

        grad_pre = torch.empty_like(states)  # dL/dpre_t for every t: the only thing the time loop must produce
        grad_h = grad_h_n.clone()
        for t in range(steps - 1, -1, -1):
            grad_h += grad_output[t]  # dL/dh_t: from the output at t and from the future through h_t
            torch.mul(grad_h, slope[t], out=grad_pre[t])
            if valid is None:
                grad_h = torch.mm(grad_pre[t], w_hh)
            else:  # an ended sequence passes dL/dh_t straight to h_{t-1}
                grad_h = torch.addmm(grad_h.masked_fill_(valid[t], 0.0), grad_pre[t], w_hh)

        flat_grad_pre = grad_pre.view(steps * batch, hidden)
        need = ctx.needs_input_grad
        grad_x = grad_w_ih = grad_w_hh = grad_b = None
        if need[0]:
            grad_x = torch.mm(flat_grad_pre, w_ih).view(steps, batch, input_size)
        if need[2]:
            grad_w_ih = torch.mm(flat_grad_pre.t(), x.reshape(steps * batch, input_size))
        if need[3]:
            previous = torch.cat([h0.unsqueeze(0), states[:-1]]).view(steps * batch, hidden)
            grad_w_hh = torch.mm(flat_grad_pre.t(), previous)
        if need[4] or need[5]:
            grad_b = flat_grad_pre.sum(0)
        grad_b_ih = grad_b if ctx.has_bias[0] else None
        grad_b_hh = None
        if ctx.has_bias[1]:  # dL/db_hh = dL/db_ih; its own tensor, so the two .grad never share storage
            grad_b_hh = grad_b.clone() if ctx.has_bias[0] else grad_b
        return grad_x, grad_h if need[1] else None, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh, None, None


def _sum_biases(b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor | None:
    if b_ih is None or b_hh is None:
        return b_ih if b_hh is None else b_hh
    return b_ih + b_hh


def rnn_layer(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None,
              lengths: Tensor | None, nonlinearity: str) -> tuple[Tensor, Tensor]:
    """One layer and direction over x (T, B, I) from h0 (B, H): (output (T, B, H), h_n (B, H)), BPTT backward.

    Past a sequence's length (lengths: (B,) int64, or None) its state is frozen and its output is zero.
    """
    return RNNLayerBPTT.apply(x, h0, w_ih, w_hh, b_ih, b_hh, lengths, nonlinearity)
