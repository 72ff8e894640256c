"""What the diagnostics read from the LightningModule they observe, as typed protocols.

The diagnostics depend on this contract, not on `rnnlab.training.module.RNNModule`: any module that offers these
members can be observed (the tests check that RNNModule does).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from torch import Tensor, nn


@runtime_checkable
class ObservedRNN(Protocol):
    """The network: nn.RNN's attributes, and its weights in nn.RNN's layout (names `weight_hh_l{k}[_reverse]`...)."""

    num_layers: int
    hidden_size: int
    nonlinearity: str
    bias: bool
    bidirectional: bool
    num_directions: int

    def torch_state_dict(self) -> dict[str, Tensor]: ...


@runtime_checkable
class ObservedModule(Protocol):
    """The LightningModule: its network, the loss from a (possibly substituted) network output, its parameters.

    `loss_from_rnn_output(output, batch)` on the network's own output (B, T, D * H) is exactly the training loss,
    so a probe that re-runs the network step by step gets the training loss's gradients.
    """

    rnn: ObservedRNN
    readout: str  # the task's: "last" or "every_step" (rnnlab.tasks.base.scored_steps: which steps carry loss)

    def rnn_output(self, batch: dict[str, Tensor]) -> Tensor: ...

    def loss_from_rnn_output(self, output: Tensor, batch: dict[str, Tensor]) -> Tensor: ...

    def named_parameters(self) -> Iterator[tuple[str, nn.Parameter]]: ...

    def modules(self) -> Iterator[nn.Module]: ...


def observed(module: nn.Module) -> ObservedModule:
    """`module` as the diagnostics read it, or a TypeError naming the contract it does not offer.

    Lightning's hooks receive any LightningModule; a diagnostic narrows it here, once, instead of declaring a
    narrower hook signature than Lightning's (which mypy rightly calls an unsafe override).
    """
    if not isinstance(module, ObservedModule):
        raise TypeError(
            "the diagnostics observe a module with rnn, readout, rnn_output and loss_from_rnn_output "
            f"(rnnlab.diagnostics.observed.ObservedModule), got {type(module).__name__}"
        )
    return module
