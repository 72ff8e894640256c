"""nn.RNN's parameter names, built in this one place (as nn.RNN builds `_flat_weights_names`); the rest reads them.

A name is `{kind}_l{layer}{suffix}`: kind `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh` (concat's own layout uses
`weight` and `bias` in the same pattern), layer k, suffix `""` (forward) or `"_reverse"`.
"""

from __future__ import annotations

import re
from typing import NamedTuple

REVERSE = "_reverse"
SUFFIXES = ("", REVERSE)  # forward, reverse
WEIGHT_KINDS = ("weight_ih", "weight_hh")
BIAS_KINDS = ("bias_ih", "bias_hh")
_NAME = re.compile(r"^(?P<kind>[a-z_]+?)_l(?P<layer>\d+)(?P<suffix>_reverse)?$")


class ParameterName(NamedTuple):
    kind: str
    layer: int
    suffix: str

    def __str__(self) -> str:
        return f"{self.kind}_l{self.layer}{self.suffix}"


def direction_suffixes(bidirectional) -> tuple[str, ...]:
    """The name suffix of each direction: ("",) or ("", "_reverse"), in nn.RNN's order."""
    return SUFFIXES[: 2 if bidirectional else 1]


def kinds(bias: bool) -> tuple[str, ...]:
    return WEIGHT_KINDS + BIAS_KINDS if bias else WEIGHT_KINDS


def name(kind: str, layer: int, suffix: str = "") -> str:
    return str(ParameterName(kind, layer, suffix))


def all_weights_names(num_layers: int, bidirectional, bias: bool, kinds_: tuple[str, ...] | None = None) -> list:
    """One list of names per layer and direction, as nn.RNN's `_all_weights` (layer, then direction)."""
    kinds_ = kinds(bias) if kinds_ is None else kinds_
    return [
        [name(kind, layer, suffix) for kind in kinds_]
        for layer in range(num_layers)
        for suffix in direction_suffixes(bidirectional)
    ]


def parameter_names(num_layers: int, bidirectional, bias: bool) -> list[str]:
    """nn.RNN's parameter (and state-dict) names in its order: layer, direction, then W_ih, W_hh, b_ih, b_hh."""
    return [n for names in all_weights_names(num_layers, bidirectional, bias) for n in names]


def parse(text: str) -> ParameterName | None:
    """(kind, layer, suffix) of a parameter name, or None when `text` is not one."""
    match = _NAME.match(text)
    if match is None:
        return None
    return ParameterName(match["kind"], int(match["layer"]), match["suffix"] or "")


def parts(text: str) -> ParameterName:
    """(kind, layer, suffix) of a name the lab built (`parameter_names`, `all_weights_names`); a ValueError naming
    `text` if it is not a parameter name, rather than a None that fails later."""
    parsed = parse(text)
    if parsed is None:
        raise ValueError(f"not a parameter name {{kind}}_l{{layer}}[_reverse]: {text!r}")
    return parsed


def is_torch_parameter_name(text: str) -> bool:
    """Whether `text` is one of nn.RNN's parameter names (any layer and direction)."""
    parsed = parse(text)
    return parsed is not None and parsed.kind in WEIGHT_KINDS + BIAS_KINDS


def rename(text: str, layer: int, suffix: str) -> str:
    """The same kind of parameter at another layer and direction (`weight_hh_l0` -> `weight_hh_l2_reverse`)."""
    return name(parts(text).kind, layer, suffix)
