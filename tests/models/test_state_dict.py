"""Weights travel between every implementation and nn.RNN, and every implementation starts from the same weights."""

import pytest
import torch
from torch import nn

from rnnlab.models import IMPLEMENTATIONS, TorchRNN
from rnnlab.models.init import SCHEMES, initial_state_dict, initialise

CASES = [(name, variant) for name, cls in IMPLEMENTATIONS.items() for variant in cls.variants]
LAYOUTS = [dict(num_layers=1), dict(num_layers=2, bidirectional=True), dict(num_layers=3, bias=False)]


def build(name, variant, **arguments):
    impl_cls = IMPLEMENTATIONS[name]
    return impl_cls(3, 4, **arguments, **impl_cls.variants[variant]).double()


def assert_same_function(state, reference, arguments):
    """`state` loaded into a fresh nn.RNN computes what `reference` computes."""
    fresh = nn.RNN(3, 4, **arguments).double()
    fresh.load_state_dict(state)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    h0 = torch.randn(fresh.num_layers * (2 if fresh.bidirectional else 1), 2, 4, dtype=torch.float64)
    for got, want in zip(fresh(x, h0), reference(x, h0)):
        assert torch.allclose(got, want, rtol=0, atol=1e-12)


def assert_same_tensors_or_summed_bias(state, expected):
    """nn.RNN's names in nn.RNN's order; weights identical; biases identical, or (concat's one bias, design.md §1)
    their sum in bias_ih and zeros in bias_hh."""
    assert list(state) == list(expected)
    for name, value in state.items():
        if name.startswith("weight"):
            assert torch.equal(value, expected[name].to(value.dtype)), name
    for name in (n for n in state if n.startswith("bias_ih")):
        pair = name.replace("bias_ih", "bias_hh")
        got = (state[name], state[pair])
        want = (expected[name].to(got[0].dtype), expected[pair].to(got[0].dtype))
        same = torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
        summed = torch.allclose(got[0], want[0] + want[1], rtol=0, atol=1e-15) and not got[1].any()
        assert same or summed, name


@pytest.mark.parametrize("arguments", LAYOUTS, ids=str)
@pytest.mark.parametrize(("name", "variant"), CASES)
def test_round_trip_with_nn_rnn(name, variant, arguments):
    torch.manual_seed(0)
    reference = nn.RNN(3, 4, **arguments).double()
    model = build(name, variant, **arguments)
    model.load_torch_state_dict(reference.state_dict())
    exported = model.torch_state_dict()
    assert_same_tensors_or_summed_bias(exported, reference.state_dict())
    assert_same_function(exported, reference, arguments)
    # and back again: the exported weights load into a fresh instance, which exports the same
    again = build(name, variant, **arguments)
    again.load_torch_state_dict(exported)
    assert all(torch.equal(again.torch_state_dict()[k], v) for k, v in exported.items())


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_a_state_dict_missing_a_key_is_refused_naming_it(name, variant):
    state = nn.RNN(3, 4, num_layers=2).double().state_dict()
    del state["weight_hh_l1"]
    with pytest.raises((RuntimeError, KeyError), match="weight_hh_l1"):
        build(name, variant, num_layers=2).load_torch_state_dict(state)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize(("name", "variant"), CASES)
def test_every_implementation_starts_from_the_same_weights(name, variant, scheme):
    arguments = dict(num_layers=2, bidirectional=True)
    reference = TorchRNN(3, 4, **arguments).double()
    initialise(reference, scheme, 0.7, seed=3)
    model = build(name, variant, **arguments)
    initialise(model, scheme, 0.7, seed=3)
    drawn = initial_state_dict(model, scheme, 0.7, seed=3)
    assert_same_tensors_or_summed_bias(model.torch_state_dict(), drawn)
    assert_same_function(model.torch_state_dict(), reference, arguments)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    for got, want in zip(model(x), reference(x)):
        assert torch.allclose(got, want, rtol=0, atol=1e-12)
