"""myrnn (and concat, which shares its loops) against nn.RNN in float64, for every named variant."""

import itertools

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.models import ConcatRNN, MyRNN
from rnnlab.models.bptt import RNNLayerBPTT

TOL = 1e-10
INPUT, HIDDEN, STEPS = 3, 4, 5
LENGTHS = torch.tensor([3, 5, 1, 4])  # the longest sequence is not first
CLASSES_AND_VARIANTS = [(cls, name) for cls in (MyRNN, ConcatRNN) for name in cls.variants]


def make_pair(cls, variant, **config):
    """An nn.RNN and an implementation loaded with its weights, both float64."""
    torch.manual_seed(0)
    reference = nn.RNN(INPUT, HIDDEN, **config).double()
    model = cls(INPUT, HIDDEN, **config, **cls.variants[variant]).double()
    model.load_torch_state_dict(reference.state_dict())
    return reference, model


def run(module, x, h0, lengths=None, batch_first=False):
    """(output, h_n, dL/dx, dL/dh0) of one forward and backward, the output padded again if packed."""
    module.zero_grad(set_to_none=True)
    x = x.detach().requires_grad_()
    h0 = None if h0 is None else h0.detach().requires_grad_()
    inputs = x if lengths is None else pack_padded_sequence(x, lengths, batch_first, enforce_sorted=False)
    output, h_n = module(inputs, h0)
    if lengths is not None:
        output, _ = pad_packed_sequence(output, batch_first, total_length=x.size(1 if batch_first else 0))
    # weights the loss unevenly, so every output step and h_n get a distinct gradient
    loss = (output * torch.linspace(-1, 2, output.numel(), dtype=output.dtype).view_as(output)).sum()
    (loss + (h_n**2).sum()).backward()
    return output.detach(), h_n.detach(), x.grad, None if h0 is None else h0.grad


def assert_parity(reference, model, x, h0, lengths=None, batch_first=False):
    expected = run(reference, x, h0, lengths, batch_first)
    got = run(model, x, h0, lengths, batch_first)
    for what, e, g in zip(("output", "h_n", "grad input", "grad h0"), expected, got):
        if e is None:
            assert g is None, what
        else:
            assert e.shape == g.shape, what
            assert torch.allclose(e, g, rtol=0, atol=TOL), f"{what}: max error {(e - g).abs().max():.2e}"
    grads = model.torch_grad_dict()
    for name, param in reference.named_parameters():
        assert torch.allclose(param.grad, grads[name], rtol=0, atol=TOL), f"grad {name}"


@pytest.mark.parametrize("cls,variant", CLASSES_AND_VARIANTS)
@pytest.mark.parametrize("num_layers,bidirectional", itertools.product((1, 2, 3), (False, True)))
@pytest.mark.parametrize("nonlinearity,bias", [("tanh", True), ("relu", True), ("tanh", False), ("relu", False)])
def test_packed_variable_lengths_match_nn_rnn(cls, variant, num_layers, bidirectional, nonlinearity, bias):
    reference, model = make_pair(cls, variant, num_layers=num_layers, nonlinearity=nonlinearity, bias=bias,
                                 bidirectional=bidirectional)
    x = torch.randn(STEPS, len(LENGTHS), INPUT, dtype=torch.float64)
    h0 = torch.randn(num_layers * (1 + bidirectional), len(LENGTHS), HIDDEN, dtype=torch.float64)
    assert_parity(reference, model, x, h0, LENGTHS)


@pytest.mark.parametrize("cls,variant", CLASSES_AND_VARIANTS)
@pytest.mark.parametrize("bidirectional", (False, True))
@pytest.mark.parametrize("layout", ("time_major", "batch_first", "no_h0", "unbatched", "packed_batch_first"))
def test_input_layouts_match_nn_rnn(cls, variant, bidirectional, layout):
    batch_first = layout in ("batch_first", "packed_batch_first")
    reference, model = make_pair(cls, variant, num_layers=2, bidirectional=bidirectional, batch_first=batch_first,
                                 nonlinearity="relu")
    directions = 1 + bidirectional
    if layout == "unbatched":
        x, h0 = torch.randn(STEPS, INPUT), torch.randn(2 * directions, HIDDEN)
    else:
        x = torch.randn(STEPS, len(LENGTHS), INPUT)
        x = x.transpose(0, 1) if batch_first else x
        h0 = None if layout == "no_h0" else torch.randn(2 * directions, len(LENGTHS), HIDDEN)
    lengths = LENGTHS if layout == "packed_batch_first" else None
    assert_parity(reference, model, x.double(), None if h0 is None else h0.double(), lengths, batch_first)


