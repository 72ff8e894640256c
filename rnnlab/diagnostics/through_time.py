"""Gradient norms through time, ‖dL/dh_t‖ per layer: the picture of vanishing and exploding gradients."""

from __future__ import annotations

import math

import lightning as L
import torch
from torch import Tensor

from rnnlab.diagnostics.base import EveryNSteps, check_image_schedule, log_scalars, summary_writer
from rnnlab.diagnostics.observed import ObservedModule, observed
from rnnlab.diagnostics.probe import probe
from rnnlab.diagnostics.theory_line import TheoryLine
from rnnlab.errors import invalid
from rnnlab.record import tags
from rnnlab.tasks.base import scored_steps


def spread_steps(num_steps: int, count: int) -> list[int]:
    """About `count` time steps evenly spread over 0 .. num_steps - 1, the first and the last included."""
    return sorted({round(i * (num_steps - 1) / max(count - 1, 1)) for i in range(count)})


def step_norms(grad: Tensor) -> Tensor:
    """‖dL/dh_t‖ at every step t, over the whole batch and both directions, from one layer's dL/dh (B, T, D * H).

    In float64 and scaled by each step's largest entry before squaring, so a norm of 1e-200 is not lost to its
    square's underflow (1e-400).
    """
    g = grad.detach().double()
    scale = g.abs().amax(dim=(0, 2))
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    return scale * (g / safe[None, :, None]).pow(2).sum(dim=(0, 2)).sqrt()


# Beyond these float64 cannot hold a norm: below TINY it is flushed to zero (or kept without precision),
# above HUGE it is inf. A log10 taken there is a bound, never a value.
TINY, HUGE = torch.finfo(torch.float64).tiny, torch.finfo(torch.float64).max
EXACT, UPPER, LOWER = 0, -1, 1  # the true value equals / is below / is above the logged one


def bounded_log10(value: float) -> tuple[float, int]:
    """(log10 value, EXACT) where float64 holds it; at the edge the log10 of the limit and the side it lies on."""
    if not value >= TINY:  # zero, subnormal or nan
        return math.log10(TINY), UPPER
    if value > HUGE:
        return math.log10(HUGE), LOWER
    return math.log10(value), EXACT


def last_scored(scored: Tensor | None, steps: int, batch_size: int) -> Tensor:
    """Each sequence's last step that carries loss, (B,) int64 (all T - 1 when `scored` is None)."""
    if scored is None:
        return torch.full((batch_size,), steps - 1, dtype=torch.int64)
    index = torch.arange(steps).expand_as(scored)
    return torch.where(scored.cpu(), index, torch.full_like(index, -1)).amax(dim=1).clamp(min=0)


def through_time_norms(grad: Tensor, scored: Tensor | None = None, count: int = 8) -> dict[str, float]:
    """‖dL/dh_t‖ at a spread of steps, and the first/last ratio, from one layer's dL/dh (B, T, D * H).

    The norm at step t is taken over the whole batch and both directions (the gradient with respect to the layer's
    output tensor at t). "Last" is each sequence's last step *that carries loss* (`scored`, (B, T) bool, from
    `rnnlab.tasks.base.scored_steps`; None: step T - 1 for all), so an unscored tail (lookahead) or padding never
    stands for the end. Keys: `t{t}` and `log10_t{t}` (the norms), `first_over_last`, `log10_first_over_last`,
    `log10_first_over_last_bound` (EXACT 0, UPPER -1: the true ratio is below the logged one because the first
    norm is beyond float64's range; LOWER +1: above it) and `log10_rate`, the ratio's log10 over the scored
    span's length in steps (the per-step decay rate: < 0 vanishing, comparable across sequence lengths).
    """
    per_step = step_norms(grad)  # (T,)
    batch_size, steps = grad.size(0), grad.size(1)
    last = last_scored(scored, steps, batch_size).to(grad.device)
    last_norm = step_norms(grad[torch.arange(batch_size, device=grad.device), last].unsqueeze(1))[0]
    chosen = spread_steps(steps, count)
    width = len(str(steps - 1))
    norms = {f"t{t:0{width}d}": v for t, v in zip(chosen, per_step[chosen].tolist())}
    for t in chosen:
        norms[f"log10_t{t:0{width}d}"] = bounded_log10(per_step[t].item())[0]
    (top, top_side), (bottom, bottom_side) = bounded_log10(per_step[0].item()), bounded_log10(last_norm.item())
    if top_side != EXACT and bottom_side != EXACT:  # both beyond float64: nothing is known of their ratio
        log_ratio, side = math.nan, EXACT
    else:
        log_ratio, side = top - bottom, top_side or -bottom_side
    span = last.double().mean().item()
    norms["first_over_last"] = 10.0**log_ratio if log_ratio < 308 else math.inf
    norms["log10_first_over_last"] = log_ratio
    norms["log10_first_over_last_bound"] = float(side)
    norms["log10_rate"] = log_ratio / span if span > 0 else math.nan
    return norms


