"""The shared base: layouts, packing and init schemes, checked through the `torch` wrapper."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnnlab.init import SCHEMES, initial_state_dict, initialise
from rnnlab.models import TorchRNN
from rnnlab.models.sequences import reverse_padded


def test_reverse_padded_reverses_within_length_and_is_its_own_inverse():
    x = torch.arange(12.0).view(4, 3, 1)  # T=4, B=3
    lengths = torch.tensor([4, 2, 3])
    r = reverse_padded(x, lengths)
    assert r[:, 0, 0].tolist() == [9.0, 6.0, 3.0, 0.0]
    assert r[:, 1, 0].tolist() == [4.0, 1.0, 7.0, 10.0]  # padding (steps 2, 3) stays in place
    assert r[:, 2, 0].tolist() == [8.0, 5.0, 2.0, 11.0]
    assert torch.equal(reverse_padded(r, lengths), x)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_init_is_a_function_of_seed_scheme_and_scale(scheme):
    model = TorchRNN(3, 5, num_layers=2, bidirectional=True)
    a = initial_state_dict(model, scheme, 0.5, seed=7)
    b = initial_state_dict(model, scheme, 0.5, seed=7)
    c = initial_state_dict(model, scheme, 0.5, seed=8)
    assert list(a) == list(nn.RNN(3, 5, 2, bidirectional=True).state_dict())
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a if a[k].abs().sum() > 0)
    initialise(model, scheme, 0.5, seed=7)
    assert all(torch.equal(model.torch_state_dict()[k], a[k].float()) for k in a)


def test_init_scale_sets_the_recurrent_matrix():
    model = TorchRNN(2, 4)
    eye = initial_state_dict(model, "identity", 0.9, seed=0)["weight_hh_l0"]
    assert torch.equal(eye, 0.9 * torch.eye(4, dtype=torch.float64))
    q = initial_state_dict(model, "orthogonal", 2.0, seed=0)["weight_hh_l0"]
    assert torch.allclose(q @ q.T, 4.0 * torch.eye(4, dtype=torch.float64), atol=1e-12)
    normal = initial_state_dict(model, "normal", 0.01, seed=0)
    assert normal["bias_ih_l0"].abs().sum() == 0 and 0 < normal["weight_hh_l0"].abs().max() < 0.1


@pytest.mark.parametrize("bad", [("bogus", 1.0), ("normal", -0.1), ("normal", float("nan"))])
def test_init_refuses_unknown_scheme_and_bad_scale(bad):
    with pytest.raises(ValueError, match="init"):
        initial_state_dict(TorchRNN(2, 4), *bad)


def test_torch_wrapper_forward_padded_matches_packed_nn_rnn():
    torch.manual_seed(0)
    model = TorchRNN(3, 4, num_layers=2, bidirectional=True).double()
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    lengths = torch.tensor([3, 5, 2])
    x = x * (torch.arange(5).unsqueeze(1) < lengths).unsqueeze(-1)
    out, h = model.forward_padded(x, torch.zeros(4, 3, 4, dtype=torch.float64), lengths)
    ref_out, ref_h = model.rnn(pack_padded_sequence(x, lengths, enforce_sorted=False))
    assert torch.allclose(h, ref_h, atol=1e-12)
    assert out[3:, 0].abs().sum() == 0 and out[2:, 2].abs().sum() == 0
