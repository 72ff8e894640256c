"""Initial weights as a function of (seed, scheme, scales) alone, drawn in nn.RNN's parameter layout.

Every implementation loads the same dictionary, so a sweep over `model=` starts all of them from identical
weights: it compares implementations, not initialisation noise.

One table, `SCHEMES`, says how each scheme draws each kind of parameter; nothing else lists the schemes' rules.
s = init_scale, N = hidden_size, I = the layer's input size; σ_in = input_scale (null: the scheme's own input
weights), σ_b = bias_scale (0: zero biases; each of b_ih, b_hh gets N(0, σ_b²/2), so their sum is N(0, σ_b²)).

| scheme     | W_hh                          | W_ih                        | biases                      |
|------------|-------------------------------|-----------------------------|-----------------------------|
| gaussian   | N(0, s²/N)  (σ_w = s)         | N(0, σ_in²/I), σ_in = 1     | N(0, σ_b²) in sum           |
| normal     | s * N(0, 1) (σ_w = s·√N)      | s * N(0, 1)                 | N(0, σ_b²) in sum           |
| uniform    | U(-s, s)    (σ_w = s·√(N/3))  | U(-s, s)                    | N(0, σ_b²) in sum           |
| orthogonal | s * random orthogonal (gain s)| N(0, σ_in²/I), σ_in = 1     | N(0, σ_b²) in sum           |
| identity   | s * I (IRNN)                  | N(0, σ_in²/I), σ_in = 1     | N(0, σ_b²) in sum           |
| torch      | s * U(-k, k) (σ_w = s/√3)     | s * U(-k, k)                | s * U(-k, k), k = 1/√N      |

`gaussian` is the mean-field literature's convention (Poole et al. 2016; Chen, Pennington & Schoenholz 2018):
σ_w = 1 is the linear critical point at every width. `normal` stays the seeds' `randn * scale`. With the defaults
(input_scale null, bias_scale 0) every scheme draws exactly what it drew before these keys existed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnlab.models import naming
from rnnlab.vocabulary import BIAS_SCALED_SCHEMES, INIT_SCHEMES, INPUT_SCALED_SCHEMES

Draw = Callable[[tuple[int, ...], float, torch.Generator], Tensor]  # (shape, scale, generator) -> float64 tensor


def _normal(shape, std, g):
    return std * torch.randn(shape, generator=g, dtype=torch.float64)


def _uniform(shape, bound, g):
    return bound * (torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1)


def _random_orthogonal(n: int, generator: torch.Generator) -> Tensor:
    q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r)).unsqueeze(0)  # sign fix: uniform (Haar) over orthogonal matrices


def _fan_in_normal(shape, scale, g):
    """N(0, scale² / fan_in): the variance-preserving projection of the literature's convention."""
    return _normal(shape, scale / math.sqrt(shape[1]), g)


def _torch_uniform(shape, scale, g):
    return _uniform(shape, scale / math.sqrt(shape[0]), g)  # nn.RNN's k = 1/sqrt(hidden_size); shape[0] is it


@dataclass(frozen=True)
class Scheme:
    """How one scheme draws W_hh and W_ih from `init_scale` (s) and σ_in; `own_biases`: the scheme draws its own
    biases from s (nn.RNN's), so bias_scale does not apply. `input_from_scale`: W_ih is drawn from s, not σ_in."""

    recurrent: Draw
    input: Draw
    input_from_scale: bool = False
    own_biases: Draw | None = None


