"""concat's own parameterisation: [W_ih | W_hh] and b = b_ih + b_hh, translated to and from nn.RNN's layout.

Its parity with nn.RNN over the configuration grid is proven with myrnn's in tests/test_myrnn.py.
"""

import pytest
import torch
from torch import nn

from rnnlab.models import ConcatRNN


def test_one_weight_and_one_bias_per_layer_and_direction():
    model = ConcatRNN(3, 4, num_layers=2, bidirectional=True)
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes == {
        "weight_l0": (4, 3 + 4),
        "bias_l0": (4,),
        "weight_l0_reverse": (4, 3 + 4),
        "bias_l0_reverse": (4,),
        "weight_l1": (4, 8 + 4),
        "bias_l1": (4,),
        "weight_l1_reverse": (4, 8 + 4),
        "bias_l1_reverse": (4,),
    }
    assert [name for name, _ in ConcatRNN(3, 4, bias=False).named_parameters()] == ["weight_l0"]


def test_loading_concatenates_weights_and_sums_biases():
    reference = nn.RNN(3, 4, num_layers=2).double()
    model = ConcatRNN(3, 4, num_layers=2).double()
    model.load_torch_state_dict(reference.state_dict())
    assert torch.equal(model.weight_l1, torch.cat([reference.weight_ih_l1, reference.weight_hh_l1], 1).detach())
    assert torch.equal(model.bias_l0, (reference.bias_ih_l0 + reference.bias_hh_l0).detach())


@pytest.mark.parametrize("bias", (True, False))
@pytest.mark.parametrize("bidirectional", (False, True))
def test_state_dict_round_trip_keeps_the_function(bias, bidirectional):
    torch.manual_seed(0)
    original = nn.RNN(3, 4, num_layers=2, bias=bias, bidirectional=bidirectional).double()
    model = ConcatRNN(3, 4, num_layers=2, bias=bias, bidirectional=bidirectional).double()
    model.load_torch_state_dict(original.state_dict())
    exported = model.torch_state_dict()
    assert list(exported) == list(original.state_dict())
    if bias:
        assert torch.equal(exported["bias_ih_l1"], (original.bias_ih_l1 + original.bias_hh_l1).detach())
        assert exported["bias_hh_l1"].abs().sum() == 0
    copy = nn.RNN(3, 4, num_layers=2, bias=bias, bidirectional=bidirectional).double()
    copy.load_state_dict(exported)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    (out, h), (ref_out, ref_h) = copy(x), original(x)
    assert torch.allclose(out, ref_out, rtol=0, atol=1e-12) and torch.allclose(h, ref_h, rtol=0, atol=1e-12)
    again = ConcatRNN(3, 4, num_layers=2, bias=bias, bidirectional=bidirectional).double()
    again.load_torch_state_dict(exported)
    assert all(torch.equal(a, b) for a, b in zip(again.parameters(), model.parameters()))


def test_gradients_in_nn_rnn_layout_follow_the_chain_rule():
    model = ConcatRNN(3, 4).double()
    model(torch.randn(5, 2, 3, dtype=torch.float64))[0].sum().backward()
    grads = model.torch_grad_dict()
    assert torch.equal(torch.cat([grads["weight_ih_l0"], grads["weight_hh_l0"]], 1), model.weight_l0.grad)
    assert torch.equal(grads["bias_ih_l0"], model.bias_l0.grad) and torch.equal(grads["bias_hh_l0"], model.bias_l0.grad)
    model.zero_grad(set_to_none=True)
    assert all(g is None for g in model.torch_grad_dict().values())


def test_loading_a_mismatched_state_dict_names_the_keys():
    with pytest.raises(RuntimeError, match="missing.*weight_ih_l1"):
        ConcatRNN(3, 4, num_layers=2).load_torch_state_dict(nn.RNN(3, 4).state_dict())
