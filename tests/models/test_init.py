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


def test_every_scheme_of_the_table_draws_its_own_weights():
    """No two schemes of the one table give the same recurrent or input weights for the same seed and scale."""
    model = TorchRNN(3, 16)
    drawn = {s: initial_state_dict(model, s, 0.9, seed=4) for s in SCHEMES}
    for kind in ("weight_hh_l0", "weight_ih_l0"):
        for a in SCHEMES:
            for b in SCHEMES:
                if a < b and not (kind == "weight_ih_l0" and {a, b} <= {"orthogonal", "identity", "gaussian"}):
                    assert not torch.allclose(drawn[a][kind], drawn[b][kind]), (kind, a, b)
    # the fan-in schemes share their input projection N(0, 1/I) only by design, and differ once σ_in does
    ih = initial_state_dict(model, "gaussian", 0.9, seed=4, input_scale=2.0)["weight_ih_l0"]
    assert torch.allclose(ih, 2.0 * drawn["gaussian"]["weight_ih_l0"])


def test_gaussian_is_the_literatures_convention():
    """W_hh ~ N(0, σ_w²/N), W_ih ~ N(0, σ_in²/I), b_ih + b_hh ~ N(0, σ_b²): the empirical variances at N = 400."""
    n, i = 400, 50
    state = initial_state_dict(TorchRNN(i, n), "gaussian", 1.5, seed=1, input_scale=0.5, bias_scale=0.3)
    assert state["weight_hh_l0"].var().item() * n == pytest.approx(1.5**2, rel=0.02)
    assert state["weight_ih_l0"].var().item() * i == pytest.approx(0.5**2, rel=0.03)
    bias = state["bias_ih_l0"] + state["bias_hh_l0"]
    assert bias.var().item() == pytest.approx(0.3**2, rel=0.2)
    assert state["weight_hh_l0"].mean().abs() < 0.01


@pytest.mark.parametrize("scheme", ["normal", "uniform", "orthogonal", "identity", "gaussian"])
def test_bias_scale_draws_biases_and_zero_draws_none(scheme):
    model = TorchRNN(2, 64, num_layers=2)
    plain = initial_state_dict(model, scheme, 0.5, seed=2)
    biased = initial_state_dict(model, scheme, 0.5, seed=2, bias_scale=0.4)
    assert all(plain[k].abs().sum() == 0 for k in plain if k.startswith("bias"))
    total = biased["bias_ih_l0"] + biased["bias_hh_l0"]
    assert 0.25 < total.std().item() < 0.55
    assert torch.equal(plain["weight_hh_l0"], biased["weight_hh_l0"])  # layer 0's weights come before its biases


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"scheme": "normal", "input_scale": 1.0}, "init_input_scale"),
        ({"scheme": "torch", "input_scale": 2.0}, "init_input_scale"),
        ({"scheme": "torch", "bias_scale": 0.1}, "init_bias_scale"),
        ({"scheme": "gaussian", "bias_scale": -1.0}, "init_bias_scale"),
        ({"scheme": "gaussian", "input_scale": float("inf")}, "init_input_scale"),
    ],
)
def test_scales_refused_where_a_scheme_does_not_use_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        initial_state_dict(TorchRNN(2, 4), **{"scale": 1.0, **kwargs})