@pytest.mark.parametrize("cls", (MyRNN, ConcatRNN))
def test_float32_matches_nn_rnn_to_single_precision(cls):
    reference, model = make_pair(cls, "fast", num_layers=2, bidirectional=True)
    reference, model = reference.float(), model.float()
    x = torch.randn(STEPS, 2, INPUT)
    (out, h), (ref_out, ref_h) = model(x), reference(x)
    assert torch.allclose(out, ref_out, atol=1e-5) and torch.allclose(h, ref_h, atol=1e-5)


@pytest.mark.parametrize("cls", (MyRNN, ConcatRNN))
@pytest.mark.parametrize("backward", ("autograd", "manual"))
def test_time_major_equals_layer_major(cls, backward):
    torch.manual_seed(1)
    time_major = cls(INPUT, HIDDEN, num_layers=3, loop_order="time").double()
    layer_major = cls(INPUT, HIDDEN, num_layers=3, loop_order="layer", backward=backward).double()
    layer_major.load_state_dict(time_major.state_dict())
    x = torch.randn(STEPS, len(LENGTHS), INPUT, dtype=torch.float64)
    h0 = torch.randn(3, len(LENGTHS), HIDDEN, dtype=torch.float64)
    a, b = run(time_major, x, h0, LENGTHS), run(layer_major, x, h0, LENGTHS)
    assert all(torch.allclose(u, v, rtol=0, atol=1e-12) for u, v in zip(a, b))
    for (name, p), q in zip(time_major.named_parameters(), layer_major.parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=0, atol=1e-12), name


@pytest.mark.parametrize("cls,variant", CLASSES_AND_VARIANTS)
def test_dropout_acts_only_between_layers_and_only_in_training(cls, variant):
    x = torch.randn(STEPS, 3, INPUT, dtype=torch.float64)
    single = cls(INPUT, HIDDEN, num_layers=1, dropout=0.5, **cls.variants[variant]).double()
    assert torch.equal(single.train()(x)[0], single.eval()(x)[0])  # nothing after the last layer

    reference, model = make_pair(cls, variant, num_layers=2, dropout=0.5)
    torch.manual_seed(2)
    trained_out, trained_h = model.train()(x)
    eval_out, eval_h = model.eval()(x)
    assert not torch.allclose(trained_out, eval_out)
    assert torch.equal(trained_h[0], eval_h[0])  # the first layer sees no dropout
    reference.eval()
    assert_parity(reference, model, x, None)


@pytest.mark.parametrize("cls", (MyRNN, ConcatRNN))
@pytest.mark.parametrize("bad", [{"loop_order": "diagonal"}, {"backward": "numeric"},
                                 {"loop_order": "time", "backward": "manual"}])
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
def test_bptt_function_passes_gradcheck(nonlinearity, lengths, biases):
    torch.manual_seed(3)
    steps, batch, inputs, hidden = 4, 3, 2, 3
    x = torch.randn(steps, batch, inputs, dtype=torch.float64)
    if lengths is not None:
        x = x * (torch.arange(steps).unsqueeze(1) < lengths).unsqueeze(-1)
    args = [x, torch.randn(batch, hidden, dtype=torch.float64), torch.randn(hidden, inputs, dtype=torch.float64),
            torch.randn(hidden, hidden, dtype=torch.float64) * 0.7,
            None if biases == "none" else torch.randn(hidden, dtype=torch.float64),
            torch.randn(hidden, dtype=torch.float64) if biases == "both" else None]
    pre = pre_activations(*args, lengths, nonlinearity)
    assert pre.abs().min() > 1e-3  # finite differences (eps 1e-6) never straddle relu's kink
    assert (pre < 0).any() and (pre > 0).any()  # ... yet both of its branches are exercised
    args = [a if a is None else a.requires_grad_() for a in args]
    assert torch.autograd.gradcheck(lambda *a: RNNLayerBPTT.apply(*a, lengths, nonlinearity), args)


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
