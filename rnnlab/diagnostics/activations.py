"""Saturated tanh units and silent ReLU units: where a layer's derivative is (nearly) zero."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor

from rnnlab.diagnostics.base import EveryNSteps, log_scalars
from rnnlab.diagnostics.observed import observed
from rnnlab.diagnostics.probe import probe, valid_mask
from rnnlab.errors import invalid
from rnnlab.record import tags


def activation_stats(h: Tensor, mask: Tensor | None, nonlinearity: str, saturation: float = 0.99) -> dict[str, float]:
    """Fractions over the real (unpadded) steps of one layer's output h (B, T, units); mask (B, T) or None.

    tanh: `saturated_fraction`, the share of |h| > saturation (tanh' = 1 - h² is then < 0.02: no gradient passes).
    relu: `dead_fraction`, the share of h == 0 (relu' = 0), and `dead_units`, the share of units that are zero at
    every step of every sequence in the batch.
    """
    h = h.detach()
    valid = torch.ones(h.shape[:2], dtype=torch.bool, device=h.device) if mask is None else mask.to(h.device)
    real = h[valid]  # (steps, units)
    if nonlinearity == "tanh":
        return {"saturated_fraction": (real.abs() > saturation).double().mean().item()}
    zero = real == 0
    return {"dead_fraction": zero.double().mean().item(), "dead_units": zero.all(dim=0).double().mean().item()}


class Activations(EveryNSteps):
    """Log `activations/layer{k}/saturated_fraction` (tanh) or `/dead_fraction` and `/dead_units` (relu).

    Every `every_n_steps` steps, at the start of a training batch, from the layer-by-layer probe's forward pass
    on that batch (no dropout; padding ignored).
    """

    def __init__(self, every_n_steps: int = 50, saturation: float = 0.99) -> None:
        super().__init__(every_n_steps)
        if not 0 < saturation < 1:
            raise invalid("Activations.saturation", saturation, "a number in (0, 1)")
        self.saturation = saturation

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if not self.due(trainer):
            return
        module = observed(pl_module)
        result = probe(module, batch, with_grads=False)
        mask = valid_mask(result)
        metrics = {}
        for k, h in enumerate(result.outputs):
            for name, value in activation_stats(h, mask, module.rnn.nonlinearity, self.saturation).items():
                metrics[tags.activations(k, name)] = value
        log_scalars(trainer, metrics, trainer.global_step)
