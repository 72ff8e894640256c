"""The recurrent matrices' spectra: whether repeated multiplication by W_hh shrinks or grows a signal."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor

from rnnlab.diagnostics.base import EveryNSteps, log_scalars
from rnnlab.diagnostics.observed import ObservedModule
from rnnlab.models import naming


def spectral_stats(weight_hh: Tensor) -> dict[str, float]:
    """Spectral radius (largest |eigenvalue|) and largest singular value of a square matrix, in float64.

    The radius governs the long-run growth of W^t; the largest singular value bounds one step's growth.
    """
    w = weight_hh.detach().to("cpu", torch.float64)
    return {"radius": torch.linalg.eigvals(w).abs().max().item(),
            "sigma_max": torch.linalg.matrix_norm(w, ord=2).item()}


class Spectrum(EveryNSteps):
    """Log `spectrum/layer{k}[_reverse]/radius` and `/sigma_max` of every W_hh, every `every_n_steps` steps.

    Read at the start of a training batch: the weights this step's gradient is computed at.
    """

    def __init__(self, every_n_steps: int = 50) -> None:
        super().__init__(every_n_steps)

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: ObservedModule, batch, batch_idx: int) -> None:
        if not self.due(trainer):
            return
        rnn = pl_module.rnn
        state = rnn.torch_state_dict()
        metrics = {}
        for k in range(rnn.num_layers):
            for suffix in naming.direction_suffixes(rnn.bidirectional):
                for name, value in spectral_stats(state[naming.name("weight_hh", k, suffix)]).items():
                    metrics[f"spectrum/layer{k}{suffix}/{name}"] = value
        log_scalars(trainer, metrics, trainer.global_step)
