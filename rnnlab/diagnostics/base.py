"""What every diagnostic shares: an every-N-steps schedule and where its numbers go."""

from __future__ import annotations

from collections.abc import Mapping
from weakref import WeakKeyDictionary

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor

from rnnlab.errors import invalid


class EveryNSteps(L.Callback):
    """A callback that acts at optimizer steps 0, N, 2N, ... (once per step, even with gradient accumulation).

    Diagnostics cost time; running them every N steps keeps a run's overhead small (README, Speed).
    """

    def __init__(self, every_n_steps: int) -> None:
        if not isinstance(every_n_steps, int) or isinstance(every_n_steps, bool) or every_n_steps < 1:
            raise invalid(f"{type(self).__name__}.every_n_steps", every_n_steps, "an integer >= 1")
        self.every_n_steps = every_n_steps
        self._last_step: int | None = None

    def due(self, trainer: L.Trainer) -> bool:
        """True at the steps this diagnostic acts at, unless the weights or gradients are non-finite.

        Native routines (an eigenvalue solver, a histogram) may crash the process on inf or nan; a run in that
        state has diverged, which the LightningModule records.
        """
        step = trainer.global_step
        if step % self.every_n_steps or step == self._last_step:
            return False
        self._last_step = step
        return all_finite(trainer.lightning_module)


def all_finite(module: torch.nn.Module) -> bool:
    """Whether every parameter of `module`, and every gradient it holds, is finite."""
    tensors = [t for p in module.parameters() for t in (p, p.grad) if t is not None]
    return bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all()) if tensors else True


def check_image_schedule(owner: str, every_n_steps: int, image_every_n_steps) -> None:
    """An image step must be a step the callback runs at: a multiple of every_n_steps, or 0 for no images."""
    if (
        not isinstance(image_every_n_steps, int)
        or isinstance(image_every_n_steps, bool)
        or image_every_n_steps < 0
        or image_every_n_steps % every_n_steps
    ):
        raise invalid(
            f"{owner}.image_every_n_steps",
            image_every_n_steps,
            f"0 (no images) or a multiple of every_n_steps={every_n_steps}",
        )


def log_scalars(trainer: L.Trainer, metrics: Mapping[str, Tensor | float], step: int) -> None:
    """Send scalars to every logger of the run at `step` (the optimizer step, as Lightning logs the loss)."""
    if not metrics or not trainer.loggers:
        return
    tensors = [v for v in metrics.values() if isinstance(v, Tensor)]
    # One device-to-host copy for all of them, not one .item() per scalar.
    device = tensors[0].device if tensors else None
    values = iter(torch.stack([t.detach().to(device, torch.float64) for t in tensors]).tolist() if tensors else [])
    floats = {k: next(values) if isinstance(v, Tensor) else float(v) for k, v in metrics.items()}
    seen = _FIRST_LAST.setdefault(trainer, {})
    for tag, value in floats.items():
        seen[tag] = (seen.get(tag, (value, value))[0], value)
    for logger in trainer.loggers:
        logger.log_metrics(floats, step=step)


# Each run's first and last value of every diagnostic scalar: the HParams dashboard shows the indicators at
# initialisation and at the end beside the final loss (rnnlab.training.hparams) without reading the event file back.
_FIRST_LAST: WeakKeyDictionary = WeakKeyDictionary()


def first_and_last(trainer: L.Trainer) -> dict[str, tuple[float, float]]:
    """{tag: (first logged value, last logged value)} of the diagnostics' scalars in this trainer's run."""
    return dict(_FIRST_LAST.get(trainer, {}))


def summary_writer(trainer: L.Trainer):
    """The run's TensorBoard SummaryWriter (for histograms and layouts), or None without a TensorBoardLogger."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None
