"""Mean-field theory beside the lab's measurements: numpy and scipy only, no torch, no Lightning.

`meanfield`: the variance map and χ for tanh and relu; `predict`: a configuration's predicted gradient profile and
critical point. `python -m rnnlab.theory OVERRIDES` measures a configuration's profile and prints both.
"""

from rnnlab.theory.meanfield import chi_star, depth_scale, fixed_point
from rnnlab.theory.predict import (
    Outside,
    Prediction,
    Setup,
    critical_line,
    critical_scale,
    critical_sigma_w,
    predict,
    scale_for_sigma_w,
    setup_for,
)

__all__ = [
    "Outside",
    "Prediction",
    "Setup",
    "chi_star",
    "critical_line",
    "critical_scale",
    "critical_sigma_w",
    "depth_scale",
    "fixed_point",
    "predict",
    "scale_for_sigma_w",
    "setup_for",
]
