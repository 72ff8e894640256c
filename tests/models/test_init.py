"""Initial weights: a function of (seed, scheme, scale) alone, drawn in nn.RNN's layout (`rnnlab.models.init`)."""

import pytest
import torch
from torch import nn

from rnnlab.models import TorchRNN
from rnnlab.models.init import SCHEMES, initial_state_dict, initialise


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