class GradThroughTime(EveryNSteps):
    """Log ‖dL/dh_t‖ of every layer under `grad_h/layer{k}/t{t}` (and `log10_t{t}`: TensorBoard stores float32)
    and the vanishing/exploding indicator `grad_h/layer{k}/log10_first_over_last` between the first step and the
    last step that carries loss, with its `_bound` flag and the per-step rate `log10_rate`, every `every_n_steps` optimizer steps; and every
    `image_every_n_steps` (0: never) the whole profile, log10 ‖dL/dh_t‖ at every t with a line per layer, as the
    image `grad_h/profile` (TensorBoard's IMAGES tab: the step slider shows the profile evolve), and at step 0 also
    `grad_h/init_profile` on a y-range fixed for every run (figures.grad_init_profile_figure).

    Runs at the start of a training batch, on that batch and the weights this step's gradient is computed at
    (before the optimizer step), through the layer-by-layer probe (no dropout).

    With `theory` (the run's init keys: init, init_scale, init_input_scale, init_bias_scale) it also logs the
    mean-field prediction for the initial weights beside the measurement (`grad_h/layer0/theory_log10_…`) and
    draws it dashed on the step-0 profile, or writes why the configuration has none (docs/theory.md).
    """

    def __init__(
        self, every_n_steps: int = 50, num_steps: int = 8, image_every_n_steps: int = 100, theory: dict | None = None
    ) -> None:
        super().__init__(every_n_steps)
        if not isinstance(num_steps, int) or num_steps < 2:
            raise invalid("GradThroughTime.num_steps", num_steps, "an integer >= 2 (the first and last step)")
        check_image_schedule("GradThroughTime", every_n_steps, image_every_n_steps)
        self.num_steps = num_steps
        self.image_every_n_steps = image_every_n_steps
        # the run's init keys: the mean-field line beside the measurement (rnnlab.diagnostics.theory_line)
        self.theory = TheoryLine(theory) if theory is not None else None

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if not self.due(trainer):
            return
        module = observed(pl_module)
        grads = probe(module, batch, with_grads=True).grads
        assert grads is not None  # with_grads=True
        scored = scored_steps(module.readout, batch, batch["x"].size(1))
        metrics: dict[str, float] = {}
        first_layer: dict[str, float] = {}
        for k, grad in enumerate(grads):
            norms = through_time_norms(grad, scored, self.num_steps)
            first_layer = first_layer or norms
            for name, value in norms.items():
                metrics[f"{tags.grad_h_prefix(k)}{name}"] = value
        step = trainer.global_step
        if self.theory is not None:
            metrics.update(self.theory.scalars(module, batch, first_layer, step))
        log_scalars(trainer, metrics, step)
        writer = summary_writer(trainer)
        if self.image_every_n_steps and step % self.image_every_n_steps == 0 and writer is not None:
            from rnnlab.diagnostics.figures import grad_profile_figure, log_figure  # matplotlib: only when drawing

            profiles = [step_norms(grad).tolist() for grad in grads]
            line, note = self.theory.line(step) if self.theory is not None else (None, None)
            log_figure(writer, tags.GRAD_H_PROFILE_IMAGE, grad_profile_figure(profiles, step, line, note), step)
            if step == 0:  # the init profile, its own tag on a fixed y-range (grad_init_profile_figure)
                from rnnlab.diagnostics.figures import grad_init_profile_figure

                log_figure(writer, tags.GRAD_H_INIT_PROFILE_IMAGE, grad_init_profile_figure(profiles), step)


READINGS = {0.0: "exact", -1.0: "upper", 1.0: "lower"}  # log10_first_over_last_bound -> how to read the number


def indicator(pl_module: ObservedModule, batch: dict) -> dict[str, dict[str, float | str]]:
    """Per layer, the vanishing/exploding indicator of `pl_module` on `batch` (the float64 probe, from the first step
    to the last scored one) and how to read it: "exact", or "upper"/"lower" where only a bound could be taken (the
    true ratio lies below/above the number). What metrics.json records at initialisation and at the end."""
    grads = probe(pl_module, batch, with_grads=True).grads
    assert grads is not None  # with_grads=True
    scored = scored_steps(pl_module.readout, batch, batch["x"].size(1))
    out: dict[str, dict[str, float | str]] = {}
    for k, grad in enumerate(grads):
        norms = through_time_norms(grad, scored, 2)
        out[f"layer{k}"] = {
            "log10_first_over_last": norms["log10_first_over_last"],
            "reading": READINGS.get(float(norms["log10_first_over_last_bound"]), "exact"),
        }
    return out
