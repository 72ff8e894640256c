"""myrnn (and concat, which shares its loops): what the shared parity check (tests/conformance/test_parity.py, over
every variant and the whole configuration grid) does not cover — loop orders against each other, dropout's place,
the options, the hand-written backward itself and its second derivative."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnnlab.models import ConcatRNN, MyRNN
from rnnlab.models.bptt import RNNLayerBPTT

TOL = 1e-10
INPUT, HIDDEN, STEPS = 3, 4, 5
LENGTHS = torch.tensor([3, 5, 1, 4])  # the longest sequence is not first; one sequence of a single step
CLASSES_AND_VARIANTS = [(cls, name) for cls in (MyRNN, ConcatRNN) for name in cls.variants]


def forward_backward(module, x, h0, lengths=None):
    """(output, h_n, dL/dx, dL/dh0) of one forward and a backward that gives every output step its own weight."""
    module.zero_grad(set_to_none=True)
    x, h0 = x.detach().requires_grad_(), h0.detach().requires_grad_()
    output, h_n = module(x if lengths is None else pack_padded_sequence(x, lengths, enforce_sorted=False), h0)
    output = output if lengths is None else output.data
    loss = (output * torch.linspace(-1, 2, output.numel(), dtype=output.dtype).view_as(output)).sum()
    (loss + (h_n**2).sum()).backward()
    return output.detach(), h_n.detach(), x.grad, h0.grad


@pytest.mark.parametrize("cls", (MyRNN, ConcatRNN))
@pytest.mark.parametrize("backward", ("autograd", "manual"))
def test_time_major_equals_layer_major(cls, backward):
    torch.manual_seed(1)
    time_major = cls(INPUT, HIDDEN, num_layers=3, loop_order="time").double()
    layer_major = cls(INPUT, HIDDEN, num_layers=3, loop_order="layer", backward=backward).double()
    layer_major.load_state_dict(time_major.state_dict())
    x = torch.randn(STEPS, len(LENGTHS), INPUT, dtype=torch.float64)
    h0 = torch.randn(3, len(LENGTHS), HIDDEN, dtype=torch.float64)
    a, b = forward_backward(time_major, x, h0, LENGTHS), forward_backward(layer_major, x, h0, LENGTHS)
    assert all(torch.allclose(u, v, rtol=0, atol=1e-12) for u, v in zip(a, b))
    for (name, p), q in zip(time_major.named_parameters(), layer_major.parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=0, atol=1e-12), name


@pytest.mark.parametrize("cls,variant", CLASSES_AND_VARIANTS)
def test_dropout_acts_only_between_layers_and_only_in_training(cls, variant):
    x = torch.randn(STEPS, 3, INPUT, dtype=torch.float64)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        single = cls(INPUT, HIDDEN, num_layers=1, dropout=0.5, **cls.variants[variant]).double()
    assert torch.equal(single.train()(x)[0], single.eval()(x)[0])  # nothing after the last layer

    torch.manual_seed(0)
    reference = nn.RNN(INPUT, HIDDEN, num_layers=2, dropout=0.5).double()
    model = cls(INPUT, HIDDEN, num_layers=2, dropout=0.5, **cls.variants[variant]).double()
    model.load_torch_state_dict(reference.state_dict())
    torch.manual_seed(2)
    trained_out, trained_h = model.train()(x)
    eval_out, eval_h = model.eval()(x)
    assert not torch.allclose(trained_out, eval_out)
    assert torch.equal(trained_h[0], eval_h[0])  # the first layer sees no dropout
    for got, want in zip((eval_out, eval_h), reference.eval()(x)):  # eval: no dropout at all
        assert torch.allclose(got, want, rtol=0, atol=TOL)


@pytest.mark.parametrize("cls", (MyRNN, ConcatRNN))
@pytest.mark.parametrize(
    "bad", [{"loop_order": "diagonal"}, {"backward": "numeric"}, {"loop_order": "time", "backward": "manual"}]
)
def test_bad_options_are_refused_by_name(cls, bad):
    with pytest.raises(ValueError, match=next(iter(bad)) if len(bad) == 1 else "backward='manual'"):
        cls(INPUT, HIDDEN, **bad)


def test_parameters_carry_nn_rnn_names():
    model = MyRNN(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    assert [name for name, _ in model.named_parameters()] == model.torch_parameter_names()
    assert model.weight_ih_l1_reverse.shape == (HIDDEN, 2 * HIDDEN)


# ---- the hand-written backward itself --------------------------------------------------------------------------


def pre_activations(x, h0, w_ih, w_hh, b_ih, b_hh, lengths, nonlinearity):
    """The pre-activations the layer computes at every valid step, by a plain loop (to steer relu off its kink)."""
    act = torch.tanh if nonlinearity == "tanh" else torch.relu
    h, found = h0, []
    for t in range(x.size(0)):
        pre = x[t] @ w_ih.T + h @ w_hh.T + (0 if b_ih is None else b_ih) + (0 if b_hh is None else b_hh)
        valid = torch.ones(x.size(1), dtype=torch.bool) if lengths is None else t < lengths
        found.append(pre[valid])
        h = torch.where(valid.unsqueeze(1), act(pre), h)
    return torch.cat(found)


@pytest.mark.parametrize("nonlinearity", ("tanh", "relu"))
@pytest.mark.parametrize("lengths", (None, torch.tensor([2, 4, 1])))
@pytest.mark.parametrize("biases", ("both", "one", "none"))
def test_bptt_function_passes_gradcheck_and_gradgradcheck(nonlinearity, lengths, biases):
    torch.manual_seed(3)
    steps, batch, inputs, hidden = 4, 3, 2, 3
    x = torch.randn(steps, batch, inputs, dtype=torch.float64)
    if lengths is not None:
        x = x * (torch.arange(steps).unsqueeze(1) < lengths).unsqueeze(-1)
    args = [
        x,
        torch.randn(batch, hidden, dtype=torch.float64),
        torch.randn(hidden, inputs, dtype=torch.float64),
        torch.randn(hidden, hidden, dtype=torch.float64) * 0.7,
        None if biases == "none" else torch.randn(hidden, dtype=torch.float64),
        torch.randn(hidden, dtype=torch.float64) if biases == "both" else None,
    ]
    pre = pre_activations(*args, lengths, nonlinearity)
    assert pre.abs().min() > 1e-3  # finite differences (eps 1e-6) never straddle relu's kink
    assert (pre < 0).any() and (pre > 0).any()  # ... yet both of its branches are exercised
    args = [a if a is None else a.requires_grad_() for a in args]
    assert torch.autograd.gradcheck(lambda *a: RNNLayerBPTT.apply(*a, lengths, nonlinearity), args)
    # a graph of the gradient (create_graph=True) is exact too: the backward then differentiates a recomputation
    assert torch.autograd.gradgradcheck(lambda *a: RNNLayerBPTT.apply(*a, lengths, nonlinearity), args)


def test_bptt_function_with_unused_h_n_and_frozen_input():
    """Gradients needed only for the weights: no input gradient is formed, h_n's materialised zero is harmless."""
    torch.manual_seed(4)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    w_ih = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    w_hh = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    h0 = torch.zeros(2, 4, dtype=torch.float64)
    output, _ = RNNLayerBPTT.apply(x, h0, w_ih, w_hh, None, None, None, "tanh")
    output.sum().backward()
    expected = nn.RNN(3, 4, bias=False).double()
    expected.load_state_dict({"weight_ih_l0": w_ih.detach(), "weight_hh_l0": w_hh.detach()})
    expected(x)[0].sum().backward()
    assert torch.allclose(w_ih.grad, expected.weight_ih_l0.grad, rtol=0, atol=TOL)
    assert torch.allclose(w_hh.grad, expected.weight_hh_l0.grad, rtol=0, atol=TOL)


