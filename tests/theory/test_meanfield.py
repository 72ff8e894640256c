"""The mean-field map itself: its expectations, fixed points, critical points and gradient profile, against closed
forms and an independent integration (scipy.integrate.quad)."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from rnnlab.theory import Setup, chi_star, critical_line, critical_sigma_w, depth_scale, fixed_point, predict
from rnnlab.theory import meanfield as mf


def _quad(f, q):
    return quad(lambda z: f(math.sqrt(q) * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), -12, 12, limit=400)[0]


@pytest.mark.parametrize("q", [1e-4, 0.3, 1.0, 7.0, 60.0])
def test_tanh_expectations_match_an_independent_integration(q):
    assert mf.mean_square_activation(q, "tanh") == pytest.approx(_quad(lambda a: math.tanh(a) ** 2, q), abs=1e-9)
    assert mf.mean_square_slope(q, "tanh") == pytest.approx(_quad(lambda a: math.cosh(a) ** -4, q), abs=1e-9)


def test_relu_has_closed_forms_and_a_constant_chi():
    q = np.array([0.1, 2.0, 50.0])
    assert np.allclose(mf.mean_square_activation(q, "relu"), q / 2)
    assert np.allclose(mf.chis(q, 1.3, "relu"), 1.3**2 / 2)
    assert chi_star(0.4, math.sqrt(2), 0.3, "relu") == pytest.approx(1.0)


def test_variance_map_recursion_by_hand():
    m = np.array([[1.0, 0.0, 4.0]])
    q = mf.variances(m, sigma_w=1.5, sigma_in=0.5, sigma_b=0.2, nonlinearity="relu")
    q0 = 0.25 * 1 + 0.04
    q1 = 1.5**2 * q0 / 2 + 0.04
    q2 = 1.5**2 * q1 / 2 + 0.25 * 4 + 0.04
    assert np.allclose(q, [[q0, q1, q2]])


def test_tanh_fixed_point_and_criticality():
    assert fixed_point(0.0, 0.8, 0.0, "tanh") == 0.0  # ordered, no drive: the state dies out
    assert chi_star(0.0, 0.8, 0.0, "tanh") == pytest.approx(0.64)
    q = fixed_point(0.5, 1.3, 0.2, "tanh")
    assert q == pytest.approx(1.3**2 * _quad(lambda a: math.tanh(a) ** 2, q) + 0.5 + 0.04, rel=1e-8)
    line = critical_line([0.0, 0.3], 0.0, "tanh")
    assert line[0] == pytest.approx(1.0, abs=1e-4)  # the linear critical point of the literature's convention
    assert line[1] > 1.1  # a bias pushes the edge of chaos to larger σ_w (Poole et al. 2016, Fig. 3)
    assert chi_star(0.0, line[1], 0.3, "tanh") == pytest.approx(1.0, abs=1e-6)


def test_profile_of_a_constant_chi_is_a_straight_line():
    setup = Setup(1.2, 1.0, 0.0, "relu")
    p = predict(np.full((3, 11), 0.5), setup)
    expected = 0.5 * math.log10(1.2**2 / 2) * np.arange(10, -1, -1)
    assert np.allclose(p.profile, expected) and p.log10_ratio == pytest.approx(expected[0])
    assert p.log10_rate == pytest.approx(0.5 * math.log10(0.72))


def test_every_step_losses_add_their_direct_terms():
    """g_{t-1} = d_{t-1} + χ g_t: with χ = 1/2 and a loss at every step, g_0 = 1 + 1/2 + 1/4 + ... over T terms."""
    setup = Setup(1.0, 1.0, 0.0, "relu")
    p = predict(np.ones((1, 4)), setup, loss_steps=np.ones((1, 4), bool))
    assert p.profile[0] == pytest.approx(0.5 * math.log10(1 + 0.5 + 0.25 + 0.125))


def test_critical_sigma_w_solves_the_finite_time_ratio():
    m = np.full((2, 40), 0.3)
    relu = critical_sigma_w(m, Setup(1.0, 1.0, 0.0, "relu"))
    assert relu == pytest.approx(math.sqrt(2), abs=2e-4)
    tanh = critical_sigma_w(m, Setup(1.0, 1.0, 0.0, "tanh", "orthogonal"))
    assert abs(predict(m, Setup(tanh, 1.0, 0.0, "tanh")).log10_ratio) < 1e-3 and tanh > 1.0
    assert math.isnan(critical_sigma_w(m, Setup(1.0, 1.0, 0.0, "relu"), lo=2.0, hi=3.0))


def test_depth_scale():
    assert depth_scale(math.exp(-0.1)) == pytest.approx(10.0)
    assert depth_scale(1.0) == math.inf
