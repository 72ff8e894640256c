"""The recurrent matrices' spectra: whether repeated multiplication by W_hh shrinks or grows a signal."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor

from rnnlab.diagnostics.base import EveryNSteps, check_image_schedule, log_scalars, summary_writer
from rnnlab.diagnostics.observed import observed
from rnnlab.models import naming
from rnnlab.record import tags


def spectral_stats(weight_hh: Tensor) -> dict[str, float]:
    """Spectral radius (largest |eigenvalue|) and largest singular value of a square matrix, in float64.

    The radius governs the long-run growth of W^t; the largest singular value bounds one step's growth.
    """
    w = weight_hh.detach().to("cpu", torch.float64)
    return {
        "radius": torch.linalg.eigvals(w).abs().max().item(),
        "sigma_max": torch.linalg.matrix_norm(w, ord=2).item(),
    }


class Spectrum(EveryNSteps):
    """Log `spectrum/layer{k}[_reverse]/radius` and `/sigma_max` of every W_hh, every `every_n_steps` steps, and
    every `image_every_n_steps` (0: never) their eigenvalues in the complex plane as the image
    `spectrum/eigenvalues`.

    Read at the start of a training batch: the weights this step's gradient is computed at.
    """

    def __init__(self, every_n_steps: int = 50, image_every_n_steps: int = 100) -> None:
        super().__init__(every_n_steps)
        check_image_schedule("Spectrum", every_n_steps, image_every_n_steps)
        self.image_every_n_steps = image_every_n_steps

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if not self.due(trainer):
            return
        rnn = observed(pl_module).rnn
        state = rnn.torch_state_dict()
        metrics, matrices = {}, {}
        for k in range(rnn.num_layers):
            for suffix in naming.direction_suffixes(rnn.bidirectional):
                matrices[f"layer{k}{suffix}"] = state[naming.name("weight_hh", k, suffix)]
                for name, value in spectral_stats(matrices[f"layer{k}{suffix}"]).items():
                    metrics[tags.spectrum(f"layer{k}{suffix}", name)] = value
        step = trainer.global_step
        log_scalars(trainer, metrics, step)
        writer = summary_writer(trainer)
        if self.image_every_n_steps and step % self.image_every_n_steps == 0 and writer is not None:
            from rnnlab.diagnostics.figures import eigenvalue_figure, log_figure  # matplotlib: only when drawing

            eigenvalues = {
                name: torch.linalg.eigvals(w.detach().to("cpu", torch.float64)).numpy() for name, w in matrices.items()
            }
            log_figure(writer, tags.SPECTRUM_IMAGE, eigenvalue_figure(eigenvalues, step), step)
