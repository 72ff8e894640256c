"""Initial weights as a function of (seed, scheme, scale) alone, drawn in nn.RNN's parameter layout.

Every implementation loads the same dictionary, so a sweep over `model=` starts all of them from identical
weights: it compares implementations, not initialisation noise.

| scheme     | W_ih                     | W_hh                      | biases                 |
|------------|--------------------------|---------------------------|------------------------|
| normal     | scale * N(0, 1)          | scale * N(0, 1)           | 0  (the common randn * 0.01) |
| uniform    | U(-scale, scale)         | U(-scale, scale)          | 0                      |
| orthogonal | N(0, 1 / fan_in)         | scale * random orthogonal | 0                      |
| identity   | N(0, 1 / fan_in)         | scale * I (IRNN)          | 0                      |
| torch      | scale * U(-k, k)         | scale * U(-k, k)          | scale * U(-k, k), k = 1/sqrt(hidden) (nn.RNN's own) |
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rnnlab.models import naming
from rnnlab.vocabulary import INIT_SCHEMES as SCHEMES  # the schemes `initialise` knows


def _random_orthogonal(n: int, generator: torch.Generator) -> Tensor:
    q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r)).unsqueeze(0)  # sign fix: uniform (Haar) over orthogonal matrices


def _draw(kind: str, shape: tuple[int, ...], scheme: str, scale: float, hidden_size: int, g: torch.Generator):
    if scheme == "torch":
        k = 1.0 / math.sqrt(hidden_size)
        return scale * (torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * k
    if kind in naming.BIAS_KINDS:
        return torch.zeros(shape, dtype=torch.float64)
    if scheme == "normal":
        return scale * torch.randn(shape, generator=g, dtype=torch.float64)
    if scheme == "uniform":
        return scale * (torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1)
    if kind == "weight_ih":  # orthogonal and identity: a variance-preserving input projection
        return torch.randn(shape, generator=g, dtype=torch.float64) / math.sqrt(shape[1])
    if scheme == "orthogonal":
        return scale * _random_orthogonal(shape[0], g)
    return scale * torch.eye(shape[0], dtype=torch.float64)  # identity


def initial_state_dict(model, scheme: str = "torch", scale: float = 1.0, seed: int = 0) -> dict[str, Tensor]:
    """nn.RNN-layout initial weights for `model` (anything with nn.RNN's configuration attributes).

    The tensors are drawn in float64 on the CPU and cast to the model's dtype and device when loaded, so the
    same (seed, scheme, scale) gives the same weights everywhere.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"init: unknown scheme {scheme!r}; allowed: {', '.join(SCHEMES)}")
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not math.isfinite(scale) or scale < 0:
        raise ValueError(f"init_scale must be a finite number >= 0, got {scale!r}")
    g = torch.Generator().manual_seed(int(seed))
    state = {}
    for name in model.torch_parameter_names():
        kind, layer, _ = naming.parse(name)
        fan_in = model.layer_input_size(layer) if kind == "weight_ih" else model.hidden_size
        shape = (model.hidden_size, fan_in) if kind in naming.WEIGHT_KINDS else (model.hidden_size,)
        state[name] = _draw(kind, shape, scheme, float(scale), model.hidden_size, g)
    return state


def initialise(model, scheme: str = "torch", scale: float = 1.0, seed: int = 0) -> None:
    """Load `initial_state_dict(model, scheme, scale, seed)` into `model` (any rnnlab implementation)."""
    like = next(model.parameters())
    state = initial_state_dict(model, scheme, scale, seed)
    model.load_torch_state_dict({k: v.to(dtype=like.dtype, device=like.device) for k, v in state.items()})
