"""What the mean-field theory predicts for one of the lab's configurations: the gradient profile over time at
initialisation, its total log10 ratio and per-step rate, and the critical σ_w (or orthogonal gain).

`setup_for` translates a run's (init, init_scale, init_input_scale, init_bias_scale, widths) into the literature's
(σ_w, σ_in, σ_b), or says why the configuration lies outside the theory. Numpy/scipy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp

from rnnlab.theory import meanfield

RECURRENT_KINDS = ("gaussian", "orthogonal")  # iid entries of variance σ_w²/N; σ_w times an orthogonal matrix


@dataclass(frozen=True)
class Setup:
    """The theory's parameters: σ_w (the std of √N·W_hh's entries, or the orthogonal gain), σ_in (√I times the
    std of W_ih's entries), σ_b (the std of b_ih + b_hh), φ, how W_hh is drawn, and a caveat to print with the
    line when the configuration meets the theory's assumptions only approximately (None: it meets them)."""

    sigma_w: float
    sigma_in: float
    sigma_b: float
    nonlinearity: str
    recurrent: str = "gaussian"
    caveat: str | None = None


@dataclass(frozen=True)
class Outside:
    """A configuration the theory does not cover, and why: shown instead of a line."""

    reason: str


def setup_for(
    init: str,
    init_scale: float,
    hidden_size: int,
    input_size: int,
    nonlinearity: str,
    init_input_scale: float | None = None,
    init_bias_scale: float = 0.0,
    bias: bool = True,
    num_layers: int = 1,
    bidirectional: bool = False,
) -> Setup | Outside:
    """The literature's parameters of a run's initial weights (rnnlab.models.init's table), or why there are none."""
    if num_layers != 1 or bidirectional:
        return Outside("the theory line covers one unidirectional layer (num_layers=1, bidirectional=false)")
    if nonlinearity not in meanfield.NONLINEARITIES:
        return Outside(f"no mean-field map for nonlinearity {nonlinearity!r}")
    s, n, i = float(init_scale), hidden_size, input_size
    sigma_in = 1.0 if init_input_scale is None else float(init_input_scale)
    sigma_b = float(init_bias_scale) if bias else 0.0
    iid = "iid uniform entries: Gaussian pre-activations only by the central limit theorem"
    if init == "gaussian":
        return Setup(s, sigma_in, sigma_b, nonlinearity)
    if init == "normal":  # W = s·N(0, 1): σ_w = s√N, and W_ih the same, so σ_in = s√I
        return Setup(s * math.sqrt(n), s * math.sqrt(i), sigma_b, nonlinearity)
    if init == "uniform":  # U(-s, s) has variance s²/3
        return Setup(s * math.sqrt(n / 3), s * math.sqrt(i / 3), sigma_b, nonlinearity, caveat=iid)
    if init == "torch":  # every parameter s·U(-k, k), k = 1/√N: variance s²/(3N); two biases
        b = s * math.sqrt(2 / (3 * n)) if bias else 0.0
        return Setup(s / math.sqrt(3), s * math.sqrt(i / (3 * n)), b, nonlinearity, caveat=iid)
    if init == "orthogonal":
        return Setup(s, sigma_in, sigma_b, nonlinearity, recurrent="orthogonal")
    if init == "identity":
        return Setup(
            s, sigma_in, sigma_b, nonlinearity, recurrent="orthogonal",
            caveat="identity W_hh: each unit sees its own past, so the steps' slopes are correlated (approximate)",
        )  # fmt: skip
    return Outside(f"no mean-field description of init={init!r}")


@dataclass(frozen=True)
class Prediction:
    """The predicted log10 ‖dL/dh_t‖ - log10 ‖dL/dh_{T-1}‖ at every step t, and the variances and χ behind it."""

    profile: np.ndarray  # (T,)
    q: np.ndarray  # (B, T) pre-activation variances
    chi: np.ndarray  # (B, T) per-step multipliers of ‖dL/dh‖²

    @property
    def log10_ratio(self) -> float:
        """Predicted log10 ‖dL/dh_0‖ / ‖dL/dh_{T-1}‖, the lab's `grad_h/layer0/log10_first_over_last`."""
        return float(self.profile[0])

    @property
    def log10_rate(self) -> float:
        """The mean per-step change of log10 ‖dL/dh_t‖ going back in time (< 0 vanishing, > 0 exploding)."""
        return self.log10_ratio / max(len(self.profile) - 1, 1)


def predict(mean_squares, setup: Setup, loss_steps=None) -> Prediction:
    """The predicted gradient profile for inputs of per-sequence, per-step mean squares `mean_squares` (B, T).

    `loss_steps` (B, T) marks the steps whose output the loss reads (None: the last step only, as the lab's
    `readout: last` tasks). Each sequence's ‖dL/dh_t‖² obeys g_{t-1} = d_{t-1} + χ_t g_t (d: 1 where the loss
    reads the step); the batch's norm is the root of the sum over sequences, as the lab's probe measures it.
    """
    m = np.atleast_2d(np.asarray(mean_squares, dtype=float))
    q = meanfield.variances(m, setup.sigma_w, setup.sigma_in, setup.sigma_b, setup.nonlinearity)
    chi = meanfield.chis(q, setup.sigma_w, setup.nonlinearity)
    steps = m.shape[-1]
    direct = np.zeros_like(m, dtype=bool)
    if loss_steps is None:
        direct[:, -1] = True
    else:
        direct = np.broadcast_to(np.asarray(loss_steps, dtype=bool), m.shape)
    with np.errstate(divide="ignore"):
        log_chi = np.log(chi)
        log_direct = np.where(direct, 0.0, -np.inf)
    log_g = np.empty_like(m)  # natural log of each sequence's ‖dL/dh_t‖²
    log_g[:, -1] = log_direct[:, -1]
    for t in range(steps - 1, 0, -1):
        log_g[:, t - 1] = np.logaddexp(log_direct[:, t - 1], log_chi[:, t] + log_g[:, t])
    total = logsumexp(log_g, axis=0) / (2 * math.log(10))  # log10 of the batch norm
    return Prediction(total - total[-1], q, chi)


def critical_sigma_w(mean_squares, setup: Setup, lo: float = 0.05, hi: float = 4.0, loss_steps=None) -> float:
    """The σ_w (or gain) at which the predicted total log10 ratio over these inputs is 0: the finite-time edge of
    chaos the lab's indicator sees (nan where no sign change lies in [lo, hi])."""
    return critical_scale(mean_squares, lambda sigma_w: replace(setup, sigma_w=sigma_w), lo, hi, loss_steps)


def critical_scale(mean_squares, setup_at: Callable[[float], Setup], lo: float, hi: float, loss_steps=None) -> float:
    """The value x in [lo, hi] at which `setup_at(x)`'s predicted total log10 ratio is 0 (nan: no sign change).

    With `setup_at` built from `setup_for(init, x, ...)` this is the critical `init_scale` of a scheme, its input
    weights moving with it where the scheme scales them together (normal, uniform, torch).
    """

    def ratio(x: float) -> float:
        return predict(mean_squares, setup_at(x), loss_steps).log10_ratio

    if not (ratio(lo) < 0 < ratio(hi)):
        return math.nan
    return float(brentq(ratio, lo, hi, xtol=1e-4 * lo))


def critical_line(sigma_bs, mean_square: float, nonlinearity: str, sigma_in: float = 1.0) -> np.ndarray:
    """σ_w with χ* = 1 at each σ_b, for a stationary input of mean square `mean_square` (the edge of chaos)."""

    def excess(sigma_w: float, sigma_b: float) -> float:
        return meanfield.chi_star(mean_square, sigma_w, sigma_b, nonlinearity, sigma_in) - 1.0

    return np.array([brentq(excess, 0.5, 6.0, args=(float(b),), xtol=1e-6) for b in np.atleast_1d(sigma_bs)])


def scale_for_sigma_w(init: str, sigma_w: float, hidden_size: int) -> float:
    """The init_scale of scheme `init` whose W_hh has the literature's σ_w (the inverse of setup_for's map)."""
    factor = {
        "gaussian": 1.0,
        "orthogonal": 1.0,
        "identity": 1.0,
        "normal": math.sqrt(hidden_size),
        "uniform": math.sqrt(hidden_size / 3),
        "torch": 1 / math.sqrt(3),
    }
    if init not in factor:
        raise ValueError(f"init: {init!r}; allowed: {', '.join(factor)}")
    return sigma_w / factor[init]