SCHEMES: dict[str, Scheme] = {
    "normal": Scheme(recurrent=_normal, input=_normal, input_from_scale=True),
    "uniform": Scheme(recurrent=_uniform, input=_uniform, input_from_scale=True),
    "orthogonal": Scheme(recurrent=lambda shape, s, g: s * _random_orthogonal(shape[0], g), input=_fan_in_normal),
    "identity": Scheme(
        recurrent=lambda shape, s, g: s * torch.eye(shape[0], dtype=torch.float64), input=_fan_in_normal
    ),
    "torch": Scheme(recurrent=_torch_uniform, input=_torch_uniform, input_from_scale=True, own_biases=_torch_uniform),
    "gaussian": Scheme(recurrent=_fan_in_normal, input=_fan_in_normal),
}
assert tuple(SCHEMES) == INIT_SCHEMES, "rnnlab.vocabulary.INIT_SCHEMES lists the schemes of this table, in order"
assert {n for n, s in SCHEMES.items() if not s.input_from_scale} == set(INPUT_SCALED_SCHEMES)
assert {n for n, s in SCHEMES.items() if s.own_biases is None} == set(BIAS_SCALED_SCHEMES)


def _check_scales(scheme: str, scale, input_scale, bias_scale) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"init: unknown scheme {scheme!r}; allowed: {', '.join(SCHEMES)}")
    for key, value in (("init_scale", scale), ("init_input_scale", input_scale), ("init_bias_scale", bias_scale)):
        if key == "init_input_scale" and value is None:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{key} must be a finite number >= 0, got {value!r}")
    if input_scale is not None and scheme not in INPUT_SCALED_SCHEMES:
        raise ValueError(
            f"init_input_scale: {input_scale!r} needs init one of {', '.join(INPUT_SCALED_SCHEMES)} "
            f"(init={scheme} draws W_ih from init_scale); null otherwise"
        )
    if bias_scale and scheme not in BIAS_SCALED_SCHEMES:
        raise ValueError(f"init_bias_scale: {bias_scale!r} needs init other than {scheme} (it draws its own biases); 0")


def initial_state_dict(
    model,
    scheme: str = "torch",
    scale: float = 1.0,
    seed: int = 0,
    input_scale: float | None = None,
    bias_scale: float = 0.0,
) -> dict[str, Tensor]:
    """nn.RNN-layout initial weights for `model` (anything with nn.RNN's configuration attributes).

    The tensors are drawn in float64 on the CPU and cast to the model's dtype and device when loaded, so the
    same (seed, scheme, scales) gives the same weights everywhere. Parameters are drawn in nn.RNN's name order
    from one generator; zero biases draw nothing, so the defaults reproduce the weights of earlier versions.
    """
    _check_scales(scheme, scale, input_scale, bias_scale)
    rule = SCHEMES[scheme]
    scale = float(scale)
    sigma_in = scale if rule.input_from_scale else (1.0 if input_scale is None else float(input_scale))
    g = torch.Generator().manual_seed(int(seed))
    state = {}
    for name in model.torch_parameter_names():
        kind, layer, _ = naming.parts(name)
        fan_in = model.layer_input_size(layer) if kind == "weight_ih" else model.hidden_size
        shape = (model.hidden_size, fan_in) if kind in naming.WEIGHT_KINDS else (model.hidden_size,)
        if kind == "weight_hh":
            state[name] = rule.recurrent(shape, scale, g)
        elif kind == "weight_ih":
            state[name] = rule.input(shape, sigma_in, g)
        elif rule.own_biases is not None:
            state[name] = rule.own_biases(shape, scale, g)
        elif bias_scale:
            state[name] = _normal(shape, float(bias_scale) / math.sqrt(2), g)
        else:
            state[name] = torch.zeros(shape, dtype=torch.float64)
    return state


def initialise(
    model,
    scheme: str = "torch",
    scale: float = 1.0,
    seed: int = 0,
    input_scale: float | None = None,
    bias_scale: float = 0.0,
) -> None:
    """Load `initial_state_dict(model, scheme, scale, seed, input_scale, bias_scale)` into `model`."""
    like = next(model.parameters())
    state = initial_state_dict(model, scheme, scale, seed, input_scale, bias_scale)
    model.load_torch_state_dict({k: v.to(dtype=like.dtype, device=like.device) for k, v in state.items()})
