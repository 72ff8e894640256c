"""The names and limits a run's configuration chooses among, in one place free of torch.

The models use them, and the configuration checks answer a bad value with them before torch is imported (a second
and a half of a configuration error's wait).
"""

from __future__ import annotations

import sys

NONLINEARITIES = ("tanh", "relu")  # nn.RNN's
INIT_SCHEMES = ("normal", "uniform", "orthogonal", "identity", "torch", "gaussian")  # rnnlab.models.init.SCHEMES
# init_input_scale (σ_in) applies to the schemes whose W_ih is N(0, σ_in²/fan_in); init_bias_scale (σ_b) to those
# that do not draw their own biases (torch draws nn.RNN's).
INPUT_SCALED_SCHEMES = ("orthogonal", "identity", "gaussian")
BIAS_SCALED_SCHEMES = ("normal", "uniform", "orthogonal", "identity", "gaussian")
# The Trainer's precision -> the dtype its weights live in and that dtype's largest finite value (mixed precisions
# keep float32 weights, so any other precision is float32 here).
FLOAT32_MAX = 3.4028234663852886e38  # torch.finfo(torch.float32).max
WEIGHT_DTYPES = {
    "32": ("float32", FLOAT32_MAX),
    "32-true": ("float32", FLOAT32_MAX),
    "64": ("float64", sys.float_info.max),
    "64-true": ("float64", sys.float_info.max),
    "16-true": ("float16", 65504.0),  # torch.finfo(torch.float16).max
    "bf16-true": ("bfloat16", 3.3895313892515355e38),  # torch.finfo(torch.bfloat16).max
}


def weight_dtype(precision: object) -> tuple[str, float]:
    """(name, largest finite value) of the dtype a run of Trainer precision `precision` keeps its weights in."""
    return WEIGHT_DTYPES.get(str(precision), WEIGHT_DTYPES["32"])
