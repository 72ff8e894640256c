"""The pieces every conformance row is made of: the small network compared, its input, an outcome, a row (`Item`).

Their own module, so that the surface audit (surface.py) and the rows on the tools around nn.RNN (tools.py) both
read them, neither through the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from rnnlab.models.base import LabRNN

INPUT, HIDDEN, STEPS, BATCH = 3, 4, 5, 2
BASE: dict[str, Any] = dict(input_size=INPUT, hidden_size=HIDDEN, num_layers=2, bidirectional=True, dtype=torch.float64)


class Outcome(NamedTuple):
    verdict: str  # "same", "differs" (documented, checked) or "FAIL"
    detail: str = ""


@dataclass(frozen=True)
class Item:
    name: str
    section: str
    check: Callable[[type[LabRNN], dict], str | None]


def pair(impl_cls: type[LabRNN], kwargs: dict, **arguments) -> tuple[nn.RNN, LabRNN]:
    """nn.RNN and the implementation built with the same arguments, the implementation holding nn.RNN's weights."""
    arguments = BASE | arguments
    torch.manual_seed(0)
    reference = nn.RNN(**arguments)
    model = impl_cls(**arguments, **kwargs)
    model.load_torch_state_dict(reference.state_dict())
    return reference, model


def given(what: str, tensor: Tensor | None) -> Tensor:
    """`tensor`, or an AssertionError naming `what` never arrived (a gradient None after backward)."""
    if tensor is None:
        raise AssertionError(f"{what}: None (no gradient reached it)")
    return tensor


def weight(network: nn.Module, name: str) -> Tensor:
    """The weight `name` as a forward reads it (a Parameter, or a parametrization's value); nn.Module types any
    attribute `Tensor | Module`."""
    value = getattr(network, name)
    if not isinstance(value, Tensor):
        raise AssertionError(f"{type(network).__name__}.{name} is a {type(value).__name__}, not a tensor")
    return value


def reference_input(reference: nn.RNN, dtype=None, batch_first=None) -> Tensor:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(STEPS, BATCH, reference.input_size, generator=generator, dtype=torch.float64)
    x = x.transpose(0, 1) if (reference.batch_first if batch_first is None else batch_first) else x
    return x.to(dtype or weight(reference, "weight_ih_l0").dtype)


def assert_same_function(reference: nn.Module, model: nn.Module, x: Tensor | None = None, atol=1e-10) -> None:
    if x is None:
        if not isinstance(reference, nn.RNN):
            raise TypeError(
                f"no input given: it is drawn for an nn.RNN's configuration, not a {type(reference).__name__}"
            )
        x = reference_input(reference)
    for what, got, want in zip(("output", "h_n"), model(x), reference(x)):
        if got.dtype != want.dtype or got.shape != want.shape:
            raise AssertionError(f"{what}: {got.dtype} {list(got.shape)}, nn.RNN's {want.dtype} {list(want.shape)}")
        error = (got.double() - want.double()).abs().max().item()
        if not error <= atol:
            raise AssertionError(f"{what} differs from nn.RNN's by {error:.1e}")


def outcome_of(action: Callable) -> tuple[type | None, str]:
    try:
        action()
    except Exception as error:  # the exception itself is what is compared
        return type(error), str(error)
    return None, ""
