"""The mean-field theory of a vanilla RNN at initialisation: the pre-activations' variance map and the per-step
gradient multiplier χ_t (Poole et al. 2016; Chen, Pennington & Schoenholz 2018).

With W_hh of entries N(0, σ_w²/N) (or a scaled orthogonal matrix of gain σ_w), W_ih of entries N(0, σ_in²/I) and
biases N(0, σ_b²), a unit's pre-activation a_t = W_hh h_{t-1} + W_ih x_t + b is, over units, N(0, q_t) with

    q_t = σ_w² E[φ(√q_{t-1} z)²] + σ_in² m_t + σ_b²,      m_t = mean_j x_{t,j}²,  h_{-1} = 0,

and backpropagation through one step multiplies ‖dL/dh‖² by

    χ_t = σ_w² E[φ'(√q_t z)²],     so  log10 ‖dL/dh_{t-1}‖ - log10 ‖dL/dh_t‖ ≈ ½ log10 χ_t.

Numpy and scipy only: the lab's diagnostics, reports and command import it without torch. Expectations over z ~ N(0, 1)
are composite Simpson sums on a fixed grid of z in [-10, 10] (the Gaussian's mass outside is below 1e-22), exact
for relu (E[relu(a)²] = q/2, E[relu'(a)²] = 1/2).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

NONLINEARITIES = ("tanh", "relu")

_Z = np.linspace(-10.0, 10.0, 2001)
_SIMPSON = np.ones_like(_Z)
_SIMPSON[1:-1:2], _SIMPSON[2:-1:2] = 4.0, 2.0
_WEIGHTS = _SIMPSON * (_Z[1] - _Z[0]) / 3.0 * np.exp(-0.5 * _Z**2) / math.sqrt(2 * math.pi)


def _check(nonlinearity: str) -> None:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity: {nonlinearity!r}; allowed: {', '.join(NONLINEARITIES)}")


def _gauss(f, q: np.ndarray) -> np.ndarray:
    """E[f(√q z)] for every entry of q (any shape)."""
    q = np.asarray(q, dtype=float)
    a = np.sqrt(np.maximum(q, 0.0))[..., None] * _Z
    return f(a) @ _WEIGHTS


def mean_square_activation(q, nonlinearity: str) -> np.ndarray:
    """E[φ(a)²] for a ~ N(0, q): the mean square of the state the next step reads."""
    _check(nonlinearity)
    if nonlinearity == "relu":
        return 0.5 * np.asarray(q, dtype=float)
    return _gauss(lambda a: np.tanh(a) ** 2, q)


def mean_square_slope(q, nonlinearity: str) -> np.ndarray:
    """E[φ'(a)²] for a ~ N(0, q): the fraction of a gradient's square one step of φ lets through."""
    _check(nonlinearity)
    if nonlinearity == "relu":
        return np.full(np.shape(q), 0.5)
    return _gauss(lambda a: np.cosh(a) ** -4, q)


def variances(mean_squares, sigma_w: float, sigma_in: float, sigma_b: float, nonlinearity: str) -> np.ndarray:
    """q_t for every sequence and step, from the inputs' mean squares m (..., T) (mean over features of x_t²).

    Each sequence keeps its own trajectory: the inputs of a task differ between sequences (the adding task's
    markers), and a unit's pre-activation is Gaussian over units for one sequence, not over the batch.
    """
    m = np.asarray(mean_squares, dtype=float)
    q = np.empty_like(m)
    previous = np.zeros(m.shape[:-1])  # E[φ(a_{-1})²] with h_{-1} = 0
    for t in range(m.shape[-1]):
        q[..., t] = sigma_w**2 * previous + sigma_in**2 * m[..., t] + sigma_b**2
        previous = mean_square_activation(q[..., t], nonlinearity)
    return q


def chis(q, sigma_w: float, nonlinearity: str) -> np.ndarray:
    """χ_t = σ_w² E[φ'(a_t)²]: the factor one step back in time multiplies ‖dL/dh‖² by."""
    return sigma_w**2 * mean_square_slope(q, nonlinearity)


def fixed_point(mean_square: float, sigma_w: float, sigma_b: float, nonlinearity: str, sigma_in: float = 1.0) -> float:
    """q* of a stationary input of mean square m (inf where the variance grows without bound: relu past √2)."""
    drive = sigma_in**2 * mean_square + sigma_b**2
    if nonlinearity == "relu":
        gain = sigma_w**2 / 2
        return drive / (1 - gain) if gain < 1 else (0.0 if drive == 0 and gain == 1 else math.inf)
    _check(nonlinearity)
    if drive == 0 and sigma_w <= 1:
        return 0.0  # the only fixed point (tanh(a)² < a²), which iteration reaches only like 1/t at σ_w = 1
    upper = drive + sigma_w**2  # tanh² < 1: the map lies below q there, and above it at q -> 0+

    def excess(q: float) -> float:
        return float(sigma_w**2 * mean_square_activation(q, "tanh")) + drive - q

    lower = 0.0 if drive > 0 else 1e-15
    if excess(lower) <= 0:
        return 0.0
    return float(brentq(excess, lower, upper, xtol=1e-15, rtol=1e-12))


def chi_star(mean_square: float, sigma_w: float, sigma_b: float, nonlinearity: str, sigma_in: float = 1.0) -> float:
    """χ at the variance's fixed point: < 1 ordered (gradients vanish), > 1 chaotic (they explode), = 1 critical."""
    if nonlinearity == "relu":
        return sigma_w**2 / 2
    q = fixed_point(mean_square, sigma_w, sigma_b, nonlinearity, sigma_in)
    return float(chis(q, sigma_w, nonlinearity))


def depth_scale(chi: float) -> float:
    """ξ = -1 / ln χ*: the number of steps over which a gradient changes by a factor e (inf at criticality)."""
    return math.inf if chi == 1 else -1.0 / math.log(chi)
