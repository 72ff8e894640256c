"""The state-to-state Jacobian over a whole sequence: its singular values are the finite-time Lyapunov spectrum.

dh_{T-1}/dh_0 = J_{T-1} ⋯ J_1 with J_t = diag(φ'(a_t)) W_hh on the actual trajectory. Its largest singular value
bounds how far a gradient can grow or shrink on its way back from the last step to the first: the lab's
`grad_h/…/log10_first_over_last` measures one direction of it, this measures the extreme ones. Read from the
network's own weights and the probe's states (rnnlab.diagnostics.probe), so it is the same for every implementation.

The product is renormalised at every step, so its top singular values keep their precision over any number of
decades (the smallest, many decades below, are rounding noise and are not reported).
"""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor

from rnnlab.diagnostics.base import EveryNSteps, check_image_schedule, log_scalars, summary_writer
from rnnlab.diagnostics.observed import ObservedModule, observed
from rnnlab.diagnostics.probe import probe
from rnnlab.errors import invalid
from rnnlab.models import naming
from rnnlab.record import tags


def slopes(h: Tensor, nonlinearity: str) -> Tensor:
    """φ'(a_t) from the states h_t = φ(a_t): 1 - h² for tanh, [h > 0] for relu."""
    return 1 - h * h if nonlinearity == "tanh" else (h > 0).to(h.dtype)


def log10_singular_values(states: Tensor, weight_hh: Tensor, nonlinearity: str) -> Tensor:
    """log10 of the singular values of J_{T-1} ⋯ J_1 for each sequence, largest first, (B, H).

    `states` (B, T, H): one direction's h_t in the order the recurrence ran. The product is renormalised by its
    largest singular value at every step (its log10 kept aside), so the top values keep full float64 precision
    over any number of decades; values more than ~13 decades below the largest are rounding noise and come back
    as nan, as do exact zeros (a relu unit off at every step).
    """
    h = states.detach().to(torch.float64)
    w = weight_hh.detach().to(h.device, torch.float64)
    batch, steps, hidden = h.shape
    product = torch.eye(hidden, dtype=torch.float64, device=h.device).expand(batch, hidden, hidden)
    scale = torch.zeros(batch, dtype=torch.float64, device=h.device)
    d = slopes(h, nonlinearity)
    for t in range(1, steps):
        product = d[:, t, :, None] * (w @ product)
        norm = torch.linalg.matrix_norm(product, ord=2).clamp_min(1e-300)
        product = product / norm[:, None, None]
        scale += torch.log10(norm)
    values = torch.linalg.svdvals(product)  # the top one is 1: the scale holds its log10
    resolved = values > 1e-13
    logs = torch.log10(values.clamp_min(1e-300)) + scale[:, None]
    return torch.where(resolved, logs, torch.full_like(logs, float("nan")))


def sigma_max(states: Tensor, weight_hh: Tensor, nonlinearity: str) -> Tensor:
    """log10 σ_max(J_{T-1} ⋯ J_1) per sequence, (B,)."""
    return log10_singular_values(states, weight_hh, nonlinearity)[:, 0]


def direction_states(pl_module: ObservedModule, batch: dict, num_sequences: int) -> dict[str, tuple[Tensor, Tensor]]:
    """`layer{k}[_reverse]` -> (its states (B, T, H) in the order its recurrence ran, its W_hh), for the first
    `num_sequences` sequences of `batch` (full-length ones: a padded sequence's reverse starts at its own end)."""
    rnn = pl_module.rnn
    small = {k: v[:num_sequences] if torch.is_tensor(v) and v.dim() else v for k, v in batch.items()}
    result = probe(pl_module, small, with_grads=False)
    state = rnn.torch_state_dict()
    hidden = rnn.hidden_size
    out = {}
    for k, output in enumerate(result.outputs):
        for d, suffix in enumerate(naming.direction_suffixes(rnn.bidirectional)):
            h = output[..., d * hidden : (d + 1) * hidden]
            if suffix:
                h = h.flip(1)
            out[f"layer{k}{suffix}"] = (h, state[naming.name("weight_hh", k, suffix)])
    return out


class JacobianSpectrum(EveryNSteps):
    """Log the finite-time Lyapunov spectrum of every layer and direction: `jacobian/layer{k}/log10_sigma_max`
    (log10 σ_max of the product over the sequence, the mean over `num_sequences` sequences) and
    `jacobian/layer{k}/lyapunov{i}` (the top `top_k` exponents per step: log10 σ_i / (T - 1)), every
    `every_n_steps` steps; every `image_every_n_steps` (0: never) the whole spectrum as the image
    `jacobian/spectrum`. Read at the start of a training batch, on that batch's first sequences.

    Cost: an H x H product and 2-norm per time step and sequence (H = 128, T = 50, 2 sequences: about 0.1 s).
    """

    def __init__(
        self, every_n_steps: int = 50, top_k: int = 4, num_sequences: int = 2, image_every_n_steps: int = 100
    ) -> None:
        super().__init__(every_n_steps)
        for key, value in (("top_k", top_k), ("num_sequences", num_sequences)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise invalid(f"JacobianSpectrum.{key}", value, "an integer >= 1")
        check_image_schedule("JacobianSpectrum", every_n_steps, image_every_n_steps)
        self.top_k, self.num_sequences, self.image_every_n_steps = top_k, num_sequences, image_every_n_steps

    def spectra(self, pl_module: ObservedModule, batch: dict) -> tuple[dict[str, float], dict[str, Tensor]]:
        """The scalars to log and, per layer and direction, the mean per-step exponents (H,)."""
        nonlinearity = pl_module.rnn.nonlinearity
        metrics, exponents = {}, {}
        for name, (h, w) in direction_states(pl_module, batch, self.num_sequences).items():
            steps = max(h.size(1) - 1, 1)
            logs = log10_singular_values(h, w, nonlinearity)
            per_step = logs.mean(dim=0) / steps  # nan where any sequence's value is unresolved
            exponents[name] = per_step
            metrics[tags.jacobian(name, "log10_sigma_max")] = logs[:, 0].mean().item()
            for i, value in enumerate(per_step[: self.top_k].tolist()):
                if value == value:  # not nan
                    metrics[tags.jacobian(name, f"lyapunov{i}")] = value
        return metrics, exponents

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if not self.due(trainer):
            return
        metrics, exponents = self.spectra(observed(pl_module), batch)
        step = trainer.global_step
        log_scalars(trainer, metrics, step)
        writer = summary_writer(trainer)
        if self.image_every_n_steps and step % self.image_every_n_steps == 0 and writer is not None:
            from rnnlab.diagnostics.figures import log_figure, lyapunov_figure  # matplotlib: only when drawing

            spectra = {name: e.cpu().numpy() for name, e in exponents.items()}
            log_figure(writer, tags.JACOBIAN_IMAGE, lyapunov_figure(spectra, step), step)