# ---- second derivatives (gradient penalties, meta-learning) ---------------------------------------------------


def gradient_penalty_grads(module, x):
    """d/dθ of ||dL/dW_hh||^2 (L = sum of the outputs), through a graph of the gradient: a second derivative."""
    weight_hh = module.all_weights[0][1]
    (grad,) = torch.autograd.grad(module(x)[0].sum(), weight_hh, create_graph=True)
    return torch.autograd.grad((grad**2).sum(), list(module.parameters()))


@pytest.mark.parametrize("variant", MyRNN.variants)
def test_second_derivatives_are_nn_rnns(variant):
    torch.manual_seed(5)
    reference = nn.RNN(INPUT, HIDDEN, num_layers=2).double()
    model = MyRNN(INPUT, HIDDEN, num_layers=2, **MyRNN.variants[variant]).double()
    model.load_torch_state_dict(reference.state_dict())
    x = torch.randn(STEPS, 2, INPUT, dtype=torch.float64)
    want = dict(zip(dict(reference.named_parameters()), gradient_penalty_grads(reference, x)))
    got = dict(zip(dict(model.named_parameters()), gradient_penalty_grads(model, x)))
    for name in want:
        assert torch.allclose(got[name], want[name], rtol=0, atol=TOL), name


@pytest.mark.parametrize("variant", ConcatRNN.variants)
def test_concats_second_derivatives_are_nn_rnns_in_its_layout(variant):
    """concat's W_hh is a slice of W: the penalty's second derivative is nn.RNN's number in W's layout."""
    torch.manual_seed(5)
    reference = nn.RNN(INPUT, HIDDEN, num_layers=2).double()
    model = ConcatRNN(INPUT, HIDDEN, num_layers=2, **ConcatRNN.variants[variant]).double()
    model.load_torch_state_dict(reference.state_dict())
    x = torch.randn(STEPS, 2, INPUT, dtype=torch.float64)
    want = dict(zip(dict(reference.named_parameters()), gradient_penalty_grads(reference, x)))
    (grad,) = torch.autograd.grad(model(x)[0].sum(), model.weight_l0, create_graph=True)
    (second,) = torch.autograd.grad((grad[:, INPUT:] ** 2).sum(), model.weight_l0)
    assert torch.allclose(second, torch.cat([want["weight_ih_l0"], want["weight_hh_l0"]], dim=1), rtol=0, atol=TOL)
