"""Gradient norms through time, ‖dL/dh_t‖ per layer: the picture of vanishing and exploding gradients."""

from __future__ import annotations

import math

import lightning as L
import torch
from torch import Tensor

from rnnlab.diagnostics.base import EveryNSteps, check_image_schedule, log_scalars, summary_writer
from rnnlab.diagnostics.observed import ObservedModule
from rnnlab.diagnostics.probe import probe
from rnnlab.errors import invalid
from rnnlab.record import tags


def spread_steps(num_steps: int, count: int) -> list[int]:
    """About `count` time steps evenly spread over 0 .. num_steps - 1, the first and the last included."""
    return sorted({round(i * (num_steps - 1) / max(count - 1, 1)) for i in range(count)})


def step_norms(grad: Tensor) -> Tensor:
    """‖dL/dh_t‖ at every step t, over the whole batch and both directions, from one layer's dL/dh (B, T, D * H)."""
    return grad.detach().double().pow(2).sum(dim=(0, 2)).sqrt()


def through_time_norms(grad: Tensor, lengths: Tensor | None, count: int = 8) -> dict[str, float]:
    """‖dL/dh_t‖ at a spread of steps, and the first/last ratio, from one layer's dL/dh (B, T, D * H).

    The norm at step t is taken over the whole batch and both directions (the gradient with respect to the
    layer's output tensor at t). "Last" is each sequence's own last step (its length - 1), so padding never
    counts as the end of a sequence. The ratio is floored at the dtype's smallest normal number: a log10 there
    means the gradient underflowed to zero.
    """
    per_step = step_norms(grad)  # (T,)
    steps = grad.size(1)
    if lengths is None:
        last = per_step[-1]
    else:
        rows = torch.arange(grad.size(0), device=grad.device)
        last = grad.detach().double()[rows, lengths.to(grad.device) - 1].norm()
    chosen = spread_steps(steps, count)
    width = len(str(steps - 1))
    norms = {f"t{t:0{width}d}": v for t, v in zip(chosen, per_step[chosen].tolist())}
    tiny = torch.finfo(grad.dtype).tiny
    first, last = max(per_step[0].item(), tiny), max(last.item(), tiny)
    norms["first_over_last"] = first / last
    norms["log10_first_over_last"] = math.log10(first) - math.log10(last)
    return norms


class GradThroughTime(EveryNSteps):
    """Log ‖dL/dh_t‖ of every layer under `grad_h/layer{k}/t{t}` and the vanishing/exploding indicator
    `grad_h/layer{k}/first_over_last` (and its log10), every `every_n_steps` optimizer steps; and every
    `image_every_n_steps` (0: never) the whole profile, log10 ‖dL/dh_t‖ at every t with a line per layer, as the
    image `grad_h/profile` (TensorBoard's IMAGES tab: the step slider shows the profile evolve), and at step 0 also
    `grad_h/init_profile` on a y-range fixed for every run (figures.grad_init_profile_figure).

    Runs at the start of a training batch, on that batch and the weights this step's gradient is computed at
    (before the optimizer step), through the layer-by-layer probe (no dropout).
    """

    def __init__(self, every_n_steps: int = 50, num_steps: int = 8, image_every_n_steps: int = 100) -> None:
        super().__init__(every_n_steps)
        if not isinstance(num_steps, int) or num_steps < 2:
            raise invalid("GradThroughTime.num_steps", num_steps, "an integer >= 2 (the first and last step)")
        check_image_schedule("GradThroughTime", every_n_steps, image_every_n_steps)
        self.num_steps = num_steps
        self.image_every_n_steps = image_every_n_steps

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: ObservedModule, batch, batch_idx: int) -> None:
        if not self.due(trainer):
            return
        result = probe(pl_module, batch, with_grads=True)
        metrics = {}
        for k, grad in enumerate(result.grads):
            for name, value in through_time_norms(grad, result.lengths, self.num_steps).items():
                metrics[f"{tags.grad_h_prefix(k)}{name}"] = value
        step = trainer.global_step
        log_scalars(trainer, metrics, step)
        writer = summary_writer(trainer)
        if self.image_every_n_steps and step % self.image_every_n_steps == 0 and writer is not None:
            from rnnlab.diagnostics.figures import grad_profile_figure, log_figure  # matplotlib: only when drawing

            profiles = [step_norms(grad).tolist() for grad in result.grads]
            log_figure(writer, tags.GRAD_H_PROFILE_IMAGE, grad_profile_figure(profiles, step), step)
            if step == 0:  # the init profile, its own tag on a fixed y-range (grad_init_profile_figure)
                from rnnlab.diagnostics.figures import grad_init_profile_figure

                log_figure(writer, tags.GRAD_H_INIT_PROFILE_IMAGE, grad_init_profile_figure(profiles), step)
