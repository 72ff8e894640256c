"""Parameter gradient norms, per parameter and in total, before gradient clipping."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.utilities import grad_norm

from rnnlab.diagnostics.base import EveryNSteps, log_scalars
from rnnlab.record import tags


class GradNorms(EveryNSteps):
    """Log `grad_norm/<parameter name>` and `grad_norm/total` every `every_n_steps` optimizer steps.

    `on_before_optimizer_step` runs after backward and before the Trainer clips the gradients (Lightning 2.6,
    `Precision._after_closure`), so these are the raw norms: the total is what `gradient_clip_val` is compared with.
    """

    def __init__(self, every_n_steps: int = 1, norm_type: float = 2.0) -> None:
        super().__init__(every_n_steps)
        self.norm_type = float(norm_type)

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer) -> None:
        if not self.due(trainer):
            return
        prefix = f"grad_{self.norm_type}_norm"  # Lightning's key: grad_2.0_norm/<name>, grad_2.0_norm_total
        norms = grad_norm(pl_module, self.norm_type, group_separator="/")
        metrics = {
            tags.GRAD_NORM_TOTAL if key == f"{prefix}_total" else tags.grad_norm(key[len(prefix) + 1 :]): value
            for key, value in norms.items()
        }
        log_scalars(trainer, metrics, trainer.global_step)
